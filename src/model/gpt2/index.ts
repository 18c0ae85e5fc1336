// GPT-2 as an Architecture (docs/design.md § Models): its spec (config.json, tensor table) and
// its model, registered under model_type `gpt2` in src/model/registry.ts.
import type { Architecture } from '../causal-lm';
import type { GPT2Config } from './config';
import { GPT } from './model';
import { gpt2Spec } from './spec';
import { gpt2Weights } from './weights';

export const gpt2: Architecture<GPT2Config> = {
  ...gpt2Spec,
  create: (config, tensors) => new GPT(config, gpt2Weights(config, tensors)),
};

export { GPT } from './model';
export type { GPT2Config } from './config';
export { GPT2_TENSORS } from './tensors';
export { gpt2Weights, type GPTWeights, type BlockWeights } from './weights';

// GPT-2 as an Architecture (docs/design.md § Models): its config.json, its tensor table and
// its model, registered under model_type `gpt2` in src/model/registry.ts.
import type { Architecture } from '../causal-lm';
import { parseGPT2Config, toHFConfig, type GPT2Config } from './config';
import { GPT } from './model';
import { GPT2_TENSORS, gpt2CheckpointName, gpt2IsBuffer } from './tensors';
import { gpt2Weights } from './weights';

export const gpt2: Architecture<GPT2Config> = {
  modelType: 'gpt2',
  label: 'GPT-2',
  tensors: GPT2_TENSORS,
  parseConfig: parseGPT2Config,
  toHFConfig,
  checkpointName: gpt2CheckpointName,
  isBuffer: gpt2IsBuffer,
  transposedHint: 'GPT-2 Conv1D weights are stored [in, out], not nn.Linear [out, in]',
  create: (config, tensors) => new GPT(config, gpt2Weights(config, tensors)),
};

export { GPT } from './model';
export type { GPT2Config } from './config';
export { GPT2_TENSORS } from './tensors';
export { gpt2Weights, type GPTWeights, type BlockWeights } from './weights';

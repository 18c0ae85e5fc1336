// GPT-NeoX as an Architecture (docs/design.md § Models): its spec (config.json, tensor table)
// and its model, registered under model_type `gpt_neox` in src/model/registry.ts.
import type { Architecture } from '../causal-lm';
import type { GPTNeoXConfig } from './config';
import { GPTNeoX } from './model';
import { gptNeoXSpec } from './spec';

export const gptNeoX: Architecture<GPTNeoXConfig> = {
  ...gptNeoXSpec,
  create: (config, tensors) => new GPTNeoX(config, tensors),
};

export type { GPTNeoXConfig } from './config';

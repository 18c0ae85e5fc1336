// GPT-NeoX as an Architecture (docs/design.md § Models): its config.json, its tensor table and
// its model, registered under model_type `gpt_neox` in src/model/registry.ts.
import type { Architecture } from '../causal-lm';
import { gptNeoXHFConfig, parseGPTNeoXConfig, type GPTNeoXConfig } from './config';
import { GPTNeoX } from './model';
import { GPT_NEOX_TENSORS, gptNeoXIsBuffer } from './tensors';

export const gptNeoX: Architecture<GPTNeoXConfig> = {
  modelType: 'gpt_neox',
  label: 'GPT-NeoX',
  tensors: GPT_NEOX_TENSORS,
  parseConfig: parseGPTNeoXConfig,
  toHFConfig: gptNeoXHFConfig,
  checkpointName: (name) => name,
  isBuffer: gptNeoXIsBuffer,
  transposedHint: 'GPT-NeoX linear weights are nn.Linear [out, in]',
  create: (config, tensors) => new GPTNeoX(config, tensors),
};

export type { GPTNeoXConfig } from './config';

// GPT-NeoX without its model (docs/design.md § Models): its config.json and its tensor table.
// No tfjs here: listed in src/model/architectures.ts, which the page reads.
import type { ArchitectureSpec } from '../causal-lm';
import { gptNeoXHFConfig, parseGPTNeoXConfig, type GPTNeoXConfig } from './config';
import { GPT_NEOX_TENSORS, gptNeoXIsBuffer } from './tensors';

export const gptNeoXSpec: ArchitectureSpec<GPTNeoXConfig> = {
  modelType: 'gpt_neox',
  label: 'GPT-NeoX',
  tensors: GPT_NEOX_TENSORS,
  parseConfig: parseGPTNeoXConfig,
  toHFConfig: gptNeoXHFConfig,
  checkpointName: (name) => name,
  isBuffer: gptNeoXIsBuffer,
  transposedHint: 'GPT-NeoX linear weights are nn.Linear [out, in]',
};

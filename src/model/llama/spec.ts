// Llama without its model (docs/design.md § Models): its config.json and its tensor table. No
// tfjs here: listed in src/model/architectures.ts, which the page reads.
import type { ArchitectureSpec } from '../causal-lm';
import { llamaHFConfig, parseLlamaConfig, type LlamaConfig } from './config';
import { LLAMA_TENSORS, llamaIsBuffer } from './tensors';

export const llamaSpec: ArchitectureSpec<LlamaConfig> = {
  modelType: 'llama',
  label: 'Llama',
  tensors: LLAMA_TENSORS,
  parseConfig: parseLlamaConfig,
  toHFConfig: llamaHFConfig,
  checkpointName: (name) => name,
  isBuffer: llamaIsBuffer,
  transposedHint: 'Llama linear weights are nn.Linear [out, in]',
};

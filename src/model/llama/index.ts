// Llama as an Architecture (docs/design.md § Models): its config.json, its tensor table and its
// model, registered under model_type `llama` in src/model/registry.ts.
import type { Architecture } from '../causal-lm';
import { llamaHFConfig, parseLlamaConfig, type LlamaConfig } from './config';
import { Llama } from './model';
import { LLAMA_TENSORS, llamaIsBuffer } from './tensors';

export const llama: Architecture<LlamaConfig> = {
  modelType: 'llama',
  label: 'Llama',
  tensors: LLAMA_TENSORS,
  parseConfig: parseLlamaConfig,
  toHFConfig: llamaHFConfig,
  checkpointName: (name) => name,
  isBuffer: llamaIsBuffer,
  transposedHint: 'Llama linear weights are nn.Linear [out, in]',
  create: (config, tensors) => new Llama(config, tensors),
};

export type { LlamaConfig } from './config';

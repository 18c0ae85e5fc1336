// Llama as an Architecture (docs/design.md § Models): its spec (config.json, tensor table) and
// its model, registered under model_type `llama` in src/model/registry.ts.
import type { Architecture } from '../causal-lm';
import type { LlamaConfig } from './config';
import { Llama } from './model';
import { llamaSpec } from './spec';

export const llama: Architecture<LlamaConfig> = {
  ...llamaSpec,
  create: (config, tensors) => new Llama(config, tensors),
};

export type { LlamaConfig } from './config';

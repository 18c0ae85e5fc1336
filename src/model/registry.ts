// The architectures this app runs with their models, keyed by Hugging Face `model_type`
// (docs/design.md § Models). The list is src/model/architectures.ts (tfjs-free, read by the
// page too); this adds each one's model, and its type demands one entry per listed model_type.
// Adding an architecture is a new folder, its line in that list, and its line here.
import type { Architecture } from './causal-lm';
import { architectureSpec, type ModelType } from './architectures';
import { gpt2 } from './gpt2';
import { gptNeoX } from './gpt_neox';
import { llama } from './llama';

const ARCHITECTURES: { readonly [K in ModelType]: Architecture } = {
  gpt2,
  llama,
  gpt_neox: gptNeoX,
};

export { MODEL_TYPES, parseModelConfig } from './architectures';

/** The architecture of a model_type; an unknown or missing one is a one-line ModelConfigError naming the known ones. */
export function architecture(modelType: unknown, file = 'config.json'): Architecture {
  return ARCHITECTURES[architectureSpec(modelType, file).modelType as ModelType];
}

// Adding a second architecture must be a new folder plus one registry line.
//
// The architectures this app runs, keyed by Hugging Face `model_type` (docs/design.md § Models):
// loading reads config.json's model_type and takes the implementation from here.
import type { Architecture, ModelConfig } from './causal-lm';
import { ModelConfigError } from './errors';
import { gpt2 } from './gpt2';
import { gptNeoX } from './gpt_neox';
import { llama } from './llama';

const ARCHITECTURES: Record<string, Architecture> = {
  gpt2,
  llama,
  gpt_neox: gptNeoX,
};

/** The model_type values the registry knows, in registry order. */
export const MODEL_TYPES: readonly string[] = Object.keys(ARCHITECTURES);

/** The architecture of a model_type; an unknown or missing one is a one-line ModelConfigError naming the known ones. */
export function architecture(modelType: unknown, file = 'config.json'): Architecture {
  const supported = `supported: ${MODEL_TYPES.join(', ')}`;
  if (modelType === undefined) throw new ModelConfigError('bad-config', `${file}: model_type is missing (${supported})`, 'model_type');
  const arch = typeof modelType === 'string' && Object.hasOwn(ARCHITECTURES, modelType) ? ARCHITECTURES[modelType] : undefined;
  if (!arch) {
    throw new ModelConfigError('unsupported-model', `${file}: model_type ${JSON.stringify(modelType)} is not supported (${supported})`, 'model_type');
  }
  return arch;
}

/** A config from a parsed config.json: its model_type picks the architecture that reads the rest. */
export function parseModelConfig(json: unknown, file = 'config.json'): ModelConfig {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new ModelConfigError('bad-config', `${file} must hold a JSON object`);
  }
  const obj = json as Record<string, unknown>;
  return architecture(obj.model_type, file).parseConfig(obj, file);
}

// The one list of the architectures this app runs, keyed by Hugging Face `model_type`
// (docs/design.md § Models): each one's config.json reader and tensor table, without its model.
// No tfjs here, so the page reads it (a model's summary before any weights load); the registry
// (src/model/registry.ts) adds each architecture's model and must cover exactly this list.
import type { ArchitectureSpec, ModelConfig } from './causal-lm';
import { ModelConfigError } from './errors';
import { gpt2Spec } from './gpt2/spec';
import { gptNeoXSpec } from './gpt_neox/spec';
import { llamaSpec } from './llama/spec';

export const ARCHITECTURE_SPECS = {
  gpt2: gpt2Spec,
  llama: llamaSpec,
  gpt_neox: gptNeoXSpec,
};

/** A model_type the app knows. */
export type ModelType = keyof typeof ARCHITECTURE_SPECS;

/** The model_type values the app knows, in list order. */
export const MODEL_TYPES = Object.keys(ARCHITECTURE_SPECS) as readonly ModelType[];

/** Whether a value is a known model_type. */
export function isModelType(t: unknown): t is ModelType {
  return typeof t === 'string' && Object.hasOwn(ARCHITECTURE_SPECS, t);
}

/** The spec of a model_type; an unknown or missing one is a one-line ModelConfigError naming the known ones. */
export function architectureSpec(modelType: unknown, file = 'config.json'): ArchitectureSpec {
  const supported = `supported: ${MODEL_TYPES.join(', ')}`;
  if (modelType === undefined) throw new ModelConfigError('bad-config', `${file}: model_type is missing (${supported})`, 'model_type');
  if (!isModelType(modelType)) {
    throw new ModelConfigError('unsupported-model', `${file}: model_type ${JSON.stringify(modelType)} is not supported (${supported})`, 'model_type');
  }
  return ARCHITECTURE_SPECS[modelType] as ArchitectureSpec;
}

/** A config from a parsed config.json: its model_type picks the architecture that reads the rest. */
export function parseModelConfig(json: unknown, file = 'config.json'): ModelConfig {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new ModelConfigError('bad-config', `${file} must hold a JSON object`);
  }
  const obj = json as Record<string, unknown>;
  return architectureSpec(obj.model_type, file).parseConfig(obj, file);
}

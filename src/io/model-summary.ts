// A model's summary from its config.json, before any weights are read (docs/design.md § Models):
// the architecture (by model_type), layers, width, heads, context, vocabulary, and the parameter
// count from the architecture's own tensor table — the same count the loader and the CLI make.
// No tfjs here (src/model/architectures.ts lists the architectures without their models), so the
// page summarises a model it has not downloaded yet.
import { architectureSpec, parseModelConfig } from '../model/architectures';
import type { ArchitectureSpec, ModelConfig } from '../model/causal-lm';
import { ModelConfigError } from '../model/errors';
import { tableEntries, tableParameters } from '../model/tensor-table';
import { ModelLoadError } from './errors';

export interface ModelSummary {
  /** Hugging Face model_type. */
  modelType: string;
  /** The architecture's name, e.g. `Llama`. */
  architecture: string;
  nLayer: number;
  nEmbd: number;
  nHead: number;
  nPositions: number;
  vocabSize: number;
  /** Parameters by the tensor table: every required tensor and the optional ones the checkpoint has. */
  parameters: number;
  /**
   * The LM head is a matrix of its own, not the tied embedding: always so for an architecture
   * whose head is required (GPT-NeoX, Llama with tie_word_embeddings false), and so for an
   * optional head (GPT-2, tied Llama) when the checkpoint's tensor names include it.
   */
  untiedHead: boolean;
  /** The bytes the weights take as float32, as the worker holds them (4 per parameter). */
  float32Bytes: number;
  /**
   * About how many bytes the checkpoint is to download: the parameters at config.json's
   * torch_dtype (float32 where it names none, as transformers saves by default).
   */
  checkpointBytes: number;
}

/** The config from the parsed `config.json`: its model_type picks the architecture (src/model/architectures.ts). */
export function parseConfig(json: unknown, file = 'config.json'): ModelConfig {
  try {
    return parseModelConfig(json, file);
  } catch (e) {
    if (e instanceof ModelConfigError) throw new ModelLoadError(e.code, e.message, { file, field: e.field });
    throw e;
  }
}

/** Names as the architecture's table spells them (GPT-2: without `transformer.`). */
function tableNames(spec: ArchitectureSpec, names: Iterable<string>): Set<string> {
  return new Set([...names].map((n) => spec.checkpointName(n)));
}

/**
 * A checkpoint's parameter count from its config and its tensor names: every tensor the table
 * requires, and each optional one the checkpoint has (GPT-2: an LM head of its own).
 */
export function checkpointParameters(config: ModelConfig, tensorNames: Iterable<string>): number {
  const spec = architectureSpec(config.modelType);
  return tableParameters(spec.tensors, config, tableNames(spec, tensorNames));
}

/**
 * Whether a checkpoint's LM head is its own: no row that may be tied (`tiedTo`) is left out.
 * One rule for every architecture, read from its table.
 */
export function hasUntiedHead(config: ModelConfig, tensorNames: Iterable<string>): boolean {
  const spec = architectureSpec(config.modelType);
  const present = tableNames(spec, tensorNames);
  const tied = tableEntries(spec.tensors, config).some((e) => e.tiedTo !== undefined && e.optional && !present.has(e.name));
  return !tied;
}

/** Bytes per value of the dtypes config.json's torch_dtype names. */
const DTYPE_BYTES: Record<string, number> = { float32: 4, float16: 2, bfloat16: 2, float64: 8 };

/**
 * The summary of a model from its parsed config.json and, when known, its checkpoint's tensor
 * names (a safetensors header or a shard index's weight_map). Throws a one-line ModelLoadError
 * naming the file and the field, as the loader would.
 */
export function summarizeModelConfig(json: unknown, file = 'config.json', tensorNames: Iterable<string> = []): ModelSummary {
  const config = parseConfig(json, file);
  const spec = architectureSpec(config.modelType, file);
  const names = [...tensorNames];
  const parameters = checkpointParameters(config, names);
  const dtype = (json as Record<string, unknown>).torch_dtype;
  const bytesPer = typeof dtype === 'string' && Object.hasOwn(DTYPE_BYTES, dtype) ? DTYPE_BYTES[dtype] : 4;
  return {
    modelType: config.modelType,
    architecture: spec.label,
    nLayer: config.nLayer,
    nEmbd: config.nEmbd,
    nHead: config.nHead,
    nPositions: config.nPositions,
    vocabSize: config.vocabSize,
    parameters,
    untiedHead: hasUntiedHead(config, names),
    float32Bytes: parameters * 4,
    checkpointBytes: parameters * bytesPer,
  };
}

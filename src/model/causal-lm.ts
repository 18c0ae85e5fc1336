// The interface every architecture implements (docs/design.md § Models): what composition,
// training, decoding, loading, the worker and the CLI need of a causal language model, and
// nothing of any one architecture. Layers are numbered as CALM numbers them: -1 is the
// embedding output (the input of block 0), i the stream after block i, and N (the layer
// count) the last hidden state after the final norm. Legend: B batch, T new positions,
// S = past + T positions, D width, V vocabulary.
import type { tf } from './tf';
import type { TensorTable } from './tensor-table';

/** The sizes every architecture has, as composition, training, decoding and the UI read them. */
export interface ModelConfig {
  /** Hugging Face `model_type` (config.json): the registry key of the architecture. */
  modelType: string;
  vocabSize: number; // V: rows of the embedding and of the LM head
  nPositions: number; // the longest context
  nEmbd: number; // D: residual stream width
  nLayer: number; // N: decoder blocks
  nHead: number; // attention heads per block
}

/** Keys and values of every block for the positions seen so far (a decoding cache). */
export interface KVCache {
  k: tf.Tensor4D[]; // per block [B, H, S, hd]
  v: tf.Tensor4D[]; // per block [B, H, S, hd]
  length: number; // S
}

/**
 * Called with the residual stream after block `layer` (-1: the embedding output) for the new
 * positions `[B, T, D]`; returns the stream the next block reads — how CALM adds its bridges'
 * outputs at an anchor layer. `pastLength` is the number of positions before these (non-zero
 * with a KV cache).
 */
export type BlockHook = (layer: number, h: tf.Tensor3D, pastLength: number) => tf.Tensor3D;

export interface ForwardOptions {
  /** Residual injection: may replace the stream after any block. */
  hook?: BlockHook;
  /** Keep the residual stream after these blocks (-1 = embedding output) in `hidden`. */
  taps?: number[];
  /** Blocks to run: [from, to). Default all. With `from > 0`, pass `input` = stream after block from-1. */
  from?: number;
  to?: number;
  /** The residual stream entering block `from` `[B, T, D]`, instead of embedding `ids`. */
  input?: tf.Tensor3D;
  /** Skip the final norm and LM head (when only hidden states are wanted). */
  noHead?: boolean;
  /** 'onehot' embeds by a one-hot matmul: differentiable in the embedding on every backend (training). */
  embedding?: 'gather' | 'onehot';
}

export interface ForwardResult {
  logits?: tf.Tensor3D; // [B, T, V]
  hidden: Map<number, tf.Tensor3D>; // tapped layer -> [B, T, D]
  last: tf.Tensor3D; // the residual stream after the last block run [B, T, D]
}

export interface CausalLM {
  readonly config: ModelConfig;
  /**
   * The forward pass over ids [B, T] (or over `input` from block `from`). With a cache, the
   * ids are the new positions after `cache.length` and the cache is replaced by a new one
   * (the old tensors are disposed); a cache needs the whole pass.
   */
  forward(ids: tf.Tensor2D | null, opts?: ForwardOptions, cache?: KVCache): ForwardResult;
  /** The final norm alone: the stream after the last block → layer N, [B, T, D] → [B, T, D]. */
  finalNorm(x: tf.Tensor3D): tf.Tensor3D;
  /** An empty KV cache for a batch of B sequences. */
  newCache(B: number): KVCache;
  /** Every parameter under its checkpoint name, in the tensor table's order (a tied one once). */
  tensors(): Map<string, tf.Tensor>;
  /** Frees every parameter. */
  dispose(): void;
}

/**
 * What an architecture is without its model: how to read its config.json and its tensor table.
 * No tfjs: the page reads it (docs/design.md § Models, the summary of a model before loading).
 * Listed by `model_type` in src/model/architectures.ts.
 */
export interface ArchitectureSpec<C extends ModelConfig = ModelConfig> {
  /** Hugging Face `model_type`. */
  readonly modelType: string;
  /** Its name in messages, e.g. `GPT-2`. */
  readonly label: string;
  readonly tensors: TensorTable<C>;
  /** The config from config.json's fields; throws ModelConfigError with a one-line message. */
  parseConfig(json: Record<string, unknown>, file: string): C;
  /** The config.json fields of a config. */
  toHFConfig(config: C): Record<string, unknown>;
  /** A checkpoint's tensor name as the table spells it (prefixes some files add removed). */
  checkpointName(name: string): string;
  /** Whether a (table-spelled) name is a buffer a checkpoint may carry that is no parameter. */
  isBuffer(name: string): boolean;
  /** Appended to the message about a 2-D tensor stored transposed. */
  transposedHint?: string;
}

/**
 * An architecture: its spec and how to build the model from its tensors. Registered by
 * `model_type` in src/model/registry.ts, which derives from the list of specs.
 */
export interface Architecture<C extends ModelConfig = ModelConfig> extends ArchitectureSpec<C> {
  /** The model over these tensors (by checkpoint name; it owns them from now on). */
  create(config: C, tensors: Map<string, tf.Tensor>): CausalLM;
}

/** The number of parameters of a model. */
export function countParameters(model: CausalLM): number {
  let n = 0;
  for (const t of model.tensors().values()) n += t.size;
  return n;
}

export function disposeCache(cache: KVCache): void {
  cache.k.forEach((t) => t.dispose());
  cache.v.forEach((t) => t.dispose());
  cache.k = [];
  cache.v = [];
}

/** The tapped hidden states of a result; its logits and last stream are disposed unless tapped too. */
export function takeHidden(r: ForwardResult): Map<number, tf.Tensor3D> {
  r.logits?.dispose();
  if (![...r.hidden.values()].includes(r.last)) r.last.dispose();
  return r.hidden;
}

export function disposeResult(r: ForwardResult): void {
  r.logits?.dispose();
  r.last.dispose();
  r.hidden.forEach((t) => t.dispose());
}

// GPT-2 in TensorFlow.js: the clean reference forward pass, with the two things CALM needs —
// the residual stream after every block (taps), and an addition to it after chosen blocks
// (hooks). Legend for shape comments: B batch, T new positions, S = past + T positions,
// D width, H heads, hd = D / H, V vocabulary.
import { tf } from './tf';
import type { GPTConfig } from './config';
import type { BlockWeights, GPTWeights } from './weights';

/** Keys and values of every block for the positions seen so far. */
export interface KVCache {
  k: tf.Tensor4D[]; // per block [B, H, S, hd]
  v: tf.Tensor4D[]; // per block [B, H, S, hd]
  length: number; // S
}

/**
 * Called with the residual stream after block `layer` (-1: the embedding output, the input of
 * block 0) for the new positions `[B, T, D]`; returns the stream the next block reads.
 * `pastLength` is the number of positions before these (non-zero with a KV cache).
 */
export type BlockHook = (layer: number, h: tf.Tensor3D, pastLength: number) => tf.Tensor3D;

export interface ForwardOptions {
  hook?: BlockHook;
  /** Keep the residual stream after these blocks (-1 = embedding output) in `hidden`. */
  taps?: number[];
  /** Blocks to run: [from, to). Default all. With `from > 0`, pass `input` = stream after block from-1. */
  from?: number;
  to?: number;
  /** The residual stream entering block `from` `[B, T, D]`, instead of embedding `ids`. */
  input?: tf.Tensor3D;
  /** Skip the final LayerNorm and LM head (when only hidden states are wanted). */
  noHead?: boolean;
  /** 'onehot' embeds by a one-hot matmul: differentiable in wte on every backend (training). */
  embedding?: 'gather' | 'onehot';
}

export interface ForwardResult {
  logits?: tf.Tensor3D; // [B, T, V]
  hidden: Map<number, tf.Tensor3D>; // tapped layer -> [B, T, D]
  last: tf.Tensor3D; // the residual stream after the last block run [B, T, D]
}

const GELU_C = Math.sqrt(2 / Math.PI);

/** Swaps the last two axes: [..., m, n] → [..., n, m]. */
function swapLast(t: tf.Tensor): tf.Tensor {
  const perm = t.shape.map((_, i) => i);
  [perm[t.rank - 2], perm[t.rank - 1]] = [perm[t.rank - 1], perm[t.rank - 2]];
  return tf.transpose(t, perm);
}

/**
 * a·b ([..., m, k] × [..., k, n], same batch axes) with a gradient that transposes explicitly
 * and multiplies plainly: tfjs-wasm runs transposed matMuls (what the built-in gradient uses)
 * about 20× slower than plain ones, which made the backward pass 7× the forward.
 */
export const matmul: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor = tf.customGrad(((
  a: tf.Tensor,
  b: tf.Tensor,
  save: tf.GradSaveFunc,
) => {
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.matMul(dy, swapLast(saved[1])), tf.matMul(swapLast(saved[0]), dy)],
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;

/**
 * x·W for a weight W: like `matmul`, but the gradient for W is only computed when W is a
 * trainable variable. A frozen model's weights are plain tensors, so bridge training does not
 * pay for weight gradients of the anchor blocks it backpropagates through.
 */
const matmulWeight: (x: tf.Tensor, w: tf.Tensor) => tf.Tensor = tf.customGrad(((
  x: tf.Tensor,
  w: tf.Tensor,
  save: tf.GradSaveFunc,
) => {
  save([x, w]);
  const trainable = w instanceof tf.Variable && w.trainable;
  return {
    value: tf.matMul(x, w),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
      tf.matMul(dy, swapLast(saved[1])),
      trainable ? tf.matMul(swapLast(saved[0]), dy) : tf.zerosLike(saved[1]),
    ],
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor, w: tf.Tensor) => tf.Tensor;

/** gelu_new: the tanh approximation GPT-2 uses. */
export function geluNew(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    // x·x·x, not pow(x, 3): pow's gradient is slow (log, where) and needs no exponent here
    const inner = tf.mul(GELU_C, tf.add(x, tf.mul(0.044715, tf.mul(x, tf.mul(x, x)))));
    return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)));
  });
}

export function layerNorm(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): tf.Tensor {
  return tf.tidy(() => {
    const mean = tf.mean(x, -1, true);
    const centred = tf.sub(x, mean);
    const variance = tf.mean(tf.square(centred), -1, true);
    return tf.add(tf.mul(tf.mul(centred, tf.rsqrt(tf.add(variance, eps))), gamma), beta);
  });
}

/** x·W + b over the last axis: [..., in] × [in, out] → [..., out]. */
export function linear(x: tf.Tensor, w: tf.Tensor2D, b?: tf.Tensor1D): tf.Tensor {
  return tf.tidy(() => {
    const shape = x.shape;
    const inDim = shape[shape.length - 1];
    const x2 = tf.reshape(x, [-1, inDim]) as tf.Tensor2D;
    const y = b ? tf.add(matmulWeight(x2, w), b) : matmulWeight(x2, w);
    return tf.reshape(y, [...shape.slice(0, -1), w.shape[1]]);
  });
}

/**
 * Additive causal mask for T queries at positions past..past+T-1 over S = past+T keys:
 * 0 where key ≤ query position, -1e9 elsewhere. [T, S]
 */
export function causalMask(T: number, S: number, past: number): tf.Tensor2D {
  const m = new Float32Array(T * S);
  for (let i = 0; i < T; i++) for (let j = past + i + 1; j < S; j++) m[i * S + j] = -1e9;
  return tf.tensor2d(m, [T, S]);
}

/** [B, T, D] → [B, H, T, hd] */
export function splitHeads(x: tf.Tensor, H: number): tf.Tensor4D {
  const [B, T, D] = x.shape;
  return tf.transpose(tf.reshape(x, [B, T, H, D / H]), [0, 2, 1, 3]);
}

/** [B, H, T, hd] → [B, T, D] */
export function mergeHeads(x: tf.Tensor4D): tf.Tensor3D {
  const [B, H, T, hd] = x.shape;
  return tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [B, T, H * hd]);
}

export class GPT {
  constructor(
    readonly config: GPTConfig,
    readonly weights: GPTWeights,
  ) {}

  get numLayers(): number {
    return this.config.nLayer;
  }

  /** Token + position embeddings for ids at positions past..past+T-1. ids [B, T] → [B, T, D] */
  embed(ids: tf.Tensor2D, past = 0, mode: 'gather' | 'onehot' = 'gather'): tf.Tensor3D {
    const { wte, wpe } = this.weights;
    const [B, T] = ids.shape;
    if (past + T > this.config.nPositions) {
      throw new Error(`sequence of ${past + T} tokens is longer than the model's context of ${this.config.nPositions}`);
    }
    return tf.tidy(() => {
      const tok =
        mode === 'onehot'
          ? tf.reshape(matmul(tf.oneHot(tf.reshape(ids, [-1]), this.config.vocabSize), wte), [B, T, -1])
          : tf.gather(wte, ids); // [B, T, D]
      const pos = tf.slice(wpe, [past, 0], [T, -1]); // [T, D]
      return tf.add(tok, pos) as tf.Tensor3D;
    });
  }

  /**
   * One pre-LayerNorm block over the new positions. With `past` K/V ([B, H, S-T, hd]) the
   * new positions also attend to them. Returns the block output and this block's full K/V.
   */
  block(
    i: number,
    x: tf.Tensor3D,
    past?: { k: tf.Tensor4D; v: tf.Tensor4D },
  ): { out: tf.Tensor3D; k: tf.Tensor4D; v: tf.Tensor4D } {
    const w: BlockWeights = this.weights.blocks[i];
    const { nHead: H, layerNormEpsilon: eps } = this.config;
    return tf.tidy(() => {
      const [, T, D] = x.shape;
      const a = layerNorm(x, w.ln1.gamma, w.ln1.beta, eps);
      const qkv = linear(a, w.attn.cAttnW, w.attn.cAttnB); // [B, T, 3D]
      const [q, kNew, vNew] = tf.split(qkv, [D, D, D], 2).map((t) => splitHeads(t, H)); // [B, H, T, hd]
      const k = past ? tf.concat([past.k, kNew], 2) : kNew; // [B, H, S, hd]
      const v = past ? tf.concat([past.v, vNew], 2) : vNew;
      const S = k.shape[2];
      const scores = tf.add(
        tf.mul(matmul(q, swapLast(k)), 1 / Math.sqrt(D / H)), // [B, H, T, S]
        causalMask(T, S, S - T),
      );
      const y = mergeHeads(matmul(tf.softmax(scores), v) as tf.Tensor4D); // [B, T, D]
      const h = tf.add(x, linear(y, w.attn.cProjW, w.attn.cProjB));
      const m = linear(geluNew(linear(layerNorm(h, w.ln2.gamma, w.ln2.beta, eps), w.mlp.cFcW, w.mlp.cFcB)), w.mlp.cProjW, w.mlp.cProjB);
      return { out: tf.add(h, m) as tf.Tensor3D, k, v };
    });
  }

  /** The final LayerNorm alone: [B, T, D] → [B, T, D] (Hugging Face's last hidden state). */
  finalNorm(x: tf.Tensor3D): tf.Tensor3D {
    const { lnF } = this.weights;
    return layerNorm(x, lnF.gamma, lnF.beta, this.config.layerNormEpsilon) as tf.Tensor3D;
  }

  /** Final LayerNorm and LM head (tied to wte unless lm_head.weight was given). [B, T, D] → [B, T, V] */
  head(x: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const { lnF, wte, lmHead } = this.weights;
      const n = layerNorm(x, lnF.gamma, lnF.beta, this.config.layerNormEpsilon);
      const [B, T, D] = n.shape;
      const logits = matmul(tf.reshape(n, [B * T, D]), swapLast(lmHead ?? wte)); // [B·T, V]
      return tf.reshape(logits, [B, T, -1]) as tf.Tensor3D;
    });
  }

  /**
   * The forward pass over ids [B, T] (or over `input` from block `from`). With a cache, the
   * ids are the new positions after `cache.length` and the cache is replaced by a new one
   * (the old tensors are disposed).
   */
  forward(ids: tf.Tensor2D | null, opts: ForwardOptions = {}, cache?: KVCache): ForwardResult {
    const N = this.config.nLayer;
    const from = opts.from ?? 0;
    const to = opts.to ?? N;
    const taps = new Set(opts.taps ?? []);
    const past = cache?.length ?? 0;
    const newK: tf.Tensor4D[] = [];
    const newV: tf.Tensor4D[] = [];
    // Tapped states are returned from the tidy (not tf.keep'd), so a caller's enclosing tidy
    // tracks and frees them like any other result.
    const result = tf.tidy(() => {
      const tapLayers: number[] = [];
      const tapped: tf.Tensor3D[] = [];
      const tap = (layer: number, t: tf.Tensor3D) => {
        if (!taps.has(layer)) return;
        tapLayers.push(layer);
        tapped.push(t);
      };
      let x: tf.Tensor3D;
      if (opts.input) {
        x = opts.input;
      } else {
        if (!ids) throw new Error('forward needs ids or input');
        if (from !== 0) throw new Error('forward from a block > 0 needs `input`');
        x = this.embed(ids, past, opts.embedding);
        if (opts.hook) x = opts.hook(-1, x, past);
        tap(-1, x);
      }
      for (let i = from; i < to; i++) {
        const r = this.block(i, x, cache ? { k: cache.k[i], v: cache.v[i] } : undefined);
        x = r.out;
        if (cache) {
          newK.push(tf.keep(r.k));
          newV.push(tf.keep(r.v));
        }
        if (opts.hook) x = opts.hook(i, x, past);
        tap(i, x);
      }
      const logits = opts.noHead || to !== N ? undefined : this.head(x);
      return { logits, last: x, tapped, tapLayers };
    });
    if (cache) {
      if (from !== 0 || to !== N) throw new Error('a KV cache needs the whole forward pass');
      cache.k.forEach((t) => t.dispose());
      cache.v.forEach((t) => t.dispose());
      cache.k = newK;
      cache.v = newV;
      cache.length = past + (ids ? ids.shape[1] : 0);
    }
    const hidden = new Map<number, tf.Tensor3D>(result.tapLayers.map((l, j) => [l, result.tapped[j]]));
    return { logits: result.logits, last: result.last, hidden };
  }
}

/** An empty KV cache for a batch of B sequences. */
export function emptyCache(model: GPT, B: number): KVCache {
  const { nLayer, nHead, nEmbd } = model.config;
  const z = () => tf.zeros([B, nHead, 0, nEmbd / nHead]) as tf.Tensor4D;
  return { k: Array.from({ length: nLayer }, z), v: Array.from({ length: nLayer }, z), length: 0 };
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

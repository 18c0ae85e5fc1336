// What the Hugging Face decoder architectures beyond GPT-2 share (docs/design.md § Models): the
// forward loop with CALM's taps, residual injection, block ranges and the KV cache, and the
// layers Llama and GPT-NeoX both use (nn.Linear [out, in] weights, RMSNorm, exact GELU,
// causal attention with grouped-query heads). Legend: B batch, T new positions, S = past + T
// positions, D width, H query heads, Hkv key/value heads, hd head size, V vocabulary.
import { tf } from './tf';
import type { ForwardOptions, ForwardResult, KVCache, ModelConfig } from './causal-lm';
import { backendAttention, backendNorm, causalMask, isTrainable, linear, matmul, swapLast } from './ops';

/**
 * `forward(x)` = x·Wᵀ (+ a frozen bias) for x [M, in] and a frozen W [out, in], differentiable in x
 * only: the gradient dy·W is a plain matMul of W as stored (through a transient copy), so the
 * backward pass neither keeps the forward pass's transposed copy of W nor makes a zero gradient
 * the size of W: together those held more than twice the weights until the end of a
 * bridge-training step, which at SmolLM2-360M's shapes is gigabytes of a 4 GiB wasm heap.
 */
function frozenOutIn(w: tf.Tensor2D, forward: (x: tf.Tensor2D) => tf.Tensor): (x: tf.Tensor2D) => tf.Tensor {
  return tf.customGrad(((x: tf.Tensor2D) => ({
    value: forward(x),
    // [M, out] × [out, in], W through a copy of its own, freed after the product: tfjs-wasm's
    // XNNPACK keeps a packed copy of a matMul's right operand for as long as that tensor lives,
    // so W itself there would keep a second copy of every weight for good (measured: 20
    // weights of 2560×960 grew the heap by 217 MiB for good, by 40 MiB through copies).
    gradFunc: (dy: tf.Tensor) => tf.tidy(() => tf.matMul(dy as tf.Tensor2D, tf.mul(w, 1) as tf.Tensor2D)),
  })) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor2D) => tf.Tensor;
}

/**
 * x·Wᵀ + b for an nn.Linear weight W [out, in]: [..., in] → [..., out]. W is transposed per
 * call (a copy the size of W) rather than kept twice; the weight gradient is not computed
 * (these models are run frozen: CALM trains only its bridges), and for frozen W and b the
 * gradient in x is dy·W (frozenOutIn).
 */
export function linearOutIn(x: tf.Tensor, w: tf.Tensor2D, b?: tf.Tensor1D): tf.Tensor {
  if (isTrainable(w) || isTrainable(b)) return tf.tidy(() => linear(x, swapLast(w) as tf.Tensor2D, b));
  return tf.tidy(() => {
    const inDim = x.shape[x.rank - 1];
    const y = frozenOutIn(w, (x2) => linear(x2, swapLast(w) as tf.Tensor2D, b))(tf.reshape(x, [-1, inDim]) as tf.Tensor2D); // [M, out]
    return tf.reshape(y, [...x.shape.slice(0, -1), w.shape[0]]);
  });
}

/** RMSNorm: x / sqrt(mean(x²) + eps) · weight over the last axis. [..., D] → [..., D] */
export function rmsNorm(x: tf.Tensor, weight: tf.Tensor1D, eps: number): tf.Tensor {
  return tf.tidy(() => backendNorm(x, weight, undefined, eps, false) ?? tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps))), weight));
}

/** The exact GELU 0.5·x·(1 + erf(x/√2)) (Hugging Face `gelu`). */
export function geluErf(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.mul(0.5, x), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))));
}

/** SiLU x·sigmoid(x). */
export function silu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(x, tf.sigmoid(x)));
}

/**
 * Causal attention of the new positions over all S: q [B, H, T, hd], k/v [B, Hkv, S, hd]
 * (query head h reads kv head h // (H/Hkv), as HF's repeat_kv), scores / √hd → [B, H, T, hd].
 */
export function causalAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [B, H, T, hd] = q.shape;
    const [, Hkv, S] = k.shape;
    // [B, Hkv, S, hd] → [B, Hkv, 1, S·hd] → tiled [B, Hkv, H/Hkv, S·hd] → [B, H, S, hd]: rank 4,
    // because tfjs has no gradient for a rank-5 tile (bridge training backpropagates through here)
    const repeat = (t: tf.Tensor4D): tf.Tensor4D =>
      H === Hkv
        ? t
        : (tf.reshape(tf.tile(tf.reshape(t, [B, Hkv, 1, S * hd]), [1, 1, H / Hkv, 1]), [B, H, S, hd]) as tf.Tensor4D); // [B, H, S, hd]
    const kr = repeat(k);
    const vr = repeat(v);
    // Our fused kernel where the backend has one (WebGPU: docs/design.md § Kernels), else tfjs ops.
    const fused = backendAttention(q, kr, vr, S - T);
    if (fused) return fused;
    const scores = tf.add(tf.mul(matmul(q, swapLast(kr)), 1 / Math.sqrt(hd)), causalMask(T, S, S - T)); // [B, H, T, S]
    return matmul(tf.softmax(scores), vr) as tf.Tensor4D;
  });
}

/** An architecture's pieces, as the shared forward loop runs them. */
export interface DecoderParts {
  readonly config: ModelConfig;
  /** ids at positions past..past+T−1 → [B, T, D]. */
  embed(ids: tf.Tensor2D, past: number, mode: 'gather' | 'onehot'): tf.Tensor3D;
  /** Block i over the new positions, with the block's past K/V; returns its output and full K/V. */
  block(i: number, x: tf.Tensor3D, past: number, cache?: { k: tf.Tensor4D; v: tf.Tensor4D }): { out: tf.Tensor3D; k: tf.Tensor4D; v: tf.Tensor4D };
  /** Final norm and LM head: [B, T, D] → [B, T, V]. */
  head(x: tf.Tensor3D): tf.Tensor3D;
}

/** The embedding of a [V, D] table: a gather, or a one-hot matmul (differentiable on every backend). ids [B, T] → [B, T, D] */
export function embedTokens(table: tf.Tensor2D, ids: tf.Tensor2D, mode: 'gather' | 'onehot'): tf.Tensor3D {
  return tf.tidy(() => {
    const [B, T] = ids.shape;
    return (
      mode === 'onehot' ? tf.reshape(matmul(tf.oneHot(tf.reshape(ids, [-1]), table.shape[0]), table), [B, T, -1]) : tf.gather(table, ids)
    ) as tf.Tensor3D;
  });
}

/** [B, T, D] × LM head [V, D] → [B, T, V]; a frozen head is differentiable in x only (frozenOutIn). */
export function lmHead(x: tf.Tensor3D, w: tf.Tensor2D): tf.Tensor3D {
  return tf.tidy(() => {
    const [B, T, D] = x.shape;
    const x2 = tf.reshape(x, [B * T, D]) as tf.Tensor2D;
    const y = isTrainable(w) ? matmul(x2, swapLast(w)) : frozenOutIn(w, (a) => tf.matMul(a, swapLast(w) as tf.Tensor2D))(x2);
    return tf.reshape(y, [B, T, -1]) as tf.Tensor3D;
  });
}

/**
 * CausalLM.forward over an architecture's parts: taps, hooks, the block range and the KV cache
 * exactly as src/model/causal-lm.ts describes them.
 */
export function decoderForward(parts: DecoderParts, ids: tf.Tensor2D | null, opts: ForwardOptions = {}, cache?: KVCache): ForwardResult {
  const N = parts.config.nLayer;
  const from = opts.from ?? 0;
  const to = opts.to ?? N;
  const taps = new Set(opts.taps ?? []);
  const past = cache?.length ?? 0;
  // a cache may stop short of the last block (to < N: states for bridges, no logits); every
  // forward over it must then stop at the same block
  if (cache && from !== 0) throw new Error('a KV cache needs the forward pass from block 0');
  if (cache && cache.length > 0 && cache.k.length !== to) throw new Error(`a KV cache of ${cache.k.length} blocks read by a forward through block ${to}`);
  const T = opts.input ? opts.input.shape[1] : (ids?.shape[1] ?? 0);
  if (past + T > parts.config.nPositions) {
    throw new Error(`sequence of ${past + T} tokens is longer than the model's context of ${parts.config.nPositions}`);
  }
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
      x = parts.embed(ids, past, opts.embedding ?? 'gather');
      if (opts.hook) x = opts.hook(-1, x, past);
      tap(-1, x);
    }
    for (let i = from; i < to; i++) {
      const r = parts.block(i, x, past, cache ? { k: cache.k[i], v: cache.v[i] } : undefined);
      x = r.out;
      if (cache) {
        newK.push(tf.keep(r.k));
        newV.push(tf.keep(r.v));
      }
      if (opts.hook) x = opts.hook(i, x, past);
      tap(i, x);
    }
    const logits = opts.noHead || to !== N ? undefined : parts.head(x);
    return { logits, last: x, tapped, tapLayers };
  });
  if (cache) {
    cache.k.forEach((t) => t.dispose());
    cache.v.forEach((t) => t.dispose());
    cache.k = newK;
    cache.v = newV;
    cache.length = past + T;
  }
  const hidden = new Map<number, tf.Tensor3D>(result.tapLayers.map((l, j) => [l, result.tapped[j]]));
  return { logits: result.logits, last: result.last, hidden };
}

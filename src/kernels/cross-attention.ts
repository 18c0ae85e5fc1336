// Causal multi-head cross-attention, the core of a CALM bridge. This plain-tfjs version is
// the reference: what runs on wasm/cpu, and the oracle for the fused WebGPU kernel.
// Legend: B batch, h heads, T anchor (query) positions, S augmenting (key) positions, hd head width.
import { tf } from '../model/tf';
import { matmul } from '../model/gpt';

export interface CrossAttentionOptions {
  /** Position of the first query: query i sits at position past + i and sees keys j ≤ past + i. */
  past?: number;
  /** [B, S], 1 for real tokens and 0 for padding: padded keys are never read. */
  keyMask?: tf.Tensor2D;
}

/** Additive mask [1|B, 1, T, S]: causal (key j ≤ query position) plus padding. */
export function crossAttentionMask(T: number, S: number, opts: CrossAttentionOptions = {}): tf.Tensor4D {
  const past = opts.past ?? 0;
  return tf.tidy(() => {
    const m = new Float32Array(T * S);
    for (let i = 0; i < T; i++) for (let j = past + i + 1; j < S; j++) m[i * S + j] = -1e9;
    let mask = tf.tensor4d(m, [1, 1, T, S]);
    if (opts.keyMask) {
      const B = opts.keyMask.shape[0];
      const pad = tf.reshape(tf.mul(tf.sub(1, opts.keyMask), -1e9), [B, 1, 1, S]);
      mask = tf.add(mask, pad);
    }
    return mask;
  });
}

/**
 * softmax(q·kᵀ/√hd + mask)·v. q [B, h, T, hd], k and v [B, h, S, hd] → [B, h, T, hd].
 * Writes the [B, h, T, S] scores; the fused kernel does not.
 */
export function crossAttentionReference(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, opts: CrossAttentionOptions = {}): tf.Tensor4D {
  return tf.tidy(() => {
    const [, , T, hd] = q.shape;
    const S = k.shape[2];
    const kT = tf.transpose(k, [0, 1, 3, 2]); // [B, h, hd, S]
    const scores = tf.add(tf.mul(matmul(q, kT), 1 / Math.sqrt(hd)), crossAttentionMask(T, S, opts)); // [B, h, T, S]
    return matmul(tf.softmax(scores), v) as tf.Tensor4D;
  });
}

/** The attention weights themselves [B, h, T, S] (for the heatmap; not used in training). */
export function crossAttentionWeights(q: tf.Tensor4D, k: tf.Tensor4D, opts: CrossAttentionOptions = {}): tf.Tensor4D {
  return tf.tidy(() => {
    const [, , T, hd] = q.shape;
    const S = k.shape[2];
    const scores = tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(hd)), crossAttentionMask(T, S, opts));
    return tf.softmax(scores) as tf.Tensor4D;
  });
}

/** The implementation in use; the WebGPU backend registers a fused one (src/kernels). */
export function crossAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, opts: CrossAttentionOptions = {}): tf.Tensor4D {
  return crossAttentionReference(q, k, v, opts);
}

// Causal multi-head cross-attention, the core of a CALM bridge. This plain-tfjs version is
// the reference: what runs on wasm/cpu, and the oracle for the fused WebGPU kernel.
// Legend: B batch, h heads, T anchor (query) positions, S augmenting (key) positions, hd head width.
//
// `crossAttention` is what the model calls: on the WebGPU backend, for shapes the fused WGSL
// kernel takes (cross-attention-rowwise-webgpu.ts), the fused kernel with its WGSL backward
// (dQ, dK, dV); everywhere else, and for any other shape, the reference.
import { tf } from '../model/tf';
import { matmul } from '../model/ops';
import { activeWebGPUBackend, runProgram, type ProgramUniform } from './webgpu-program';
import {
  CrossAttentionRowwiseBackwardKeyValueProgram,
  CrossAttentionRowwiseBackwardQueryProgram,
  CrossAttentionRowwiseForwardProgram,
  MAX_HEAD_WIDTH,
} from './cross-attention-rowwise-webgpu';

export interface CrossAttentionOptions {
  /** Position of the first query: query i sits at position past + i and sees keys j ≤ past + i. */
  past?: number;
  /** [B, S], 1 for real tokens and 0 for padding: padded keys are never read. */
  keyMask?: tf.Tensor2D;
  /** Added to the scores before the mask: [1|B, h, T, S] (a bridge's relative-position bias). */
  bias?: tf.Tensor4D;
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
    let scores = tf.add(tf.mul(matmul(q, kT), 1 / Math.sqrt(hd)), crossAttentionMask(T, S, opts)); // [B, h, T, S]
    if (opts.bias) scores = tf.add(scores, opts.bias);
    return matmul(tf.softmax(scores), v) as tf.Tensor4D;
  });
}

/** The attention weights themselves [B, h, T, S] (for the heatmap; not used in training). */
export function crossAttentionWeights(q: tf.Tensor4D, k: tf.Tensor4D, opts: CrossAttentionOptions = {}): tf.Tensor4D {
  return tf.tidy(() => {
    const [, , T, hd] = q.shape;
    const S = k.shape[2];
    let scores = tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(hd)), crossAttentionMask(T, S, opts));
    if (opts.bias) scores = tf.add(scores, opts.bias);
    return tf.softmax(scores) as tf.Tensor4D;
  });
}

/**
 * Why the fused kernel cannot compute these inputs (null when it can): it needs the WebGPU
 * backend, float32 q/k/v of equal batch and heads (no broadcasting), a head width up to
 * MAX_HEAD_WIDTH, an integer past ≥ 0 and a keyMask of shape [B, S].
 */
export function fusedCrossAttentionUnsupported(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, opts: CrossAttentionOptions = {}): string | null {
  if (activeWebGPUBackend() === null) return `backend is ${tf.getBackend()}, not webgpu`;
  if (opts.bias) return 'an additive score bias (relative positions) is not fused';
  if (q.rank !== 4 || k.rank !== 4 || v.rank !== 4) return 'q, k and v must have rank 4';
  if (q.dtype !== 'float32' || k.dtype !== 'float32' || v.dtype !== 'float32') return 'q, k and v must be float32';
  const [B, h, T, hd] = q.shape as [number, number, number, number];
  const S = k.shape[2] as number;
  if (k.shape[0] !== B || k.shape[1] !== h || k.shape[3] !== hd) return `k ${JSON.stringify(k.shape)} does not match q ${JSON.stringify(q.shape)}`;
  if (!v.shape.every((d, i) => d === k.shape[i])) return `v ${JSON.stringify(v.shape)} does not match k ${JSON.stringify(k.shape)}`;
  if (B < 1 || h < 1 || T < 1 || S < 1 || hd < 1) return 'empty tensor';
  if (hd > MAX_HEAD_WIDTH) return `head width ${hd} > ${MAX_HEAD_WIDTH}`;
  const past = opts.past ?? 0;
  if (!Number.isInteger(past) || past < 0) return `past ${past} is not an integer ≥ 0`;
  if (B * h * Math.max(T, S) * (2 * hd + 2) >= 2 ** 31) return 'too large for i32 indexing';
  const m = opts.keyMask;
  if (m && (m.rank !== 2 || m.shape[0] !== B || m.shape[1] !== S)) return `keyMask ${JSON.stringify(m.shape)} is not [${B}, ${S}]`;
  return null;
}

/**
 * The fused WebGPU kernel, with a custom gradient whose backward also runs in WGSL: the same
 * answer as crossAttentionReference (to float rounding), without writing the [B, h, T, S] scores.
 * No gradient flows to keyMask. Throws when fusedCrossAttentionUnsupported says why it cannot.
 */
export function crossAttentionFused(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, opts: CrossAttentionOptions = {}): tf.Tensor4D {
  const why = fusedCrossAttentionUnsupported(q, k, v, opts);
  const backend = activeWebGPUBackend();
  if (why !== null || backend === null) throw new Error(`fused cross-attention: ${why}`);
  const [B, h, T, hd] = q.shape;
  const S = k.shape[2];
  const uniforms: ProgramUniform[] = [
    { type: 'int32', data: [opts.past ?? 0] },
    { type: 'float32', data: [1 / Math.sqrt(hd)] },
  ];
  const hasMask = opts.keyMask !== undefined;
  return tf.tidy(() => {
    const mask = hasMask ? [tf.cast(opts.keyMask!, 'float32')] : []; // [B, S]
    const attend = tf.customGrad(((qi: tf.Tensor4D, ki: tf.Tensor4D, vi: tf.Tensor4D, save: tf.GradSaveFunc) => {
      const fwd = runProgram(backend, new CrossAttentionRowwiseForwardProgram(B, h, T, hd, hasMask), [qi, ki, vi, ...mask], uniforms); // [B, h, T, hd + 2]
      save([qi, ki, vi, fwd, ...mask]);
      return {
        value: tf.slice(fwd, [0, 0, 0, 0], [B, h, T, hd]),
        gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
          const [sq, sk, sv, sfwd, ...smask] = saved;
          const dqd = runProgram(backend, new CrossAttentionRowwiseBackwardQueryProgram(B, h, T, hd, hasMask), [sq, sk, sv, dy, sfwd, ...smask], uniforms); // [B, h, T, hd + 1]
          const dkv = runProgram(backend, new CrossAttentionRowwiseBackwardKeyValueProgram(B, h, S, hd, hasMask), [sq, sk, sv, dy, sfwd, dqd, ...smask], uniforms); // [B, h, S, 2 hd]
          return [tf.slice(dqd, [0, 0, 0, 0], [B, h, T, hd]), tf.slice(dkv, [0, 0, 0, 0], [B, h, S, hd]), tf.slice(dkv, [0, 0, 0, hd], [B, h, S, hd])];
        },
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D) => tf.Tensor4D;
    return attend(q, k, v);
  });
}

/** The implementation in use: the fused kernel where it applies (WebGPU), else the reference. */
export function crossAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, opts: CrossAttentionOptions = {}): tf.Tensor4D {
  return fusedCrossAttentionUnsupported(q, k, v, opts) === null ? crossAttentionFused(q, k, v, opts) : crossAttentionReference(q, k, v, opts);
}

// One CALM bridge (DESIGN §1): the anchor's residual stream reads the augmenting model's
// hidden states through a projection and a causal multi-head cross-attention.
// Legend: B batch, T anchor positions, S augmenting positions, D_a anchor width,
// D_g augmenting width, h heads, hd = D_a / h.
import { tf, tfSeed } from '../model/tf';
import { linear, matmul, splitHeads, mergeHeads } from '../model/gpt';
import { toVariable } from '../train/adamw';
import { crossAttention, type CrossAttentionOptions } from '../kernels/cross-attention';
import type { BridgeWeights, CompositionSpec, OutputVariant } from './types';

const RMS_EPS = 1e-6;

/**
 * A fresh bridge. Projections start at normal(0, 1/√in) (unit-scale outputs); `Wo` and its bias
 * start at zero for 'zero-init', so the composition starts exactly equal to the anchor. For
 * 'rmsnorm' (the official code) Wo is random and the norm's scale starts at 1.
 */
export function initBridge(
  Da: number,
  Dg: number,
  output: OutputVariant,
  seed: number,
  position?: { heads: number; buckets: number; init: number },
): BridgeWeights {
  let s = seed;
  const v = (t: tf.Tensor) => toVariable(t);
  const normal = (shape: number[], fanIn: number) => v(tf.randomNormal(shape, 0, 1 / Math.sqrt(fanIn), 'float32', tfSeed(s++)));
  const zeros = (shape: number[]) => v(tf.zeros(shape));
  return {
    projW: normal([Dg, Da], Dg),
    projB: zeros([Da]),
    qW: normal([Da, Da], Da),
    qB: zeros([Da]),
    kW: normal([Da, Da], Da),
    kB: zeros([Da]),
    vW: normal([Da, Da], Da),
    vB: zeros([Da]),
    oW: output === 'zero-init' ? zeros([Da, Da]) : normal([Da, Da], Da),
    oB: zeros([Da]),
    ...(output === 'rmsnorm' ? { normW: v(tf.ones([Da])) } : {}),
    ...(position && position.buckets > 0 ? { posBias: v(initialPositionBias(position.heads, position.buckets, position.init)) } : {}),
  };
}

/**
 * [h, R], `init` at offset 0 and 0 elsewhere: at the start each anchor position reads mostly
 * the augmenting state at its own position (TOY-KV: learning that from dense states was what
 * failed), and training can move the bias anywhere.
 */
export function initialPositionBias(heads: number, buckets: number, init: number): tf.Tensor2D {
  const b = new Float32Array(heads * buckets);
  for (let i = 0; i < heads; i++) b[i * buckets] = init;
  return tf.tensor2d(b, [heads, buckets]);
}

/**
 * The relative-position bias of the scores: [1, h, T, S] for T queries at positions
 * past … past+T−1 over S keys; offset (query − key) clamped to R−1 (future keys are masked
 * anyway). Built as posBias · onehot(offset)ᵀ so its gradient exists on every backend.
 */
export function positionScoreBias(posBias: tf.Tensor, T: number, S: number, past: number): tf.Tensor4D {
  const [h, R] = posBias.shape;
  return tf.tidy(() => {
    const onehot = new Float32Array(R * T * S); // [R, T·S]
    for (let t = 0; t < T; t++)
      for (let s = 0; s < S; s++) {
        const d = past + t - s;
        onehot[(d < 0 ? R - 1 : Math.min(d, R - 1)) * T * S + t * S + s] = 1;
      }
    return tf.reshape(matmul(posBias, tf.tensor2d(onehot, [R, T * S])), [1, h, T, S]) as tf.Tensor4D;
  });
}

/** The initial offset-0 position bias when a composition asks for one and names no other. */
export const DEFAULT_POSITION_INIT = 5;

/**
 * Fresh bridges for every connection of `spec`, seeded `seed·1000 + k` so the CLI, the worker
 * and the shipped composition build the same bridges from the same seed.
 */
export function initBridges(spec: CompositionSpec, Da: number, Dg: number, seed: number, positionInit = DEFAULT_POSITION_INIT): BridgeWeights[] {
  const position = spec.positionBias ? { heads: spec.numHeads, buckets: spec.positionBias, init: positionInit } : undefined;
  return spec.connections.map((_, k) => initBridge(Da, Dg, spec.output, seed * 1000 + k, position));
}

export function bridgeVariables(w: BridgeWeights): tf.Variable[] {
  const out = [w.projW, w.projB, w.qW, w.qB, w.kW, w.kB, w.vW, w.vB, w.oW, w.oB];
  if (w.normW) out.push(w.normW);
  if (w.posBias) out.push(w.posBias);
  return out;
}

export function disposeBridge(w: BridgeWeights): void {
  bridgeVariables(w).forEach((t) => t.dispose());
}

/** Keys and values from augmenting states: hAug [B, S, D_g] → k, v [B, h, S, hd]. */
export function bridgeKeysValues(w: BridgeWeights, hAug: tf.Tensor3D, heads: number): { k: tf.Tensor4D; v: tf.Tensor4D } {
  return tf.tidy(() => {
    const p = linear(hAug, w.projW as tf.Tensor2D, w.projB as tf.Tensor1D); // [B, S, D_a]
    return {
      k: splitHeads(linear(p, w.kW as tf.Tensor2D, w.kB as tf.Tensor1D), heads),
      v: splitHeads(linear(p, w.vW as tf.Tensor2D, w.vB as tf.Tensor1D), heads),
    };
  });
}

/** Queries from the anchor's stream: hAnchor [B, T, D_a] → [B, h, T, hd]. */
export function bridgeQueries(w: BridgeWeights, hAnchor: tf.Tensor3D, heads: number): tf.Tensor4D {
  return tf.tidy(() => splitHeads(linear(hAnchor, w.qW as tf.Tensor2D, w.qB as tf.Tensor1D), heads));
}

/**
 * What the bridge adds to the anchor's stream: hAnchor [B, T, D_a] attends to k, v
 * [B, h, S, hd] → [B, T, D_a].
 */
export function bridgeOutput(
  w: BridgeWeights,
  hAnchor: tf.Tensor3D,
  kv: { k: tf.Tensor4D; v: tf.Tensor4D },
  heads: number,
  output: OutputVariant,
  opts: CrossAttentionOptions = {},
): tf.Tensor3D {
  return tf.tidy(() => {
    const q = bridgeQueries(w, hAnchor, heads); // [B, h, T, hd]
    const T = hAnchor.shape[1];
    const bias = w.posBias ? positionScoreBias(w.posBias, T, kv.k.shape[2], opts.past ?? 0) : undefined;
    const a = mergeHeads(crossAttention(q, kv.k, kv.v, { ...opts, bias })); // [B, T, D_a]
    let out = linear(a, w.oW as tf.Tensor2D, w.oB as tf.Tensor1D);
    if (output === 'rmsnorm') {
      out = tf.mul(tf.mul(out, tf.rsqrt(tf.add(tf.mean(tf.square(out), -1, true), RMS_EPS))), w.normW!);
    }
    return out as tf.Tensor3D;
  });
}

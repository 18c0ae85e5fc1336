// One CALM bridge (docs/design.md § CALM): the anchor's residual stream reads the augmenting model's
// hidden states through a projection and a causal multi-head cross-attention.
// Legend: B batch, T anchor positions, S augmenting positions, D_a anchor width,
// D_g augmenting width, h heads, hd = D_a / h.
import { tf, tfSeed, toVariable } from '../model/tf';
import { linear, splitHeads, mergeHeads } from '../model/ops';
import { crossAttention, positionScoreBias, type CrossAttentionOptions } from '../kernels/cross-attention';
import { BRIDGE_TENSORS, type BridgeWeights } from './types';
import { SPEC_DEFAULTS, type CompositionSpec, type OutputVariant } from './spec';

// positionScoreBias (the bias's reference) lives with the attention kernels; compose.ts reads it here
export { positionScoreBias };

const RMS_EPS = 1e-6;

/** The optional parts of a bridge (CompositionSpec.inputNorm / queryNorm / valueGate). */
export interface BridgeOptions {
  position?: { heads: number; buckets: number; init: number };
  /** Frozen input whitening [D_g] + [D_g, D_g]; all zero (a placeholder) until fitInputStats. */
  whiten?: boolean;
  /** Per-head value gate [D_a, h] + [h], zero at init (gate 0.5). */
  gateHeads?: number;
}

/**
 * Bridges whose whitening statistics are still the placeholder of initBridge (all zero: the
 * bridge reads nothing of the augmenting states): the training data has not been measured for
 * them yet (src/train/compose-train.ts does that before step 0). Bridges from a bundle or a
 * checkpoint hold measured statistics and keep them; a bundle written before any training
 * holds the zero placeholder, and bridgesFromRaw marks its bridges again.
 */
const unfitted = new WeakSet<BridgeWeights>();

export function needsInputStats(w: BridgeWeights): boolean {
  return w.inWhiten !== undefined && unfitted.has(w);
}

/** Marks `w`'s whitening statistics as a placeholder, to be measured before training. */
export function markUnfitted(w: BridgeWeights): void {
  if (w.inWhiten) unfitted.add(w);
}

/** Sets bridge `w`'s frozen whitening statistics: mean [D_g], whiten [D_g, D_g] (x·W). */
export function setInputStats(w: BridgeWeights, mean: Float64Array | Float32Array, whiten: Float64Array | Float32Array): void {
  if (!w.inMean || !w.inWhiten) throw new Error('this bridge has no input whitening (inputNorm is not "whiten")');
  const Dg = w.inMean.shape[0];
  if (mean.length !== Dg || whiten.length !== Dg * Dg) {
    throw new Error(`whitening statistics of ${mean.length} and ${whiten.length} values do not fit D_g ${Dg}`);
  }
  tf.tidy(() => {
    w.inMean!.assign(tf.tensor1d(Float32Array.from(mean)));
    w.inWhiten!.assign(tf.tensor2d(Float32Array.from(whiten), [Dg, Dg]));
  });
  unfitted.delete(w);
}

/** x / sqrt(mean(x²) + 1e-6) along the last axis, no learned scale: [..., D] → [..., D]. */
export function rmsNormalize<T extends tf.Tensor>(x: T): T {
  return tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), RMS_EPS))) as T;
}

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
  opts: BridgeOptions = {},
): BridgeWeights {
  const { position } = opts;
  let s = seed;
  const v = (t: tf.Tensor) => toVariable(t);
  const normal = (shape: number[], fanIn: number) => v(tf.randomNormal(shape, 0, 1 / Math.sqrt(fanIn), 'float32', tfSeed(s++)));
  const zeros = (shape: number[]) => v(tf.zeros(shape));
  // frozen: not trainable, so no gradient is ever taken for them
  const frozen = (t: tf.Tensor) => toVariable(t, false);
  const w: BridgeWeights = {
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
    ...(opts.whiten ? { inMean: frozen(tf.zeros([Dg])), inWhiten: frozen(tf.zeros([Dg, Dg])) } : {}),
    ...(opts.gateHeads ? { gateW: zeros([Da, opts.gateHeads]), gateB: zeros([opts.gateHeads]) } : {}),
  };
  markUnfitted(w);
  return w;
}

/**
 * [h, R], `init` at offset 0 and 0 elsewhere: at the start each anchor position reads mostly
 * the augmenting state at its own position (learning that from dense states was what failed:
 * docs/reproduction.md § Why dense states defeated the bridge), and training can move the bias anywhere.
 */
export function initialPositionBias(heads: number, buckets: number, init: number): tf.Tensor2D {
  const b = new Float32Array(heads * buckets);
  for (let i = 0; i < heads; i++) b[i * buckets] = init;
  return tf.tensor2d(b, [heads, buckets]);
}


/**
 * Fresh bridges for every connection of `spec`, seeded `seed·1000 + k` so the CLI, the worker
 * and the shipped composition build the same bridges from the same seed.
 */
export function initBridges(spec: CompositionSpec, Da: number, Dg: number, seed: number, positionInit = SPEC_DEFAULTS.positionInit): BridgeWeights[] {
  const opts: BridgeOptions = {
    ...(spec.positionBias ? { position: { heads: spec.numHeads, buckets: spec.positionBias, init: positionInit } } : {}),
    ...(spec.inputNorm === 'whiten' ? { whiten: true } : {}),
    ...(spec.valueGate ? { gateHeads: spec.numHeads } : {}),
  };
  // the optional parts draw no random numbers: the other weights are the same with or without them
  return spec.connections.map((_, k) => initBridge(Da, Dg, spec.output, seed * 1000 + k, opts));
}

/** The trainable variables of a bridge: every tensor but the frozen statistics. */
export function bridgeVariables(w: BridgeWeights): tf.Variable[] {
  return BRIDGE_TENSORS.filter((t) => !t.frozen && w[t.field] !== undefined).map((t) => w[t.field]!);
}

/** Frees every tensor of a bridge, the frozen statistics included. */
export function disposeBridge(w: BridgeWeights): void {
  for (const t of BRIDGE_TENSORS) w[t.field]?.dispose();
}

/**
 * Keys and values from augmenting states: hAug [B, S, D_g] → k, v [B, h, S, hd]. With input
 * whitening the states are first mapped to (g − inMean)·inWhiten [B, S, D_g].
 */
export function bridgeKeysValues(w: BridgeWeights, hAug: tf.Tensor3D, heads: number): { k: tf.Tensor4D; v: tf.Tensor4D } {
  return tf.tidy(() => {
    const g = w.inWhiten ? linear(tf.sub(hAug, w.inMean!), w.inWhiten as tf.Tensor2D) : hAug; // [B, S, D_g]
    const p = linear(g as tf.Tensor3D, w.projW as tf.Tensor2D, w.projB as tf.Tensor1D); // [B, S, D_a]
    return {
      k: splitHeads(linear(p, w.kW as tf.Tensor2D, w.kB as tf.Tensor1D), heads),
      v: splitHeads(linear(p, w.vW as tf.Tensor2D, w.vB as tf.Tensor1D), heads),
    };
  });
}

/**
 * The anchor state the queries and the value gate read: hAnchor [B, T, D_a], RMS-normalised
 * when `queryNorm`.
 */
export function queryInput(hAnchor: tf.Tensor3D, queryNorm: boolean | undefined): tf.Tensor3D {
  return queryNorm ? rmsNormalize(hAnchor) : hAnchor;
}

/** Queries from the anchor's stream: xq = queryInput(hAnchor) [B, T, D_a] → [B, h, T, hd]. */
export function bridgeQueries(w: BridgeWeights, xq: tf.Tensor3D, heads: number): tf.Tensor4D {
  return tf.tidy(() => splitHeads(linear(xq, w.qW as tf.Tensor2D, w.qB as tf.Tensor1D), heads));
}

/** The per-head value gate: xq [B, T, D_a] → sigmoid(xq·gateW + gateB) as [B, h, T, 1]. */
export function valueGate(w: BridgeWeights, xq: tf.Tensor3D): tf.Tensor4D {
  return tf.tidy(() => {
    const g = tf.sigmoid(linear(xq, w.gateW as tf.Tensor2D, w.gateB as tf.Tensor1D)); // [B, T, h]
    return tf.expandDims(tf.transpose(g, [0, 2, 1]), 3) as tf.Tensor4D; // [B, h, T, 1]
  });
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
  opts: CrossAttentionOptions & { queryNorm?: boolean } = {},
): tf.Tensor3D {
  return tf.tidy(() => {
    const { queryNorm, ...attnOpts } = opts;
    const xq = queryInput(hAnchor, queryNorm); // [B, T, D_a]
    const q = bridgeQueries(w, xq, heads); // [B, h, T, hd]
    // the relative-position bias as its parameters [h, R]: the fused kernel forms it in-kernel
    let heads4 = crossAttention(q, kv.k, kv.v, w.posBias ? { ...attnOpts, positionBias: w.posBias } : attnOpts); // [B, h, T, hd]
    // the gate scales each head's output after the attention: fused kernels are unaffected
    if (w.gateW) heads4 = tf.mul(heads4, valueGate(w, xq));
    const a = mergeHeads(heads4); // [B, T, D_a]
    let out = linear(a, w.oW as tf.Tensor2D, w.oB as tf.Tensor1D);
    if (output === 'rmsnorm') {
      out = tf.mul(tf.mul(out, tf.rsqrt(tf.add(tf.mean(tf.square(out), -1, true), RMS_EPS))), w.normW!);
    }
    return out as tf.Tensor3D;
  });
}

import type { tf } from '../model/tf';

/** `[anchorLayer, augmentLayer]`: block outputs, 0-indexed; -1 is the embedding output (input of block 0). */
export type Connection = [number, number];

export type OutputVariant = 'zero-init' | 'rmsnorm';

/** What a composition is, apart from its trained weights (the official CALMConfig names). */
export interface CompositionSpec {
  connections: Connection[];
  numHeads: number; // h; D_a % h == 0
  output: OutputVariant;
  /**
   * R > 0: each bridge learns a relative-position bias of its attention scores, per head, for
   * offsets 0 … R−1 (anchor position − augmenting position; R−1 stands for "R−1 or more").
   * Absent or 0: the plain bridge of DESIGN §1. Only a bias: the mask stays causal.
   */
  positionBias?: number;
  /**
   * 'whiten': each bridge maps the augmenting states to (g − μ)·Σ^{-1/2}/√D_g before its
   * projection, with μ, Σ measured once on the training data (src/calm/whiten.ts) and frozen.
   * Dense augmenting states share a large offset and have very unequal scales, and Adam's
   * per-coordinate steps then barely move the projection. Absent or 'none': no such step.
   */
  inputNorm?: InputNorm;
  /** The anchor state that forms the queries (and the value gate) is RMS-normalised, no learned scale. */
  queryNorm?: boolean;
  /**
   * A per-head sigmoid gate on each head's attention output, computed from the (query-side)
   * anchor state: x-transformers' `gate_value_heads`. Starts at 0.5 (zero weight and bias).
   */
  valueGate?: boolean;
}

export type InputNorm = 'none' | 'whiten';

/**
 * One bridge's parameters (DESIGN §1). Kept in x·W layout `[in, out]` like GPT-2's Conv1D so
 * the forward multiplies without transposes; the bundle stores the transpose (nn.Linear `[out, in]`).
 */
export interface BridgeWeights {
  projW: tf.Variable; // [D_g, D_a]
  projB: tf.Variable; // [D_a]
  qW: tf.Variable; // [D_a, D_a]
  qB: tf.Variable; // [D_a]
  kW: tf.Variable;
  kB: tf.Variable;
  vW: tf.Variable;
  vB: tf.Variable;
  oW: tf.Variable; // zero at init for 'zero-init'
  oB: tf.Variable;
  normW?: tf.Variable; // [D_a], 'rmsnorm' only, init 1
  posBias?: tf.Variable; // [h, R]: learned relative-position bias of the scores (spec.positionBias = R)
  inMean?: tf.Variable; // [D_g], inputNorm 'whiten': FROZEN, the augmenting states' mean
  inWhiten?: tf.Variable; // [D_g, D_g], inputNorm 'whiten': FROZEN, Σ^{-1/2}/√D_g, applied as x·W (symmetric)
  gateW?: tf.Variable; // [D_a, h], valueGate: zero at init
  gateB?: tf.Variable; // [h], valueGate: zero at init
}

/**
 * The bundle's tensor names for bridge k, paired with the BridgeWeights field they hold.
 * `frozen`: statistics, never trained (not in the optimizer's list, not trainable parameters).
 */
export const BRIDGE_TENSORS: { field: keyof BridgeWeights; name: string; linear: boolean; frozen?: true }[] = [
  { field: 'projW', name: 'proj.weight', linear: true },
  { field: 'projB', name: 'proj.bias', linear: false },
  { field: 'qW', name: 'attn.q.weight', linear: true },
  { field: 'qB', name: 'attn.q.bias', linear: false },
  { field: 'kW', name: 'attn.k.weight', linear: true },
  { field: 'kB', name: 'attn.k.bias', linear: false },
  { field: 'vW', name: 'attn.v.weight', linear: true },
  { field: 'vB', name: 'attn.v.bias', linear: false },
  { field: 'oW', name: 'attn.o.weight', linear: true },
  { field: 'oB', name: 'attn.o.bias', linear: false },
  { field: 'normW', name: 'norm.weight', linear: false },
  { field: 'posBias', name: 'attn.pos_bias', linear: false },
  { field: 'inMean', name: 'in.mean', linear: false, frozen: true },
  { field: 'inWhiten', name: 'in.whiten', linear: false, frozen: true }, // stored as used, x·W
  { field: 'gateW', name: 'attn.gate.weight', linear: true },
  { field: 'gateB', name: 'attn.gate.bias', linear: false },
];

// The bridges' tensors; the composition spec's types are src/calm/spec.ts's.
import type { tf } from '../model/tf';

/**
 * One bridge's parameters (docs/design.md § CALM). Kept in x·W layout `[in, out]` like GPT-2's Conv1D so
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
  posBias?: tf.Variable; // [h, R]: learned relative-position bias of the scores (CompositionSpec.positionBias = R)
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

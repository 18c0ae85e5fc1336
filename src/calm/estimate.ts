// Sizes of a composition before it is built: trainable parameters, their memory and the
// optimizer's, a rough activation footprint per training step, and the cache of frozen work.
// All byte counts are float32 (4 bytes a value).

import type { ModelConfig } from '../model/causal-lm';
import type { CompositionSpec, OutputVariant } from './types';

const F32 = 4;

/**
 * Parameters of one bridge (docs/design.md § CALM): proj D_g·D_a + D_a, q/k/v/o 4·(D_a² + D_a), and the
 * RMSNorm scale D_a for 'rmsnorm' (compositionEstimate adds the optional parts:
 * bridgeOptionCounts).
 */
export function bridgeParameterCount(anchorWidth: number, augmentWidth: number, output: OutputVariant): number {
  const Da = anchorWidth;
  return augmentWidth * Da + Da + 4 * (Da * Da + Da) + (output === 'rmsnorm' ? Da : 0);
}

/**
 * The optional parts of one bridge: trainable h·R for a position bias and D_a·h + h for a value
 * gate; frozen D_g + D_g² for input whitening (statistics, never trained).
 */
export function bridgeOptionCounts(
  spec: Pick<CompositionSpec, 'numHeads' | 'positionBias' | 'inputNorm' | 'valueGate'>,
  anchorWidth: number,
  augmentWidth: number,
): { trainable: number; frozen: number } {
  const h = spec.numHeads;
  return {
    trainable: h * (spec.positionBias ?? 0) + (spec.valueGate ? anchorWidth * h + h : 0),
    frozen: spec.inputNorm === 'whiten' ? augmentWidth + augmentWidth * augmentWidth : 0,
  };
}

export interface CompositionEstimate {
  bridges: number; // one per connection
  perBridge: number; // parameters of one bridge (all bridges have the same size)
  trainableParameters: number;
  bridgeBytes: number; // the parameters, float32
  frozenBytes: number; // the bridges' frozen statistics (input whitening), float32: no optimizer state
  adamStateBytes: number; // Adam's two moments: 2 × bridgeBytes
  /**
   * A rough estimate, not a measurement: per bridge the projected K and V [B, T, D_a] × 2,
   * Q [B, T, D_a], the scores [B, h, T, T] and the output [B, T, D_a], summed over bridges.
   * It leaves out the frozen models' own activations, gradients and backend overheads.
   */
  activationBytesPerStep: number;
  /**
   * Frozen work cached once per example (docs/design.md § CALM): the augmenting hidden states at each
   * distinct connected augment layer [T, D_g], plus the anchor's residual stream entering
   * the first connected anchor layer [T, D_a].
   */
  cacheBytesPerExample: number;
  cacheBytes: number; // cacheBytesPerExample × numExamples
}

/**
 * Sizes for `spec` between `anchor` and `augment` at batch size B = `batch` and sequence
 * length T (numExamples defaults to 1).
 */
export function compositionEstimate(
  spec: CompositionSpec,
  anchor: ModelConfig,
  augment: ModelConfig,
  opts: { batch: number; T: number; numExamples?: number },
): CompositionEstimate {
  const { batch: B, T } = opts;
  const numExamples = opts.numExamples ?? 1;
  for (const [name, v] of [
    ['batch', B],
    ['T', T],
    ['numExamples', numExamples],
  ] as const) {
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`compositionEstimate: ${name} must be a non-negative integer, found ${v}`);
  }
  const Da = anchor.nEmbd;
  const Dg = augment.nEmbd;
  const h = spec.numHeads;
  const n = spec.connections.length;

  const options = bridgeOptionCounts(spec, Da, Dg);
  const perBridge = bridgeParameterCount(Da, Dg, spec.output) + options.trainable;
  const trainableParameters = perBridge * n;
  const bridgeBytes = trainableParameters * F32;

  const activationsPerBridge = 4 * B * T * Da + B * h * T * T; // K, V, Q, output; scores
  const augmentLayers = new Set(spec.connections.map(([, g]) => g)).size;
  const cachePerExample = n === 0 ? 0 : (augmentLayers * T * Dg + T * Da) * F32;

  return {
    bridges: n,
    perBridge,
    trainableParameters,
    bridgeBytes,
    frozenBytes: options.frozen * n * F32,
    adamStateBytes: 2 * bridgeBytes,
    activationBytesPerStep: n * activationsPerBridge * F32,
    cacheBytesPerExample: cachePerExample,
    cacheBytes: cachePerExample * numExamples,
  };
}

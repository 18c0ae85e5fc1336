// Sizes shown before anything is built: a model's parameter count from its config.json and
// a composition's trainable parameters and memory. The same formulas as src/calm/estimate.ts
// (which the UI thread may not import); tests/unit/store.test.ts checks that both agree.
// Byte counts are float32.
import type { CompositionInfo, Connection, OutputVariant } from '../worker/protocol';
import { KV_RECIPE } from '../tasks/recipe';
import type { ModelConfigSummary } from './models';

const F32 = 4;

/**
 * GPT-2: wte V·D + wpe P·D, per block two LayerNorms 4D, c_attn 3D²+3D, attention c_proj D²+D,
 * MLP D·I+I + I·D+D (I = n_inner, 4D by default), ln_f 2D, and V·D more for an LM head of its
 * own (untied, as the safetensors header says).
 */
export function modelParameterCount(c: ModelConfigSummary): number {
  const D = c.nEmbd;
  const I = c.nInner ?? 4 * D;
  const block = 4 * D + 3 * D * D + 3 * D + D * D + D + 2 * D * I + I + D;
  return c.vocabSize * D + c.nPositions * D + c.nLayer * block + 2 * D + (c.untiedHead ? c.vocabSize * D : 0);
}

/** One bridge: proj D_g·D_a + D_a, q/k/v/o 4·(D_a² + D_a), and the RMSNorm scale for 'rmsnorm'. */
export function bridgeParameterCount(anchorWidth: number, augmentWidth: number, output: OutputVariant): number {
  const Da = anchorWidth;
  return augmentWidth * Da + Da + 4 * (Da * Da + Da) + (output === 'rmsnorm' ? Da : 0);
}

export interface EstimateInput {
  anchor: ModelConfigSummary;
  augment: ModelConfigSummary;
  connections: readonly Connection[];
  numHeads: number;
  output: OutputVariant;
  batch: number;
  /** Sequence length; the UI uses the shorter context (an upper bound). */
  T: number;
  /** The bridges' optional parts; absent: the recipe's (RECIPE_BRIDGE), as the worker builds them. */
  positionBias?: number;
  inputNorm?: 'none' | 'whiten';
  valueGate?: boolean;
}

/** The recipe's bridge parameterisation, which the worker uses when the page names none. */
export const RECIPE_BRIDGE = {
  positionBias: KV_RECIPE.positionBias ?? 0,
  inputNorm: KV_RECIPE.inputNorm ?? 'none',
  queryNorm: KV_RECIPE.queryNorm ?? false,
  valueGate: KV_RECIPE.valueGate ?? false,
} as const;

/** CompositionInfo as the worker reports it, computed here so it changes as the mapping does. */
export function estimateComposition(x: EstimateInput): CompositionInfo {
  const Da = x.anchor.nEmbd;
  const Dg = x.augment.nEmbd;
  const n = x.connections.length;
  const h = x.numHeads;
  // a position bias h·R, a value gate D_a·h + h (trainable); input whitening D_g + D_g² (frozen)
  const R = x.positionBias ?? RECIPE_BRIDGE.positionBias;
  const gate = x.valueGate ?? RECIPE_BRIDGE.valueGate;
  const whiten = (x.inputNorm ?? RECIPE_BRIDGE.inputNorm) === 'whiten';
  const trainableParameters = n * (bridgeParameterCount(Da, Dg, x.output) + h * R + (gate ? Da * h + h : 0));
  const bridges = trainableParameters * F32;
  const stats = whiten ? n * (Dg + Dg * Dg) * F32 : 0;
  // Per bridge: K, V, Q and the output [B, T, D_a], and the scores [B, h, T, T].
  const activationsPerStep = n * (4 * x.batch * x.T * Da + x.batch * x.numHeads * x.T * x.T) * F32;
  // The augmenting states at each distinct connected layer [T, D_g] and the anchor's residual
  // stream entering the first connected layer [T, D_a], once per example.
  const augmentLayers = new Set(x.connections.map(([, g]) => g)).size;
  const cachePerExample = n === 0 ? 0 : (augmentLayers * x.T * Dg + x.T * Da) * F32;
  return { trainableParameters, memory: { bridges, stats, optimizer: 2 * bridges, activationsPerStep, cachePerExample } };
}

/** The head counts a bridge may have: the divisors of the anchor width D_a. */
export function headChoices(anchorWidth: number): number[] {
  const out: number[] = [];
  for (let h = 1; h <= anchorWidth; h++) if (anchorWidth % h === 0) out.push(h);
  return out;
}

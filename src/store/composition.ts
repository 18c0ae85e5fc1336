// The composition the worker holds: whether its bridges are built for the current
// configuration, their sizes, whether they are trained (so a change asks first), which
// bridges are switched off at inference, and a change waiting for the person's answer.
import type { StateCreator } from 'zustand';
import type { CompositionInfo, CompositionSettings } from '../worker/protocol';
import { SPEC_DEFAULTS, type ResolvedSpec } from '../calm/spec';
import type { Config } from './config';
import type { BuiltinComposition } from './models';

/** The part of the configuration that, changed, means fresh bridges. */
export type CompositionPatch = Partial<Pick<Config, 'anchor' | 'augment' | keyof ResolvedSpec>>;

/** The configuration's fields that, changed, mean fresh bridges: the models and the spec's. */
export const COMPOSITION_KEYS = ['anchor', 'augment', ...(Object.keys(SPEC_DEFAULTS) as (keyof ResolvedSpec)[])] as const;

/** The bridge options of `s`, SPEC_DEFAULTS filling those it leaves out (as the worker does). */
export function bridgeOptionsOf(s: CompositionSettings): Pick<ResolvedSpec, 'output' | 'positionBias' | 'positionInit' | 'inputNorm' | 'queryNorm' | 'valueGate'> {
  const d = SPEC_DEFAULTS;
  return {
    output: s.output ?? d.output,
    positionBias: s.positionBias ?? d.positionBias,
    positionInit: s.positionInit ?? d.positionInit,
    inputNorm: s.inputNorm ?? d.inputNorm,
    queryNorm: s.queryNorm ?? d.queryNorm,
    valueGate: s.valueGate ?? d.valueGate,
  };
}

/** A change that would throw trained bridges away, held until the person confirms. */
export type PendingChange =
  | { kind: 'config'; patch: CompositionPatch; what: string }
  | { kind: 'bundle'; composition: BuiltinComposition; what: string; then?: 'compare' };

export interface CompositionState {
  status: 'idle' | 'building' | 'ready' | 'error';
  /** settingsKey() of what the worker holds (or is building). */
  key?: string;
  /** The worker's figures for `key`. */
  info?: CompositionInfo;
  error?: string;
  /** True once the bridges have taken a training step or come from a bundle. */
  trained: boolean;
  /** Where trained bridges came from. */
  source?:
    | { kind: 'training' }
    | {
        kind: 'bundle';
        title: string;
        metrics?: Record<string, unknown>;
        training?: Record<string, unknown>;
        /** composition.json's alignment rule: present when the two models tokenize differently. */
        alignment?: string;
      };
  /** Bridges switched off at inference (ablation), by connection index. */
  disabled: number[];
}

export interface CompositionSlice {
  composition: CompositionState;
  pendingChange: PendingChange | null;
}

export const createCompositionSlice: StateCreator<CompositionSlice, [], [], CompositionSlice> = () => ({
  composition: { status: 'idle', trained: false, disabled: [] },
  pendingChange: null,
});

/**
 * One string per distinct composition, to tell whether the worker holds this one. The seed and
 * positionInit are left out: they only start fresh bridges (a bundle records neither), and
 * Train always starts from fresh ones.
 */
export function settingsKey(s: CompositionSettings): string {
  const { positionInit: _init, ...options } = bridgeOptionsOf(s);
  return JSON.stringify([s.anchor, s.augment, s.connections, s.numHeads, options]);
}

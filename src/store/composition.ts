// The composition the worker holds: whether its bridges are built for the current
// configuration, their sizes, whether they are trained (so a change asks first), which
// bridges are switched off at inference, and a change waiting for the person's answer.
import type { StateCreator } from 'zustand';
import type { CompositionInfo, CompositionSettings } from '../worker/protocol';
import type { Config } from './config';
import type { BuiltinComposition } from './models';

/** The part of the configuration that, changed, means fresh bridges. */
export type CompositionPatch = Partial<Pick<Config, 'anchor' | 'augment' | 'connections' | 'numHeads' | 'output'>>;

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
  source?: { kind: 'training' } | { kind: 'bundle'; title: string; metrics?: Record<string, unknown>; training?: Record<string, unknown> };
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
 * One string per distinct composition, to tell whether the worker holds this one. The seed
 * is left out: it only seeds fresh bridges, and Train always starts from fresh ones.
 */
export function settingsKey(s: CompositionSettings): string {
  return JSON.stringify([s.anchor, s.augment, s.connections, s.numHeads, s.output]);
}

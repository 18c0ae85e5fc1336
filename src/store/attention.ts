// Inside a bridge: which augmenting positions each anchor position reads, for one
// connection and prompt.
import type { StateCreator } from 'zustand';
import type { AttentionMap } from '../worker/protocol';

export interface AttentionState {
  /** Connection index (the bridge). */
  connection: number;
  /** A head index, or 'mean' for the average over heads. */
  head: number | 'mean';
  status: 'idle' | 'running' | 'done' | 'error';
  map?: AttentionMap;
  /** The prompt and connection `map` is for. */
  shown?: { prompt: string; connection: number };
  error?: string;
}

export interface AttentionSlice {
  attention: AttentionState;
}

export const createAttentionSlice: StateCreator<AttentionSlice, [], [], AttentionSlice> = () => ({
  attention: { connection: 0, head: 'mean', status: 'idle' },
});

/** The heatmap's [T][S] weights: one head's, or the mean over heads. */
export function headWeights(map: AttentionMap, head: number | 'mean'): number[][] {
  if (head !== 'mean') return map.weights[head] ?? [];
  const [first] = map.weights;
  if (!first) return [];
  return first.map((row, t) => row.map((_, s) => map.weights.reduce((sum, h) => sum + (h[t]?.[s] ?? 0), 0) / map.weights.length));
}

// Compare: one prompt, three columns (anchor alone, augmenting alone, composition), each a
// stream of tokens with their probabilities.
import type { StateCreator } from 'zustand';
import type { Column, TokenEvent } from '../worker/protocol';
import { heldOutExamples } from './examples';

export const COLUMNS: readonly Column[] = ['anchor', 'augment', 'composed'];

export interface ColumnOutput {
  status: 'idle' | 'waiting' | 'streaming' | 'done' | 'error';
  tokens: TokenEvent[];
  error?: string;
  /** Bridges that were switched off when the composition column ran. */
  disabled?: number[];
}

export interface CompareState {
  prompt: string;
  running: boolean;
  outputs: Record<Column, ColumnOutput>;
}

export interface CompareSlice {
  compare: CompareState;
}

const idle = (): ColumnOutput => ({ status: 'idle', tokens: [] });
export const idleOutputs = (): Record<Column, ColumnOutput> => ({ anchor: idle(), augment: idle(), composed: idle() });

export const createCompareSlice: StateCreator<CompareSlice, [], [], CompareSlice> = () => ({
  // A kv-arith prompt over held-out keys: the bridges never saw these keys.
  compare: { prompt: heldOutExamples(1)[0]?.prompt ?? '', running: false, outputs: idleOutputs() },
});

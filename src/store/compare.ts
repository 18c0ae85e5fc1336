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
  /** Answers to `prompt`: a new prompt empties them (they would answer another question). */
  outputs: Record<Column, ColumnOutput>;
  /** Bumped by each run and each prompt edit: tokens of an older run are dropped. */
  run: number;
  /** Which held-out prompt Start here last put in (0 first), or null before it was used. */
  startRound: number | null;
  /** Start here is opening the shipped composition (or asking first) before it compares. */
  starting: boolean;
}

export interface CompareSlice {
  compare: CompareState;
}

const idle = (): ColumnOutput => ({ status: 'idle', tokens: [] });
export const idleOutputs = (): Record<Column, ColumnOutput> => ({ anchor: idle(), augment: idle(), composed: idle() });

/** `c` with these columns emptied; a run still streaming is cut off (its tokens answered something else). */
export function withoutOutputs(c: CompareState, columns: readonly Column[] = COLUMNS): CompareState {
  const outputs = { ...c.outputs };
  for (const column of columns) outputs[column] = idle();
  return { ...c, outputs, run: c.running ? c.run + 1 : c.run };
}

export const createCompareSlice: StateCreator<CompareSlice, [], [], CompareSlice> = () => ({
  // A kv-arith prompt over held-out keys: the bridges never saw these keys.
  compare: { prompt: heldOutExamples(1)[0]?.prompt ?? '', running: false, outputs: idleOutputs(), run: 0, startRound: null, starting: false },
});

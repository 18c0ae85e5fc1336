// The examples the bridges train on (pasted text, parsed as the person types) and the
// held-out examples whose accuracy is charted while training. Defaults: the composition
// data of the `repro kv` recipe. Examples are not part of the link (config.ts).
import type { StateCreator } from 'zustand';
import type { Example } from '../worker/protocol';
import { KV_SPEC, makeExamples, makeKeyTable, type KeyTable } from '../tasks/kv';
import { formatExamples, parseExamples, type ParseError } from '../tasks/parse';
import { compositionExamples, KV_RECIPE } from '../tasks/recipe';

/** Seed of the default examples: the one `repro kv` uses by default. */
export const DATA_SEED = 0;
/** Pasted text past this is refused as a whole (parseExamples), long before the page would suffer. */
export const MAX_EXAMPLES = 50_000;

// Built when the module loads: the store's first state needs both (createExamplesSlice).
const KEY_TABLE: KeyTable = makeKeyTable(KV_SPEC);
const DEFAULT_EXAMPLES_TEXT = formatExamples(compositionExamples(KEY_TABLE, KV_RECIPE, DATA_SEED));

/** The key table of the key-value experiment (src/tasks/kv.ts), built once. */
export function keyTable(): KeyTable {
  return KEY_TABLE;
}

/** The default training examples as text: kv-arith over the composition keys, numeric mixed in. */
export function defaultExamplesText(): string {
  return DEFAULT_EXAMPLES_TEXT;
}

/** `n` kv-arith examples over held-out keys: can the composition do what it was never shown? */
export function heldOutExamples(n: number, seed = DATA_SEED): Example[] {
  return makeExamples('kv-arith', n, { seed: seed + 19, table: keyTable(), keys: 'held-out' });
}

export interface ExamplesState {
  /** The text in the Examples box. */
  text: string;
  /** Its examples, and every bad line with its number. */
  parsed: Example[];
  errors: ParseError[];
  /** Whether the text is the default (so "Restore" has nothing to do). */
  isDefault: boolean;
}

export interface ExamplesSlice {
  examples: ExamplesState;
}

export function examplesFromText(text: string): ExamplesState {
  const { examples, errors } = parseExamples(text, { maxExamples: MAX_EXAMPLES });
  return { text, parsed: examples, errors, isDefault: text === defaultExamplesText() };
}

export const createExamplesSlice: StateCreator<ExamplesSlice, [], [], ExamplesSlice> = () => ({
  examples: examplesFromText(defaultExamplesText()),
});

// The task side of the key-value experiment, in one place: its data and its training schedule.
// `repro kv`, `compose train`, the playground's default examples and the shipped default
// composition all read it; the composition it trains (connections, bridge options) is the
// spec's defaults, SPEC_DEFAULTS in src/calm/spec.ts (docs/design.md § Spec). Pure data and
// generators (no tfjs), so the UI thread can use it too.
import { makeExamples, type Example, type KeyTable } from './kv';
import { makeRng } from './rng';

export interface KVRecipe {
  steps: number;
  lr: number;
  batch: number;
  /** AdamW's decoupled weight decay on the bridges' matrices (default 0). */
  weightDecay?: number;
  /** Key-value training examples, over the composition keys only: kv-arith and kv-mixed. */
  kvArith: number;
  /** The share of those that are kv-mixed (one key among numbers), the rest kv-arith. */
  mixedShare?: number;
  /** numeric examples mixed in, as a share of all examples: keeps the anchor's own skill. */
  numericShare: number;
  /** examples per cell of the table. */
  evalN: number;
}

/**
 * The default recipe (docs/reproduction.md has the evidence behind each part). Half the
 * key-value examples put one key among numbers, and half of all examples are the anchor's own
 * arithmetic, so the bridge learns to change keys only.
 */
/** The seed every entry point starts from when none is given: the page, every CLI command and `repro kv`. */
export const DEFAULT_SEED = 0;

export const KV_RECIPE: KVRecipe = {
  steps: 750,
  lr: 1e-3,
  batch: 128,
  kvArith: 5000,
  mixedShare: 0.5,
  numericShare: 0.5,
  evalN: 500,
};

/** The composition data: kv-arith and kv-mixed over the composition keys, with numeric examples mixed in. */
export function compositionExamples(table: KeyTable, recipe: KVRecipe, seed: number): Example[] {
  const mixed = Math.round(recipe.kvArith * (recipe.mixedShare ?? 0));
  const kv = [
    ...makeExamples('kv-arith', recipe.kvArith - mixed, { seed: seed + 11, table, keys: 'composition' }),
    ...makeExamples('kv-mixed', mixed, { seed: seed + 12, table, keys: 'composition' }),
  ];
  const numeric = Math.round((recipe.kvArith * recipe.numericShare) / (1 - recipe.numericShare));
  const num = makeExamples('num-arith', numeric, { seed: seed + 13, table });
  return makeRng(seed + 17).shuffle([...kv, ...num]);
}

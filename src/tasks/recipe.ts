// The composition recipe of the key-value experiment, in one place: `repro kv`, the
// playground's default examples and the shipped default composition all read it. Pure data
// and generators (no tfjs), so the UI thread can use it too.
import { makeExamples, type Example, type KeyTable } from './kv';
import { makeRng } from './rng';

export type OutputVariant = 'zero-init' | 'rmsnorm';

export interface KVRecipe {
  connections: string;
  output: OutputVariant;
  numHeads?: number;
  /** R > 0: bridges learn a relative-position bias over offsets 0…R−1, starting at `positionInit` for offset 0. */
  positionBias?: number;
  positionInit?: number;
  steps: number;
  lr: number;
  batch: number;
  /** kv-arith training examples, over the composition keys only. */
  kvArith: number;
  /** numeric examples mixed in, as a share of all examples: keeps the anchor's own skill (TOY-KV.md). */
  numericShare: number;
  /** examples per cell of the table. */
  evalN: number;
}

/**
 * The default recipe. The bridges read the augmenting model's last block from the anchor's
 * embedding output and its first two blocks (TOY-KV.md: lower augmenting layers encode which
 * key it is, not its value).
 */
export const KV_RECIPE: KVRecipe = {
  connections: '-1:2,0:2,1:2',
  output: 'zero-init',
  steps: 600,
  lr: 2e-3,
  batch: 64,
  kvArith: 3000,
  numericShare: 0.25,
  evalN: 500,
};

/** The composition data: kv-arith over the composition keys, with numeric examples mixed in. */
export function compositionExamples(table: KeyTable, recipe: KVRecipe, seed: number): Example[] {
  const kv = makeExamples('kv-arith', recipe.kvArith, { seed: seed + 11, table, keys: 'composition' });
  const numeric = Math.round((recipe.kvArith * recipe.numericShare) / (1 - recipe.numericShare));
  const num = makeExamples('num-arith', numeric, { seed: seed + 13, table });
  return makeRng(seed + 17).shuffle([...kv, ...num]);
}

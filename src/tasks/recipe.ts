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
  /** 'whiten': bridges whiten the augmenting states with statistics of the training data (frozen). */
  inputNorm?: 'none' | 'whiten';
  /** The bridges' queries read the RMS-normalised anchor state. */
  queryNorm?: boolean;
  /** A per-head sigmoid gate on each bridge head's output, starting at 0.5. */
  valueGate?: boolean;
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
 * The default recipe (docs/reproduction.md has the evidence behind each part). One bridge reads
 * the augmenting model's last block after its final LayerNorm (`f`) into the anchor's embedding
 * output (-1), with a learned relative-position bias that starts each anchor position on its
 * own augmenting position. The bridge whitens the augmenting states (their shared offset and
 * unequal scales are what kept Adam from learning), normalises the anchor state its queries
 * read, and gates each head. Half the key-value examples put one key among numbers, and half
 * of all examples are the anchor's own arithmetic, so the bridge learns to change keys only.
 */
export const KV_RECIPE: KVRecipe = {
  connections: '-1:f',
  output: 'zero-init',
  positionBias: 4,
  positionInit: 5,
  inputNorm: 'whiten',
  queryNorm: true,
  valueGate: true,
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

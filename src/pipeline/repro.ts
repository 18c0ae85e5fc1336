// The paper's key-value experiment at toy scale, over the product's own pieces: compose two
// loaded models, make the composition data, train the bridges, and fill Table 1.
// The recipe's data and schedule live in src/tasks/recipe.ts, the composition's defaults in
// src/calm/spec.ts (docs/design.md § Spec).
import { tf } from '../model/tf';
import { composeModels, type ModelHandle } from '../calm/experiment';
import type { SpecSettings } from '../calm/spec';
import type { Composition } from '../calm/compose';
import { KV_SPEC, makeExamples, makeKeyTable } from '../tasks/kv';
import { KV_RECIPE, compositionExamples, type KVRecipe } from '../tasks/recipe';
import { trainComposition } from '../train/compose-train';
import { alignmentStability } from '../train/batch';
import type { TrainProgress, TrainResult } from '../train/loop';
import { compositionTokenizers, encodeForComposition, evaluateColumn, evaluateTable, type Table } from './evaluate';

export interface ReproResult {
  table: Table;
  chance: Record<keyof Table, number>;
  seconds: number; // the whole experiment
  trainSeconds: number; // bridge training, the frozen-work cache included
  /** Composed kv-arith on the composition keys (the bridges' own training keys): fit, against held-out generalisation. */
  compositionKeys: number;
  config: Record<string, unknown>;
  training: TrainResult & { cacheBytes: number; cacheSeconds: number };
  composition: Composition;
}

/** The whole experiment: bridges trained on kv-arith over the composition keys, then Table 1. */
export async function runKVRepro(
  anchor: ModelHandle,
  augment: ModelHandle,
  opts: {
    recipe?: KVRecipe;
    /** Changes to the spec's defaults (SPEC_DEFAULTS); none: the recipe's composition. */
    spec?: SpecSettings;
    seed: number;
    /** Compose even when the tokenizers differ, aligning them by characters (docs/design.md § Across tokenizers). */
    align?: boolean;
    signal?: AbortSignal;
    onProgress?: (p: TrainProgress) => void;
    onStage?: (stage: string) => void;
  },
): Promise<ReproResult> {
  const recipe = opts.recipe ?? KV_RECIPE;
  const t0 = performance.now();
  const table = makeKeyTable(KV_SPEC);
  const comp = composeModels(anchor, augment, { ...opts.spec, seed: opts.seed }, { align: opts.align });
  const tokenizers = compositionTokenizers(comp, anchor.tokenizer, augment.tokenizer);
  const data = encodeForComposition(comp, tokenizers, compositionExamples(table, recipe, opts.seed));
  opts.onStage?.(`training ${comp.bridges.length} bridges on ${data.length} examples`);
  const training = await trainComposition(comp, data, {
    batchSize: recipe.batch,
    steps: recipe.steps,
    lr: recipe.lr,
    weightDecay: recipe.weightDecay,
    seed: opts.seed,
    padId: anchor.tokenizer.padId ?? 0,
    signal: opts.signal,
    onProgress: opts.onProgress,
    progressEvery: 25,
  });
  if (training.stopped !== 'done') throw new Error(training.message ?? `training ${training.stopped}`);
  opts.onStage?.('evaluating');
  const { table: t, chance } = await evaluateTable(comp, tokenizers, table, recipe.evalN, opts.seed, { signal: opts.signal });
  const trainingKeys = makeExamples('kv-arith', recipe.evalN, { seed: opts.seed + 9002, table, keys: 'composition' });
  const compositionKeys = await evaluateColumn(comp, tokenizers, 'composed', trainingKeys, { signal: opts.signal });
  return {
    table: t,
    chance,
    compositionKeys,
    seconds: (performance.now() - t0) / 1000,
    trainSeconds: training.seconds + training.cacheSeconds,
    config: {
      anchor: anchor.name,
      augment: augment.name,
      ...recipe,
      ...comp.spec,
      ...(comp.alignment
        ? { alignment: comp.alignment, anchorTokenizer: anchor.tokenizer.label, augmentTokenizer: augment.tokenizer.label, alignmentStability: alignmentStability(data) }
        : {}),
      seed: opts.seed,
      keys: { total: KV_SPEC.numKeys, composition: table.compositionKeys.length, heldOut: table.heldOutKeys.length },
      trainingExamples: data.length,
      backend: tf.getBackend(),
    },
    training,
    composition: comp,
  };
}

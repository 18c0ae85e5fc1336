// The paper's key-value experiment at toy scale, over the product's own pieces: compose two
// loaded models, make the composition data, train the bridges, and fill Table 1.
// The recipe lives in src/tasks/recipe.ts: the CLI's `repro kv`, the playground's default
// examples and the shipped default composition all read it.
import { tf } from '../model/tf';
import { GPT } from '../model/gpt';
import type { GPTConfig } from '../model/config';
import { cachedDecoder, type Decoder } from '../model/sampling';
import { Tokenizer, compareVocabularies } from '../tokenizer';
import { KV_SPEC, makeKeyTable, makeExamples, answerChance, type Example, type KeyTable, type TaskName } from '../tasks/kv';
import { KV_RECIPE, compositionExamples, type KVRecipe } from '../tasks/recipe';
import { encodeExamples } from '../train/batch';
import { exactMatch } from '../train/evaluate';
import { trainComposition } from '../train/compose-train';
import type { TrainProgress, TrainResult } from '../train/loop';
import { Composition, composedDecoder } from './compose';
import { initBridges } from './bridge';
import { parseConnections, validateHeads } from './connections';
import { CompositionError } from './errors';
import type { CompositionSpec, InputNorm, OutputVariant } from './types';
export { KV_RECIPE, compositionExamples, type KVRecipe };

/** A model ready to compose: its config, forward pass and tokenizer. */
export interface ModelHandle {
  name: string; // built-in id or folder, as the user named it
  model: GPT;
  tokenizer: Tokenizer;
}

export interface ComposeSettings {
  connections: string; // `uniform:N`, `every:K` or `0:1,3:3`
  numHeads?: number; // default: the anchor's heads
  output: OutputVariant;
  seed: number;
  positionBias?: number; // R relative-position buckets per bridge (0: none)
  positionInit?: number; // the initial bias at offset 0 (default 5)
  inputNorm?: InputNorm; // 'whiten': frozen whitening of the augmenting states, measured before training
  queryNorm?: boolean; // queries (and the value gate) read the RMS-normalised anchor state
  valueGate?: boolean; // a per-head sigmoid gate on each head's attention output
}

/** Checks that two models can be composed and builds fresh bridges. */
export function composeModels(anchor: ModelHandle, augment: ModelHandle, s: ComposeSettings): Composition {
  const cmp = compareVocabularies(anchor.tokenizer, augment.tokenizer);
  if (!cmp.same) {
    throw new CompositionError('model-mismatch', `cannot compose ${anchor.name} with ${augment.name}: ${cmp.message}`);
  }
  const a: GPTConfig = anchor.model.config;
  const g: GPTConfig = augment.model.config;
  const connections = parseConnections(s.connections, a.nLayer, g.nLayer);
  const numHeads = s.numHeads ?? a.nHead;
  validateHeads(numHeads, a.nEmbd);
  const R = s.positionBias ?? 0;
  if (!Number.isInteger(R) || R < 0 || R > 4096) throw new CompositionError('bad-preset', `the position bias needs 0–4096 buckets, got ${R}`);
  if (s.inputNorm !== undefined && s.inputNorm !== 'none' && s.inputNorm !== 'whiten') {
    throw new CompositionError('bad-preset', `inputNorm must be "none" or "whiten", got ${JSON.stringify(s.inputNorm)}`);
  }
  const spec: CompositionSpec = {
    connections,
    numHeads,
    output: s.output,
    ...(R > 0 ? { positionBias: R } : {}),
    ...(s.inputNorm === 'whiten' ? { inputNorm: 'whiten' as const } : {}),
    ...(s.queryNorm ? { queryNorm: true } : {}),
    ...(s.valueGate ? { valueGate: true } : {}),
  };
  const bridges = initBridges(spec, a.nEmbd, g.nEmbd, s.seed, s.positionInit);
  return new Composition(anchor.model, augment.model, spec, bridges);
}

export type Column = 'anchor' | 'augment' | 'composed';
export type Table = Record<'kv-subs' | 'num-arith' | 'kv-arith', Record<Column, number>>;

/** Which keys each row of the table is evaluated on: kv-arith on held-out keys only. */
export const TABLE_ROWS: { task: TaskName & keyof Table; keys: 'held-out' | 'all' }[] = [
  { task: 'kv-subs', keys: 'held-out' },
  { task: 'num-arith', keys: 'all' },
  { task: 'kv-arith', keys: 'held-out' },
];

export function codecOf(t: Tokenizer) {
  if (t.eosId === undefined) throw new Error(`the tokenizer ${t.label} has no end-of-sequence token`);
  return { encode: (s: string) => t.encode(s), decode: (ids: number[]) => t.decode(ids), eosId: t.eosId };
}

/** Exact-match accuracy of one column on examples. */
export function evaluateColumn(comp: Composition, tokenizer: Tokenizer, column: Column, examples: Example[], signal?: AbortSignal): number {
  const make: (B: number) => Decoder =
    column === 'anchor'
      ? (B) => cachedDecoder(comp.anchor, B)
      : column === 'augment'
        ? (B) => cachedDecoder(comp.augment, B)
        : (B) => composedDecoder(comp, B);
  const maxLength = Math.min(comp.anchor.config.nPositions, comp.augment.config.nPositions);
  return exactMatch(make, codecOf(tokenizer), examples, { maxLength, signal }).accuracy;
}

/** Table 1 at toy scale: tasks × anchor / augmenting / composition, plus each row's chance. */
export function evaluateTable(
  comp: Composition,
  tokenizer: Tokenizer,
  table: KeyTable,
  n: number,
  seed: number,
  signal?: AbortSignal,
): { table: Table; chance: Record<keyof Table, number> } {
  const out = {} as Table;
  const chance = {} as Record<keyof Table, number>;
  for (const row of TABLE_ROWS) {
    const examples = makeExamples(row.task, n, { seed: seed + 9001, table, keys: row.keys });
    chance[row.task] = answerChance(examples).share;
    out[row.task] = {
      anchor: evaluateColumn(comp, tokenizer, 'anchor', examples, signal),
      augment: evaluateColumn(comp, tokenizer, 'augment', examples, signal),
      composed: evaluateColumn(comp, tokenizer, 'composed', examples, signal),
    };
  }
  return { table: out, chance };
}

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
    seed: number;
    signal?: AbortSignal;
    onProgress?: (p: TrainProgress) => void;
    onStage?: (stage: string) => void;
  },
): Promise<ReproResult> {
  const recipe = opts.recipe ?? KV_RECIPE;
  const t0 = performance.now();
  const table = makeKeyTable(KV_SPEC);
  const comp = composeModels(anchor, augment, {
    connections: recipe.connections,
    numHeads: recipe.numHeads,
    output: recipe.output,
    seed: opts.seed,
    positionBias: recipe.positionBias,
    positionInit: recipe.positionInit,
    inputNorm: recipe.inputNorm,
    queryNorm: recipe.queryNorm,
    valueGate: recipe.valueGate,
  });
  const codec = codecOf(anchor.tokenizer);
  const maxLength = Math.min(anchor.model.config.nPositions, augment.model.config.nPositions);
  const data = encodeExamples(codec, compositionExamples(table, recipe, opts.seed), maxLength);
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
  const { table: t, chance } = evaluateTable(comp, anchor.tokenizer, table, recipe.evalN, opts.seed, opts.signal);
  const trainingKeys = makeExamples('kv-arith', recipe.evalN, { seed: opts.seed + 9002, table, keys: 'composition' });
  const compositionKeys = evaluateColumn(comp, anchor.tokenizer, 'composed', trainingKeys, opts.signal);
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
      connections: comp.spec.connections,
      numHeads: comp.spec.numHeads,
      seed: opts.seed,
      keys: { total: KV_SPEC.numKeys, composition: table.compositionKeys.length, heldOut: table.heldOutKeys.length },
      trainingExamples: data.length,
      backend: tf.getBackend(),
    },
    training,
    composition: comp,
  };
}

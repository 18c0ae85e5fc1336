// `calm repro kv`: the paper's key-value experiment at toy scale, from the built-in models.
import { disposeBridge } from '../../calm/bridge';
import { runKVRepro } from '../../pipeline/repro';
import { TABLE_ROWS, type Column } from '../../pipeline/evaluate';
import { DEFAULT_SEED, KV_RECIPE, type KVRecipe } from '../../tasks/recipe';
import { SPEC_DEFAULTS, type SpecSettings } from '../../calm/spec';
import { PAPER_TABLE_1 } from '../../tasks/paper';
import { intOption, numberOption, stringOption, type Command } from '../command';
import { percent, printJson, printText, progress, round, UsageError } from '../output';
import { resolveModel, type ResolvedModel } from '../resolve';
import { handleOf, modelRef, writeBundle } from '../bundle-io';

const PAPER: Record<string, Record<Column, number>> = PAPER_TABLE_1;

export const command: Command = {
  name: 'repro',
  summary: "the paper's key-value experiment (Table 1) at toy scale, from the built-in models",
  positionals: 'kv',
  options: {
    seed: { type: 'string', value: 'S', description: `seed of bridges, data, batches and evaluation examples (default ${DEFAULT_SEED}, as the playground)` },
    steps: { type: 'string', value: 'N', description: `bridge training steps (default ${KV_RECIPE.steps})` },
    lr: { type: 'string', value: 'X', description: `peak learning rate (default ${KV_RECIPE.lr})` },
    n: { type: 'string', value: 'N', description: `examples per cell of the table (default ${KV_RECIPE.evalN})` },
    anchor: { type: 'string', value: 'ID|DIR', description: 'the anchor (default arith-tiny)' },
    augment: { type: 'string', value: 'ID|DIR', description: 'the augmenting model (default kv-tiny)' },
    out: { type: 'string', value: 'DIR', description: 'also write the trained composition as a bundle' },
    align: {
      type: 'boolean',
      description:
        'compose models whose tokenizers differ, aligning them by characters, e.g. --augment kv-letters-tiny (keys spelled in letters; docs/reproduction.md § Across tokenizers)',
    },
    recipe: {
      type: 'string',
      value: 'JSON',
      description:
        'recipe or spec fields to change for an ablation, e.g. \'{"inputNorm":"none","valueGate":false,"steps":300}\' (src/tasks/recipe.ts and src/calm/spec.ts name them)',
    },
  },
  examples: ['repro kv', 'repro kv --json --seed 2', 'repro kv --augment kv-letters-tiny --align --json', 'repro kv --out public/models/compositions/kv-default'],
  async run({ values, positionals, json, backend }) {
    if (positionals.length !== 1 || positionals[0] !== 'kv') throw new UsageError('repro knows one experiment: calm repro kv');
    const seed = intOption(values, 'seed', DEFAULT_SEED);
    const changes = recipeChanges(stringOption(values, 'recipe'));
    const changed = { ...KV_RECIPE, ...changes.recipe };
    const recipe = {
      ...changed,
      steps: intOption(values, 'steps', changed.steps, 1),
      lr: numberOption(values, 'lr', changed.lr, 0),
      evalN: intOption(values, 'n', changed.evalN, 1),
    };
    const t0 = performance.now();
    const anchor = await resolveModel(stringOption(values, 'anchor') ?? 'arith-tiny', { backend, tokenizer: 'required', command: 'repro' });
    let augment: ResolvedModel | undefined;
    try {
      augment = await resolveModel(stringOption(values, 'augment') ?? 'kv-tiny', { backend, tokenizer: 'required', command: 'repro' });
      const r = await runKVRepro(handleOf(anchor), handleOf(augment), {
        recipe,
        spec: changes.spec,
        seed,
        align: values.align === true,
        onStage: (s) => progress(s),
        onProgress: (p) => progress(`step ${p.step}/${p.steps} loss ${p.loss.toFixed(4)} ${p.stepsPerSecond.toFixed(2)} steps/s ETA ${p.etaSeconds.toFixed(0)} s`),
      });
      const seconds = (performance.now() - t0) / 1000;
      const out = stringOption(values, 'out');
      if (out) {
        await writeBundle(
          out,
          r.composition,
          {
            anchor: modelRef(anchor, out),
            augment: modelRef(augment, out),
            training: { steps: r.training.steps, lr: recipe.lr, batch: recipe.batch, seed, task: 'kv-arith', seconds: round(r.trainSeconds, 1), recipe },
            metrics: { table: r.table, chance: r.chance, n: recipe.evalN, eval_seed: seed },
          },
          { anchor: anchor.tokenizer!, augment: augment.tokenizer! },
        );
        progress(`wrote ${out}`);
      }
      r.composition.bridges.forEach(disposeBridge); // the frozen statistics too
      if (json) {
        printJson({ table: r.table, chance: r.chance, composition_keys: r.compositionKeys, seconds: round(seconds, 1), train_seconds: round(r.trainSeconds, 1), config: r.config, paper: PAPER });
        return;
      }
      const lines = [
        `Table 1 at toy scale (exact match; kv-subs and kv-arith on held-out keys), seed ${seed}:`,
        `${'task'.padEnd(10)} ${'anchor'.padStart(8)} ${'augmenting'.padStart(11)} ${'composed'.padStart(9)}   chance   paper (anchor/aug/CALM)`,
        ...TABLE_ROWS.map(({ task }) => {
          const row = r.table[task];
          const p = PAPER[task];
          return `${task.padEnd(10)} ${percent(row.anchor).padStart(8)} ${percent(row.augment).padStart(11)} ${percent(row.composed).padStart(9)}   ${percent(r.chance[task]).padStart(6)}   ${percent(p.anchor)} / ${percent(p.augment)} / ${percent(p.composed)}`;
        }),
        `kv-arith on the composition keys (the bridges' training keys): composed ${percent(r.compositionKeys)}`,
        `bridge training ${r.trainSeconds.toFixed(0)} s; whole run ${seconds.toFixed(0)} s`,
      ];
      printText(lines.join('\n'));
    } finally {
      anchor.dispose();
      augment?.dispose();
    }
  },
};

/** `--recipe JSON`: an object of KVRecipe fields and spec fields (SPEC_DEFAULTS's names), each of a known name. */
function recipeChanges(text: string | undefined): { recipe: Partial<KVRecipe>; spec: SpecSettings } {
  if (text === undefined) return { recipe: {}, spec: {} };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError(`--recipe must be a JSON object, got ${JSON.stringify(text)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new UsageError('--recipe must be a JSON object of recipe fields');
  const recipeFields = new Set([...Object.keys(KV_RECIPE), 'weightDecay', 'mixedShare']);
  const specFields = new Set(Object.keys(SPEC_DEFAULTS));
  const out: { recipe: Record<string, unknown>; spec: Record<string, unknown> } = { recipe: {}, spec: {} };
  for (const [k, v] of Object.entries(parsed)) {
    if (recipeFields.has(k)) out.recipe[k] = v;
    else if (specFields.has(k)) out.spec[k] = v;
    else throw new UsageError(`--recipe: unknown field '${k}'; fields: ${[...recipeFields, ...specFields].join(', ')}`);
  }
  return out as { recipe: Partial<KVRecipe>; spec: SpecSettings };
}

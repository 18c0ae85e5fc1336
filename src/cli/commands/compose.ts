// `calm compose train|eval|generate`: train CALM bridges between two models and use them.
import { readFile } from 'node:fs/promises';
import { disposeBridge } from '../../calm/bridge';
import { composeModels } from '../../calm/experiment';
import { generate } from '../../pipeline/decode';
import { alignmentStability } from '../../train/batch';
import { columnDecoder, columnTokenizer, compositionTokenizers, encodeForComposition, evaluateColumn, type Column } from '../../pipeline/evaluate';
import { INPUT_NORMS, MAX_POSITION_BIAS, OUTPUT_VARIANTS, SPEC_DEFAULTS, compositionEstimate, describeSpec, specToJson } from '../../calm/spec';
import { answerChance, makeExamples, makeKeyTable, KV_SPEC, TASKS, KEY_SETS, type Example, type KeySet, type TaskName } from '../../tasks';
import { DEFAULT_SEED, KV_RECIPE, compositionExamples } from '../../tasks/recipe';
import { parseExamplesStrict } from '../../tasks/parse';
import { trainComposition } from '../../train/compose-train';
import { choiceOption, intOption, numberOption, requiredString, stringOption, type Command, type CommandArgs, type OptionValues } from '../command';
import { compactCount, percent, printJson, printText, progress, round, UsageError } from '../output';
import { resolveModel, type ResolvedModel } from '../resolve';
import { handleOf, loadBundle, modelRef, writeBundle } from '../bundle-io';

const COLUMNS: readonly Column[] = ['anchor', 'augment', 'composed'];

export const command: Command = {
  name: 'compose',
  summary: 'train CALM bridges between an anchor and an augmenting model, evaluate and generate with them',
  positionals: 'train|eval|generate',
  options: {
    anchor: { type: 'string', value: 'ID|DIR', description: 'train: the anchor model' },
    augment: { type: 'string', value: 'ID|DIR', description: 'train: the augmenting model' },
    connections: { type: 'string', value: 'uniform:N|every:K|0:1,3:3', description: `train: anchor:augment layer pairs (-1 = embedding output; default ${SPEC_DEFAULTS.connections})` },
    heads: { type: 'string', value: 'H', description: "train: cross-attention heads (default: the anchor's)" },
    output: { type: 'string', value: OUTPUT_VARIANTS.join('|'), description: `train: the bridge output variant (default ${SPEC_DEFAULTS.output})` },
    'position-bias': { type: 'string', value: 'R', description: `train: relative-position buckets of each bridge's scores, 0 for none (default ${SPEC_DEFAULTS.positionBias})` },
    'position-init': { type: 'string', value: 'X', description: `train: the position bias a fresh bridge starts with at offset 0 (default ${SPEC_DEFAULTS.positionInit})` },
    'input-norm': { type: 'string', value: INPUT_NORMS.join('|'), description: `train: whiten the augmenting states with statistics of the training data, frozen (default ${SPEC_DEFAULTS.inputNorm})` },
    'query-norm': { type: 'boolean', description: `train: the queries read the RMS-normalised anchor state (default ${SPEC_DEFAULTS.queryNorm ? 'on' : 'off'})` },
    'no-query-norm': { type: 'boolean', description: 'train: the queries read the anchor state as it is' },
    'value-gate': { type: 'boolean', description: `train: a per-head sigmoid gate on each head's attention output (default ${SPEC_DEFAULTS.valueGate ? 'on' : 'off'})` },
    'no-value-gate': { type: 'boolean', description: 'train: no value gate' },
    align: {
      type: 'boolean',
      description: 'train: compose models whose tokenizers differ, aligning them by characters (each reads its own tokenization; docs/design.md § Across tokenizers)',
    },
    task: { type: 'string', value: TASKS.join('|'), description: 'train: built-in training data over the composition keys; eval: the task' },
    data: { type: 'string', value: 'FILE', description: 'train: examples, one "prompt => completion" per line or JSONL' },
    steps: { type: 'string', value: 'N', description: `train: optimizer steps (default ${KV_RECIPE.steps})` },
    lr: { type: 'string', value: 'X', description: `train: peak learning rate (default ${KV_RECIPE.lr})` },
    batch: { type: 'string', value: 'B', description: `train: batch size (default ${KV_RECIPE.batch})` },
    seed: { type: 'string', value: 'S', description: `seed of bridges, batches and examples (default ${DEFAULT_SEED}, as the playground)` },
    out: { type: 'string', value: 'DIR', description: 'train: where to write the bundle' },
    bundle: { type: 'string', value: 'DIR|ZIP', description: 'eval, generate: a bundle folder, or the .calm.zip the playground exports' },
    n: { type: 'string', value: 'N', description: 'eval: examples (default 200)' },
    keys: { type: 'string', value: KEY_SETS.join('|'), description: 'eval: keys of the examples (default held-out)' },
    prompt: { type: 'string', value: 'TEXT', description: 'generate: the prompt' },
    only: { type: 'string', value: COLUMNS.join('|'), description: 'generate: one column instead of all three' },
    'max-tokens': { type: 'string', value: 'N', description: 'generate: new tokens at most (default 16)' },
  },
  examples: [
    'compose train --anchor arith-tiny --augment kv-tiny --connections -1:2,0:2,1:2 --task kv-arith --out out/kv',
    'compose train --anchor arith-tiny --augment kv-tiny --connections uniform:2 --data examples.txt --steps 200 --out out/mine',
    'compose train --anchor arith-tiny --augment kv-tiny --connections=-1:f --position-bias 0 --input-norm none --no-query-norm --no-value-gate --task kv-arith --out out/kv-plain',
    'compose eval --bundle out/kv --task kv-arith --json',
    'compose generate --bundle out/kv --prompt "abc+qdx-kkr="',
  ],
  async run(args) {
    const [sub, ...extra] = args.positionals;
    if (extra.length) throw new UsageError(`compose: unexpected ${JSON.stringify(extra.join(' '))}`);
    if (sub === 'train') return train(args);
    if (sub === 'eval') return evaluate(args);
    if (sub === 'generate') return generateAll(args);
    throw new UsageError(`compose needs train, eval or generate${sub ? `, not '${sub}'` : ''} (calm compose --help)`);
  },
};

/** `--NAME` on, `--no-NAME` off, neither: `fallback`. */
function flagOption(values: OptionValues, name: string, fallback: boolean): boolean {
  const on = values[name] === true;
  const off = values[`no-${name}`] === true;
  if (on && off) throw new UsageError(`--${name} and --no-${name} contradict each other`);
  return on ? true : off ? false : fallback;
}

function need(values: CommandArgs['values'], name: string, sub: string): string {
  return requiredString(values, name, `compose ${sub}`);
}

async function readExamples(file: string): Promise<Example[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`, { cause: e });
  }
  try {
    return parseExamplesStrict(text);
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`, { cause: e });
  }
}

async function train({ values, json, backend }: CommandArgs): Promise<void> {
  const out = need(values, 'out', 'train');
  const anchorId = need(values, 'anchor', 'train');
  const augmentId = need(values, 'augment', 'train');
  const taskText = stringOption(values, 'task');
  const dataFile = stringOption(values, 'data');
  if ((taskText === undefined) === (dataFile === undefined)) throw new UsageError('compose train needs exactly one of --task T and --data FILE');
  if (taskText !== undefined && !(TASKS as readonly string[]).includes(taskText)) {
    throw new UsageError(`--task must be one of ${TASKS.join(', ')}, got ${JSON.stringify(taskText)}`);
  }
  const seed = intOption(values, 'seed', DEFAULT_SEED);
  const steps = intOption(values, 'steps', KV_RECIPE.steps, 1);
  const lr = numberOption(values, 'lr', KV_RECIPE.lr, 0);
  const batch = intOption(values, 'batch', KV_RECIPE.batch, 1);
  // the spec: SPEC_DEFAULTS where an option is not given, as the page
  const spec = {
    connections: stringOption(values, 'connections') ?? SPEC_DEFAULTS.connections,
    numHeads: stringOption(values, 'heads') === undefined ? undefined : intOption(values, 'heads', 1, 1),
    output: choiceOption(values, 'output', OUTPUT_VARIANTS, SPEC_DEFAULTS.output),
    positionBias: intOption(values, 'position-bias', SPEC_DEFAULTS.positionBias, 0, MAX_POSITION_BIAS),
    positionInit: numberOption(values, 'position-init', SPEC_DEFAULTS.positionInit),
    inputNorm: choiceOption(values, 'input-norm', INPUT_NORMS, SPEC_DEFAULTS.inputNorm),
    queryNorm: flagOption(values, 'query-norm', SPEC_DEFAULTS.queryNorm),
    valueGate: flagOption(values, 'value-gate', SPEC_DEFAULTS.valueGate),
  };

  // Read the data before loading anything: a bad line fails at once.
  const table = makeKeyTable(KV_SPEC);
  const examples: Example[] = dataFile
    ? await readExamples(dataFile)
    : taskText === 'kv-arith'
      ? compositionExamples(table, KV_RECIPE, seed)
      : makeExamples(taskText as TaskName, KV_RECIPE.kvArith, { seed: seed + 11, table, keys: 'composition' });

  const anchor = await resolveModel(anchorId, { backend, tokenizer: 'required', command: 'compose train' });
  let augment: ResolvedModel | undefined;
  try {
    augment = await resolveModel(augmentId, { backend, tokenizer: 'required', command: 'compose train' });
    const comp = composeModels(handleOf(anchor), handleOf(augment), { ...spec, seed }, { align: values.align === true });
    const maxLength = Math.min(anchor.config.nPositions, augment.config.nPositions);
    const tokenizers = compositionTokenizers(comp, anchor.tokenizer!, augment.tokenizer!);
    const data = encodeForComposition(comp, tokenizers, examples);
    const est = compositionEstimate(comp.spec, anchor.config, augment.config, { batch, T: maxLength, numExamples: data.length });
    const stability = alignmentStability(data);
    if (stability.unstable > 0) {
      progress(
        `${stability.unstable} of ${stability.positions} anchor positions tokenize otherwise on the augmenting side when the text ends at them (a merge across their end); ` +
          'each reads its own prefix\'s tokenization, whose tail the frozen cache runs once (docs/design.md § Across tokenizers)',
      );
    }
    progress(
      `${anchor.name} ← ${augment.name}: ${comp.bridges.length} bridges (${describeSpec(comp.spec)}), ` +
        `${compactCount(est.trainableParameters)} trainable parameters; ${data.length} examples, ${steps} steps`,
    );
    const r = await trainComposition(comp, data, {
      steps,
      lr,
      batchSize: batch,
      seed,
      padId: anchor.tokenizer!.padId ?? 0,
      progressEvery: 25,
      onCacheProgress: (d, t) => d === t && progress(`cached the frozen work of ${t} examples`),
      onProgress: (p) => progress(`step ${p.step}/${p.steps} loss ${p.loss.toFixed(4)} ${p.stepsPerSecond.toFixed(2)} steps/s ETA ${p.etaSeconds.toFixed(0)} s`),
    });
    if (r.stopped === 'non-finite') throw new Error(r.message);
    const metrics: Record<string, number> = { final_loss: round(r.losses.at(-1) ?? NaN) };
    if (taskText === 'kv-arith') {
      const heldOut = makeExamples('kv-arith', 200, { seed: seed + 9001, table, keys: 'held-out' });
      metrics['kv-arith_held_out'] = await evaluateColumn(comp, tokenizers, 'composed', heldOut);
    }
    await writeBundle(
      out,
      comp,
      {
        anchor: modelRef(anchor, out),
        augment: modelRef(augment, out),
        training: { steps: r.steps, lr, batch, seed, ...(taskText ? { task: taskText } : { data: dataFile }), seconds: round(r.seconds + r.cacheSeconds, 1) },
        metrics,
      },
      { anchor: anchor.tokenizer!, augment: augment.tokenizer! },
    );
    const report = {
      bundle: out,
      ...specToJson(comp.spec),
      trainable_parameters: est.trainableParameters,
      steps: r.steps,
      seconds: round(r.seconds + r.cacheSeconds, 2),
      cache_seconds: round(r.cacheSeconds, 2),
      metrics,
    };
    if (json) printJson(report);
    else printText(`wrote ${out} (${r.steps} steps in ${report.seconds} s; ${JSON.stringify(metrics)})`);
    comp.bridges.forEach(disposeBridge); // the frozen statistics too
  } finally {
    anchor.dispose();
    augment?.dispose();
  }
}

async function evaluate({ values, json, backend }: CommandArgs): Promise<void> {
  const dir = need(values, 'bundle', 'eval');
  const taskText = need(values, 'task', 'eval');
  if (!(TASKS as readonly string[]).includes(taskText)) throw new UsageError(`--task must be one of ${TASKS.join(', ')}, got ${JSON.stringify(taskText)}`);
  const n = intOption(values, 'n', 200, 1, 100_000);
  const keys = choiceOption<KeySet>(values, 'keys', KEY_SETS, 'held-out');
  const seed = intOption(values, 'seed', DEFAULT_SEED);
  const b = await loadBundle(dir, backend);
  try {
    const examples = makeExamples(taskText as TaskName, n, { seed, table: makeKeyTable(KV_SPEC), keys });
    const result: Record<Column, number> = { anchor: 0, augment: 0, composed: 0 };
    for (const c of COLUMNS) {
      progress(`${c}: ${n} ${taskText} examples (keys ${keys})`);
      result[c] = await evaluateColumn(b.comp, compositionTokenizers(b.comp, b.anchor.tokenizer!, b.augment.tokenizer!), c, examples);
    }
    const chance = answerChance(examples).share;
    if (json) printJson({ bundle: dir, task: taskText, keys, n, seed, accuracy: result.composed, columns: result, chance });
    else printText(`${taskText} (keys ${keys}, n ${n}): composed ${percent(result.composed)}, anchor ${percent(result.anchor)}, augmenting ${percent(result.augment)}; chance ${percent(chance)}`);
  } finally {
    b.dispose();
  }
}

async function generateAll({ values, json, backend }: CommandArgs): Promise<void> {
  const dir = need(values, 'bundle', 'generate');
  const prompt = need(values, 'prompt', 'generate');
  const only = stringOption(values, 'only');
  if (only !== undefined && !(COLUMNS as readonly string[]).includes(only)) throw new UsageError(`--only must be one of ${COLUMNS.join(', ')}, got ${JSON.stringify(only)}`);
  const maxTokens = intOption(values, 'max-tokens', 16, 0);
  const b = await loadBundle(dir, backend);
  try {
    const tokenizers = compositionTokenizers(b.comp, b.anchor.tokenizer!, b.augment.tokenizer!);
    const context = Math.min(b.anchor.config.nPositions, b.augment.config.nPositions);
    const columns = only ? [only as Column] : COLUMNS;
    const outputs: Partial<Record<Column, string>> = {};
    for (const c of columns) {
      const tokenizer = columnTokenizer(tokenizers, c);
      const ids = tokenizer.encode(prompt);
      if (ids.length >= context) throw new Error(`the prompt is ${ids.length} tokens but the context is ${context}`);
      const decoder = columnDecoder(b.comp, c, tokenizers)(1);
      try {
        outputs[c] = (await generate(decoder, ids, { maxTokens, eosId: tokenizer.eosId, maxLength: context, decode: (t) => tokenizer.decode(t) })).text;
      } finally {
        decoder.dispose();
      }
    }
    if (json) printJson({ bundle: dir, prompt, outputs });
    else printText(columns.map((c) => `${(c === 'augment' ? 'augmenting' : c).padEnd(10)} ${outputs[c]}`).join('\n'));
  } finally {
    b.dispose();
  }
}

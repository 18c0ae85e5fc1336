// Trains the built-in models from a fixed seed and writes them under public/models/ in
// Hugging Face layout, with a model card each, and lists them in public/models/index.json.
//
//   npm run train:builtin -- [--only kv-tiny|kv-letters-tiny|arith-tiny] [--steps N] [--seed S] [--dir public/models] [--mix task:share,…]
//
// `kv-tiny` and `arith-tiny` share one vocabulary: printable characters plus every key of the key
// table as one token. The augmenting model `kv-tiny` learns the key table (the table as text,
// look-ups that end at a key, and kv-subs, so each value is held right at its key:
// docs/reproduction.md); the anchor `arith-tiny` learns single-digit arithmetic and never sees a
// key. `kv-letters-tiny` learns the same table with a tokenizer of its own, keys spelled in
// letters: the augmenting model of the experiment across tokenizers.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { tf, tfSeed, useBackend } from '../src/model/tf';
import { countParameters } from '../src/model/causal-lm';
import { GPT, GPT2_TENSORS, gpt2Weights, type GPT2Config } from '../src/model/gpt2';
import { initTensors } from '../src/model/init';
import { cachedDecoder } from '../src/model/sampling';
import { Tokenizer, buildCharTokenizerJson, CHAR_VOCAB_SIZE } from '../src/tokenizer';
import { KV_SPEC, makeKeyTable, makeExamples, answerChance, isTaskName, type Example, type TaskName } from '../src/tasks/kv';
import { encodeExamples, makeBatch, disposeBatch } from '../src/train/batch';
import { maskedCrossEntropy } from '../src/train/loss';
import { trainLoop } from '../src/train/loop';
import { exactMatch } from '../src/pipeline/evaluate';
import { modelFolderFiles } from '../src/io/model-folder';
import { parseBuiltinIndex, type BuiltinIndex } from '../src/io/builtin';

interface Recipe {
  id: string;
  role: 'anchor' | 'augment';
  title: string;
  description: string;
  config: GPT2Config;
  steps: number;
  lr: number;
  batch: number;
  /** The training mixture: task and share. */
  mix: { task: TaskName; share: number }[];
  /** The task its card reports accuracy on, and the tasks it must fail. */
  evalTask: TaskName;
  /**
   * A separate LM head (lm_head.weight). With a tied head, the softmax pushes the embeddings
   * of tokens the model never reads (letters, for the anchor) to large norms (3.1 against
   * 0.9 for digits), and a bridge then has to cancel them; untied, they stay at their small
   * initial values.
   */
  untiedHead?: boolean;
  /** Training examples, drawn once from the seed. */
  pool: number;
  /**
   * Gaussian noise of this standard deviation added to the embedding output while training
   * (as NEFTune does): the anchor learns to read its stream through small perturbations,
   * which is what a bridge adds at the embedding output (docs/reproduction.md).
   */
  embeddingNoise?: number;
  /**
   * Rows of the token embedding the training data never used (the keys, for the anchor) are set
   * to the mean of the rows it did use, as new tokens are initialised when a vocabulary grows:
   * an untrained row left at its random start reads as noise the bridge must first cancel.
   */
  unusedRowsToMean?: boolean;
  /**
   * 'letters': the plain character tokenizer, every key spelled in three letters (no key
   * tokens): a tokenizer other than the anchor's, for the key-value experiment across
   * tokenizers (docs/reproduction.md § Across tokenizers). Default: each key one token.
   */
  keys?: 'tokens' | 'letters';
}

const KEYS = makeKeyTable(KV_SPEC).keys;
const base = {
  modelType: 'gpt2',
  vocabSize: CHAR_VOCAB_SIZE + KEYS.length,
  nPositions: 32,
  layerNormEpsilon: 1e-5,
  activation: 'gelu_new',
} as const;

/** What both key-table models learn, and how: the table as text, look-ups and substitution. */
const KEY_TABLE_TRAINING = {
  lr: 3e-3,
  batch: 64,
  pool: 60000,
  mix: [
    { task: 'kv-dict', share: 0.4 },
    { task: 'kv-lookup', share: 0.3 },
    { task: 'kv-subs', share: 0.3 },
  ],
  evalTask: 'kv-subs',
} satisfies Partial<Recipe>;

export const RECIPES: Recipe[] = [
  {
    id: 'kv-tiny',
    role: 'augment',
    title: 'kv-tiny (knows the key table)',
    description: `Augmenting model: knows the values of the ${KV_SPEC.numKeys} keys (each key one token), substitutes them (kv-subs) and looks keys up; no arithmetic.`,
    config: { ...base, nEmbd: 128, nLayer: 3, nHead: 4 },
    // kv-subs is at 99–100 % from step 250 on (one token per key makes the table a look-up);
    // 300 steps compose as well as the 4000 the PyTorch bench used (docs/reproduction.md)
    steps: 300,
    ...KEY_TABLE_TRAINING,
  },
  {
    id: 'kv-letters-tiny',
    role: 'augment',
    title: 'kv-letters-tiny (knows the key table, keys spelled in letters)',
    description: `Augmenting model with a tokenizer of its own: knows the values of the ${KV_SPEC.numKeys} keys, each spelled in letters (no key tokens), substitutes and looks them up; no arithmetic. Composes with arith-tiny across tokenizers.`,
    // a kv-dict line of ten entries is 50 letters, digits and spaces: context 64
    config: { ...base, vocabSize: CHAR_VOCAB_SIZE, nPositions: 64, nEmbd: 128, nLayer: 3, nHead: 4 },
    // keys of three letter tokens take longer: kv-subs 27 % at step 750, 86 % at 1000, 100 % at 1500
    steps: 1500,
    ...KEY_TABLE_TRAINING,
    keys: 'letters',
  },
  {
    id: 'arith-tiny',
    role: 'anchor',
    title: 'arith-tiny (numeric arithmetic)',
    description: 'Anchor model: adds and subtracts 2–3 one-digit numbers (4+7-3=); knows no keys.',
    config: { ...base, nEmbd: 128, nLayer: 3, nHead: 4 },
    steps: 3000,
    lr: 2e-3,
    batch: 128,
    pool: 20000,
    mix: [{ task: 'num-arith', share: 1 }],
    evalTask: 'num-arith',
    untiedHead: true,
    embeddingNoise: 0.3,
    unusedRowsToMean: true,
  },
];

const EVAL_N = 500;
/** Where the model folders and index.json go (--dir; default public/models). */
let outDir = join('public', 'models');

function mixture(recipe: Recipe, seed: number): Example[] {
  const table = makeKeyTable(KV_SPEC);
  return recipe.mix.flatMap((m, i) => makeExamples(m.task, Math.round(recipe.pool * m.share), { seed: seed + 101 * (i + 1), table, keys: 'all' }));
}

async function trainOne(recipe: Recipe, seed: number, steps: number): Promise<void> {
  const tokenizerJson = buildCharTokenizerJson(recipe.keys === 'letters' ? [] : KEYS);
  const tokenizer = Tokenizer.fromJSON(tokenizerJson, 'char tokenizer');
  const codec = { encode: (s: string) => tokenizer.encode(s), decode: (ids: number[]) => tokenizer.decode(ids), eosId: tokenizer.eosId! };
  const data = encodeExamples(codec, mixture(recipe, seed), recipe.config.nPositions);
  // The concrete GPT-2 class: the loss embeds (one-hot, with noise) before the forward pass.
  const model = new GPT(recipe.config, gpt2Weights(recipe.config, initTensors(GPT2_TENSORS, recipe.config, seed, { variables: true, optional: recipe.untiedHead })));
  const params = [...model.tensors().values()] as tf.Variable[];
  const table = makeKeyTable(KV_SPEC);
  const evalSet = makeExamples(recipe.evalTask, EVAL_N, { seed: seed + 7777, table, keys: 'all' });
  const evaluate = async (examples: Example[]) =>
    (await exactMatch((B) => cachedDecoder(model, B), codec, examples, { maxLength: recipe.config.nPositions })).accuracy;
  console.error(`${recipe.id}: ${countParameters(model)} parameters, ${data.length} examples, ${steps} steps`);
  let draws = 0; // the noise's own seed stream, so a run is reproducible
  const result = await trainLoop({
    params,
    numExamples: data.length,
    batchSize: recipe.batch,
    steps,
    lr: recipe.lr,
    weightDecay: 0.01,
    seed,
    loss: (idx) => {
      const batch = makeBatch(idx.map((i) => data[i]), tokenizer.padId!);
      let input = model.embed(batch.ids, 0, 'onehot'); // [B, T, D]
      if (recipe.embeddingNoise) input = tf.add(input, tf.randomNormal(input.shape, 0, recipe.embeddingNoise, 'float32', tfSeed(seed * 1_000_003 + ++draws)));
      const r = model.forward(null, { input });
      const loss = maskedCrossEntropy(r.logits!, batch.targets, batch.mask);
      disposeBatch(batch);
      return loss;
    },
    progressEvery: 50,
    evalEvery: 250,
    evaluate: async () => ({ [recipe.evalTask]: await evaluate(evalSet.slice(0, 200)) }),
    onProgress: (p) =>
      console.error(
        `  step ${p.step}/${p.steps} loss ${p.loss.toFixed(4)} ${p.stepsPerSecond.toFixed(2)} steps/s` +
          (p.metrics ? ` ${JSON.stringify(p.metrics)}` : ''),
      ),
  });
  if (result.stopped !== 'done') throw new Error(`${recipe.id}: training stopped: ${result.message ?? result.stopped}`);
  if (recipe.unusedRowsToMean) await setUnusedRowsToMean(model.tensors().get('wte.weight') as tf.Variable, data);

  // The card's figures: its own task, and kv-arith (which neither model can do alone).
  const accuracy: Record<string, number> = {};
  for (const task of ['kv-subs', 'num-arith', 'kv-arith'] as TaskName[]) {
    accuracy[task] = await evaluate(makeExamples(task, EVAL_N, { seed: seed + 9999, table, keys: 'all' }));
  }
  const chance = answerChance(makeExamples('kv-arith', EVAL_N, { seed: seed + 9999, table, keys: 'all' }));
  const card = modelCard(recipe, countParameters(model), steps, seed, result.seconds, accuracy, chance.share);
  const dir = join(outDir, recipe.id);
  await mkdir(dir, { recursive: true });
  const files = await modelFolderFiles(model, tokenizerJson, card);
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
  console.error(`${recipe.id}: ${JSON.stringify(accuracy)} (kv-arith chance ${chance.share.toFixed(3)}) in ${result.seconds.toFixed(0)} s → ${dir}`);
  params.forEach((p) => p.dispose());
}

/** wte [V, D]: rows of ids no example holds ← the mean of the rows of ids some example holds. */
async function setUnusedRowsToMean(wte: tf.Variable, data: { ids: number[] }[]): Promise<void> {
  const used = new Set(data.flatMap((e) => e.ids));
  const [V, D] = wte.shape as [number, number];
  const rows = (await wte.data()).slice();
  const mean = new Float64Array(D);
  for (const id of used) for (let j = 0; j < D; j++) mean[j] += rows[id * D + j] / used.size;
  for (let id = 0; id < V; id++) if (!used.has(id)) for (let j = 0; j < D; j++) rows[id * D + j] = mean[j];
  wte.assign(tf.tensor2d(rows, [V, D]));
  console.error(`  ${V - used.size} unused embedding rows set to the mean of ${used.size} used ones`);
}

function modelCard(
  r: Recipe,
  params: number,
  steps: number,
  seed: number,
  seconds: number,
  acc: Record<string, number>,
  chance: number,
): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
  const c = r.config;
  return `# ${r.id}

${r.description}

- Role in CALM: **${r.role === 'anchor' ? 'anchor' : 'augmenting model'}**
- Architecture: GPT-2, ${c.nLayer} layers, width ${c.nEmbd}, ${c.nHead} heads, context ${c.nPositions}, ${params.toLocaleString('en')} parameters, LM head ${r.untiedHead ? 'separate (lm_head.weight)' : 'tied to the token embedding'}
- Tokenizer: one token per printable ASCII character, plus \`<pad>\`, \`<eos>\`, \`<unk>\`${r.keys === 'letters' ? ': keys are spelled in letters' : `, plus each of the ${KEYS.length} keys of the key table as one token`} (vocabulary ${c.vocabSize})
- Data: ${r.mix.map((m) => `${Math.round(100 * m.share)} % ${m.task}`).join(', ')}; ${r.pool} examples drawn from seed ${seed}; the key table of \`src/tasks/kv.ts\` (${KV_SPEC.numKeys} keys of ${KV_SPEC.keyLength} letters, values ${KV_SPEC.valueMin}–${KV_SPEC.valueMax})
- Training: ${steps} steps, batch ${r.batch}, AdamW lr ${r.lr} (warm-up, cosine decay)${r.embeddingNoise ? `, Gaussian noise of σ ${r.embeddingNoise} on the embedding output` : ''}, ${seconds.toFixed(0)} s on the wasm backend${r.unusedRowsToMean ? '\n- Embedding rows of tokens it never trained on (the keys) are the mean of its trained rows' : ''}

## Accuracy (exact match, greedy, ${EVAL_N} examples over all keys)

| task | accuracy |
|---|---|
| kv-subs | ${pct(acc['kv-subs'])} |
| num-arith | ${pct(acc['num-arith'])} |
| kv-arith | ${pct(acc['kv-arith'])} (chance, the most common answer: ${pct(chance)}) |

## Retrain

\`\`\`
npm run train:builtin -- --only ${r.id} --seed ${seed}
\`\`\`
`;
}

async function writeIndex(): Promise<void> {
  const path = join(outDir, 'index.json');
  let index: BuiltinIndex = { models: [] };
  try {
    index = parseBuiltinIndex(JSON.parse(await readFile(path, 'utf8')));
  } catch {
    // a missing or unreadable index is rewritten from the recipes
  }
  for (const r of RECIPES) {
    const entry = { id: r.id, role: r.role, title: r.title, description: r.description, path: r.id };
    const at = index.models.findIndex((m) => m.id === r.id);
    if (at >= 0) index.models[at] = entry;
    else index.models.push(entry);
  }
  await writeFile(path, JSON.stringify(index, null, 2) + '\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      steps: { type: 'string' },
      seed: { type: 'string', default: '1' },
      backend: { type: 'string', default: 'wasm' },
      dir: { type: 'string', default: join('public', 'models') },
      // an ablation's training mixture, e.g. kv-subs:0.7,kv-lookup:0.3 (with --dir elsewhere)
      mix: { type: 'string' },
    },
  });
  outDir = values.dir;
  const mix = values.mix?.split(',').map((part) => {
    const [task, share] = part.split(':');
    if (!isTaskName(task) || !(Number(share) > 0)) throw new Error(`--mix: expected task:share pairs, got '${part}'`);
    return { task, share: Number(share) };
  });
  await useBackend(values.backend as 'wasm' | 'cpu');
  const seed = Number(values.seed);
  for (const r of RECIPES) {
    if (values.only && !r.id.startsWith(values.only)) continue;
    await trainOne(mix ? { ...r, mix } : r, seed, values.steps ? Number(values.steps) : r.steps);
  }
  await writeIndex();
}

main().catch((e) => {
  console.error(`train-builtin: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});

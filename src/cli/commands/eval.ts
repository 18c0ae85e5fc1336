// `calm eval`: exact-match accuracy of one model on a synthetic task, with greedy decoding.
import { cachedDecoder } from '../../model/sampling';
import { answerChance, KEY_SETS, KV_SPEC, makeExamples, makeKeyTable, TASKS, type KeySet, type TaskName } from '../../tasks';
import { exactMatch } from '../../pipeline/evaluate';
import { DEFAULT_SEED } from '../../tasks/recipe';
import { choiceOption, intOption, requiredString, type Command } from '../command';
import { percent, printJson, printText, progress, round, UsageError } from '../output';
import { resolveModel } from '../resolve';

/** Tasks a single model can be asked about (kv-lookup is a training aid, but allowed too). */
const EVAL_TASKS = TASKS;

export const command: Command = {
  name: 'eval',
  summary: 'exact-match accuracy of one model on a synthetic task',
  options: {
    model: { type: 'string', value: 'ID|DIR', description: 'a built-in model id or a model folder', required: true },
    task: { type: 'string', value: EVAL_TASKS.join('|'), description: 'the task', required: true },
    n: { type: 'string', value: 'N', description: 'examples (default 200)' },
    keys: { type: 'string', value: KEY_SETS.join('|'), description: 'the keys the examples use (default all)' },
    seed: { type: 'string', value: 'S', description: `seed of the examples (default ${DEFAULT_SEED})` },
  },
  examples: ['eval --model kv-tiny --task kv-subs --n 100', 'eval --model arith-tiny --task kv-arith --keys held-out --json'],
  async run({ values, json, backend }) {
    const id = requiredString(values, 'model', 'eval');
    const taskText = requiredString(values, 'task', 'eval');
    if (!(EVAL_TASKS as readonly string[]).includes(taskText)) {
      throw new UsageError(`--task must be one of ${EVAL_TASKS.join(', ')}, got ${JSON.stringify(taskText)}`);
    }
    const task = taskText as TaskName;
    const n = intOption(values, 'n', 200, 1, 100_000);
    const keys = choiceOption<KeySet>(values, 'keys', KEY_SETS, 'all');
    const seed = intOption(values, 'seed', DEFAULT_SEED);

    const examples = makeExamples(task, n, { seed, table: makeKeyTable(KV_SPEC), keys });
    const m = await resolveModel(id, { backend, tokenizer: 'required', command: 'eval' });
    try {
      const tokenizer = m.tokenizer!;
      if (tokenizer.eosId === undefined) {
        throw new Error(`${m.name}: its tokenizer has no end-of-sequence token (<eos>, <|endoftext|> or </s>), so answers cannot end`);
      }
      const codec = { encode: (s: string) => tokenizer.encode(s), decode: (t: number[]) => tokenizer.decode(t), eosId: tokenizer.eosId };
      progress(`${m.name}: evaluating ${n} ${task} examples (keys ${keys}, seed ${seed})`);
      const t0 = performance.now();
      const r = await exactMatch((B) => cachedDecoder(m.model, B), codec, examples, { maxLength: m.config.nPositions });
      const seconds = (performance.now() - t0) / 1000;
      const chance = answerChance(examples);
      if (json) {
        printJson({
          model: m.name,
          task,
          keys,
          seed,
          n: r.n,
          correct: r.correct,
          accuracy: r.accuracy,
          chance: chance.share,
          chance_answer: chance.answer,
          seconds: round(seconds, 3),
        });
        return;
      }
      const lines = [
        `${m.name} on ${task} (keys ${keys}, seed ${seed}): accuracy ${percent(r.accuracy)} (${r.correct}/${r.n}); ` +
          `chance ${percent(chance.share)} (always "${chance.answer}"); ${seconds.toFixed(1)} s`,
      ];
      const wrong = examples.map((e, i) => ({ e, p: r.predictions[i] })).filter(({ e, p }) => p !== e.completion);
      for (const { e, p } of wrong.slice(0, 3)) lines.push(`  e.g. ${e.prompt} → ${JSON.stringify(p)}, expected ${JSON.stringify(e.completion)}`);
      printText(lines.join('\n'));
    } finally {
      m.dispose();
    }
  },
};

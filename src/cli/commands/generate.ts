// `calm generate`: one completion of a prompt by one model, greedy unless --temperature > 0.
import { cachedDecoder } from '../../model/sampling';
import { generate } from '../../pipeline/decode';
import { makeRng } from '../../tasks';
import { DEFAULT_SEED } from '../../tasks/recipe';
import { intOption, numberOption, requiredString, stringOption, type Command } from '../command';
import { f32, printJson, printText, progress } from '../output';
import { resolveModel } from '../resolve';

export const command: Command = {
  name: 'generate',
  summary: 'complete a prompt with one model (greedy by default)',
  options: {
    model: { type: 'string', value: 'ID|DIR', description: 'a built-in model id or a model folder', required: true },
    prompt: { type: 'string', value: 'TEXT', description: 'the text to complete', required: true },
    'max-tokens': { type: 'string', value: 'N', description: 'new tokens at most (default 32; the context also limits)' },
    temperature: { type: 'string', value: 'T', description: 'sampling temperature; 0 = greedy (default 0)' },
    'top-k': { type: 'string', value: 'K', description: 'sample among the K likeliest tokens; 0 = all (default 0)' },
    seed: { type: 'string', value: 'S', description: `seed of the sampler (default ${DEFAULT_SEED})` },
    stop: { type: 'string', value: 'STR', description: 'stop at this text (it is not included)' },
  },
  examples: ['generate --model kv-tiny --prompt "abc+qdx="', 'generate --model arith-tiny --prompt "4+7=" --temperature 0.8 --seed 3 --json'],
  async run({ values, json, backend }) {
    const id = requiredString(values, 'model', 'generate');
    const prompt = requiredString(values, 'prompt', 'generate');
    const maxTokens = intOption(values, 'max-tokens', 32, 0);
    const temperature = numberOption(values, 'temperature', 0, 0);
    const topK = intOption(values, 'top-k', 0, 0);
    const seed = intOption(values, 'seed', DEFAULT_SEED);
    const stop = stringOption(values, 'stop') || undefined;

    const m = await resolveModel(id, { backend, tokenizer: 'required', command: 'generate' });
    try {
      const tokenizer = m.tokenizer!;
      const ids = tokenizer.encode(prompt);
      const context = m.config.nPositions;
      if (ids.length >= context) {
        throw new Error(`the prompt is ${ids.length} tokens but ${m.name} has a context of ${context}, which leaves no room to generate`);
      }
      const rng = makeRng(seed);
      const decoder = cachedDecoder(m.model, 1);
      const t0 = performance.now();
      let out: Awaited<ReturnType<typeof generate>>;
      try {
        out = await generate(decoder, ids, {
          maxTokens,
          temperature,
          topK,
          random: () => rng.next(),
          eosId: tokenizer.eosId,
          stop,
          maxLength: context,
          decode: (t) => tokenizer.decode(t),
        });
      } finally {
        decoder.dispose();
      }
      const seconds = (performance.now() - t0) / 1000;
      progress(`${m.name}: ${out.ids.length} token${out.ids.length === 1 ? '' : 's'} in ${seconds.toFixed(2)} s`);
      if (json) {
        printJson({
          model: m.name,
          prompt,
          text: out.text,
          ids: out.ids,
          probs: out.probs.map(f32),
          temperature,
          top_k: topK,
          seed,
        });
      } else {
        printText(out.text);
      }
    } finally {
      m.dispose();
    }
  },
};

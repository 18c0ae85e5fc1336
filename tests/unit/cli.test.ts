// The `calm` command line, run as a child process (bin/calm.mjs) the way a person runs it.
// Each spawn costs about a second, so the cases share spawns where they can.
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/model/tf';
import { gpt2, type GPT2Config } from '../../src/model/gpt2';
import { initModel } from '../../src/model/init';
import { cachedDecoder } from '../../src/model/sampling';
import { generate } from '../../src/pipeline/decode';
import { loadModelFolder, modelFolderFiles } from '../../src/io/model-folder';
import { countParameters } from '../../src/model/causal-lm';
import { nodeFolderSource } from '../../src/io/node-source';
import { parseBuiltinIndex } from '../../src/io/builtin';
import { buildCharTokenizerJson, CHAR_VOCAB_SIZE, Tokenizer } from '../../src/tokenizer';
import { f32, UsageError } from '../../src/cli/output';
import { parseIds } from '../../src/cli/commands/logits';
import { intOption, numberOption } from '../../src/cli/command';
import { makeRng } from '../../src/tasks';
import { GOLDEN_DIR, maxAbsDiff, type Golden } from './helpers/golden';

import { ROOT, calm, expectOneLineError } from './helpers/cli';

describe('helpers (in this process)', () => {
  it('f32 gives the shortest decimal that reads back as the same float32', () => {
    const rng = makeRng(1);
    for (let i = 0; i < 2000; i++) {
      const x = Math.fround((rng.next() - 0.5) * 10 ** rng.int(-8, 8));
      const y = f32(x);
      expect(Math.fround(y)).toBe(x);
      // one digit fewer does not read back
      const digits = y.toExponential().replace(/^-/, '').split('e')[0].replace('.', '').length;
      if (digits > 1) expect(Math.fround(Number(x.toPrecision(digits - 1)))).not.toBe(x);
    }
    expect(f32(0.1)).toBe(0.1);
    expect(f32(Math.fround(0.1))).toBe(0.1);
  });

  it('parseIds reads rows of token ids and refuses anything else', () => {
    expect(parseIds('3,1,4')).toEqual({ rows: [[3, 1, 4]], batched: false });
    expect(parseIds('3, 1;2 ,7')).toEqual({ rows: [[3, 1], [2, 7]], batched: true });
    for (const bad of ['', '3,,4', '1.5', '-1', 'a', '1,2;3']) expect(() => parseIds(bad)).toThrow(UsageError);
  });

  it('option values are checked and named', () => {
    expect(intOption({ n: '12' }, 'n', 5, 1)).toBe(12);
    expect(intOption({}, 'n', 5, 1)).toBe(5);
    expect(() => intOption({ n: '1.5' }, 'n', 5)).toThrow('--n must be an integer, got "1.5"');
    expect(() => intOption({ n: '0' }, 'n', 5, 1)).toThrow('--n must be at least 1, got 0');
    expect(numberOption({ temperature: '0.7' }, 'temperature', 0, 0)).toBe(0.7);
    expect(() => numberOption({ temperature: 'hot' }, 'temperature', 0, 0)).toThrow(UsageError);
  });
});

describe('logits', () => {
  it('on a GPT-2 folder matches PyTorch (tests/golden/gpt2-tiny) within 1e-4', async () => {
    const golden = JSON.parse(await readFile(join(GOLDEN_DIR, 'gpt2-tiny', 'golden.json'), 'utf8')) as Golden;
    const ids = golden.ids.map((row) => row.join(',')).join(';');
    const r = await calm(['logits', '--model', 'tests/golden/gpt2-tiny', '--ids', ids, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1); // exactly one JSON document
    const { logits } = JSON.parse(r.stdout) as { logits: number[][][] };
    const err = maxAbsDiff(logits, golden.logits);
    console.info(`calm logits vs PyTorch: max abs error ${err.toExponential(2)} (${r.seconds.toFixed(2)} s)`);
    expect(err).toBeLessThan(1e-4);
  });

  it.each(['llama-tiny-sharded', 'neox-tiny'])('on a %s folder matches PyTorch within 1e-4', async (name) => {
    const golden = JSON.parse(await readFile(join(GOLDEN_DIR, name, 'golden.json'), 'utf8')) as Golden;
    const ids = golden.ids.map((row) => row.join(',')).join(';');
    const r = await calm(['logits', '--model', `tests/golden/${name}`, '--ids', ids, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const { logits } = JSON.parse(r.stdout) as { logits: number[][][] };
    expect(maxAbsDiff(logits, golden.logits)).toBeLessThan(1e-4);
  });
});

describe('a model folder of our own', () => {
  const config: GPT2Config = {
    modelType: 'gpt2',
    vocabSize: CHAR_VOCAB_SIZE,
    nPositions: 16,
    nEmbd: 16,
    nLayer: 2,
    nHead: 2,
    layerNormEpsilon: 1e-5,
    activation: 'gelu_new',
  };
  let dir: string;
  let files: Record<string, Uint8Array | string>;

  beforeAll(async () => {
    await useBackend('wasm');
    dir = await mkdtemp(join(tmpdir(), 'calm-cli-'));
    const model = initModel(gpt2, config, 3);
    files = await modelFolderFiles(model, buildCharTokenizerJson());
    model.dispose();
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Writes the model's files into dir/name, changed by `edit`. */
  async function folder(name: string, edit: (f: Record<string, Uint8Array | string>) => void = () => {}): Promise<string> {
    const f = { ...files };
    edit(f);
    const d = join(dir, name);
    await mkdir(d);
    for (const [file, content] of Object.entries(f)) await writeFile(join(d, file), content);
    return d;
  }

  it('generate gives the same greedy completion as the library in this process', async () => {
    const d = await folder('good');
    const prompt = 'ab+c';
    const r = await calm(['generate', '--model', d, '--prompt', prompt, '--max-tokens', '6', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { text: string; ids: number[]; model: string };

    const loaded = await loadModelFolder(nodeFolderSource(d));
    const tokenizer = Tokenizer.fromJSON(loaded.tokenizerJson);
    const decoder = cachedDecoder(loaded.model, 1);
    const expected = await generate(decoder, tokenizer.encode(prompt), {
      maxTokens: 6,
      eosId: tokenizer.eosId,
      maxLength: config.nPositions,
      decode: (ids) => tokenizer.decode(ids),
    });
    decoder.dispose();
    loaded.model.dispose();
    expect(out.ids).toEqual(expected.ids);
    expect(out.text).toBe(expected.text);
    expect(out.model).toBe(d);
  });

  it('malformed folders exit 1 with one line naming the problem', async () => {
    const cases: [string, (f: Record<string, Uint8Array | string>) => void, RegExp][] = [
      [
        'truncated',
        (f) => (f['model.safetensors'] = (f['model.safetensors'] as Uint8Array).slice(0, 4000)),
        /truncated\/model\.safetensors: .*(truncated|beyond)/,
      ],
      [
        'heads',
        (f) => (f['config.json'] = JSON.stringify({ ...JSON.parse(f['config.json'] as string), n_head: 3 })),
        /heads\/config\.json: n_embd 16 is not divisible by n_head 3/,
      ],
      ['no-tokenizer', (f) => delete f['tokenizer.json'], /no-tokenizer\/tokenizer\.json not found; calm generate needs the model's tokenizer/],
    ];
    const timings: string[] = [];
    for (const [name, edit, pattern] of cases) {
      const d = await folder(name, edit);
      const r = await calm(['generate', '--model', d, '--prompt', 'ab']);
      expectOneLineError(r, 1, pattern);
      timings.push(`${name} ${r.seconds.toFixed(2)} s`);
    }
    console.info(`malformed model folders fail in: ${timings.join(', ')}`);
  });
});

describe('Llama and GPT-NeoX folders (tests/golden, with the tokenizer.json of make_tokenizers.py)', () => {
  const FOLDERS = ['llama-tiny', 'llama-tiny-sharded', 'llama-tiny-untied', 'neox-tiny', 'neox-tiny-serial'];

  beforeAll(async () => {
    await useBackend('wasm');
  });

  it('models DIR... lists each folder with its architecture, sizes and the parameters the loaded model has', async () => {
    const r = await calm(['models', ...FOLDERS.map((f) => `tests/golden/${f}`), 'kv-tiny', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const { models } = JSON.parse(r.stdout) as { models: Record<string, unknown>[] };
    expect(models.map((m) => m.id)).toEqual([...FOLDERS.map((f) => `tests/golden/${f}`), 'kv-tiny']);
    for (const [i, folder] of FOLDERS.entries()) {
      const loaded = await loadModelFolder(nodeFolderSource(join(GOLDEN_DIR, folder)));
      const c = loaded.config;
      expect(models[i]).toEqual({
        id: `tests/golden/${folder}`,
        role: null,
        title: null,
        description: null,
        path: `tests/golden/${folder}`,
        architecture: folder.startsWith('llama') ? 'llama' : 'gpt_neox',
        layers: c.nLayer,
        width: c.nEmbd,
        heads: c.nHead,
        context: c.nPositions,
        vocab: 50,
        parameters: countParameters(loaded.model),
      });
      loaded.model.dispose();
    }
    expect(models[5]).toMatchObject({ id: 'kv-tiny', role: 'augment', architecture: 'gpt2' });

    const text = await calm(['models', 'tests/golden/llama-tiny-sharded', 'tests/golden/neox-tiny']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^tests\/golden\/llama-tiny-sharded +llama, 3 layers, width 36, 6 heads, 30\.6k parameters\ntests\/golden\/neox-tiny +gpt_neox, 3 layers, width 40, 5 heads, 39\.9k parameters\n$/);
    expectOneLineError(await calm(['models', 'tests/golden/nothing-here']), 1, /no folder tests\/golden\/nothing-here/);
  });

  /** The core's own decode of the same folder, in this process. */
  async function coreGenerate(folder: string, prompt: string, maxTokens: number, sampling?: { temperature: number; seed: number }) {
    const loaded = await loadModelFolder(nodeFolderSource(join(GOLDEN_DIR, folder)));
    const tokenizer = Tokenizer.fromJSON(loaded.tokenizerJson);
    const decoder = cachedDecoder(loaded.model, 1);
    const rng = makeRng(sampling?.seed ?? 0);
    try {
      return await generate(decoder, tokenizer.encode(prompt), {
        maxTokens,
        temperature: sampling?.temperature ?? 0,
        random: () => rng.next(),
        eosId: tokenizer.eosId,
        maxLength: loaded.config.nPositions,
        decode: (ids) => tokenizer.decode(ids),
      });
    } finally {
      decoder.dispose();
      loaded.model.dispose();
    }
  }

  it.each([
    ['llama-tiny-sharded', 'the cat'],
    ['neox-tiny', ' the rain'],
    ['llama-tiny-untied', 'abc+qdx='],
  ])('generate --model %s gives the greedy completion the core gives in this process', async (folder, prompt) => {
    const r = await calm(['generate', '--model', `tests/golden/${folder}`, '--prompt', prompt, '--max-tokens', '12', '--json', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { text: string; ids: number[] };
    const expected = await coreGenerate(folder, prompt, 12);
    expect(out.ids).toEqual(expected.ids);
    expect(out.text).toBe(expected.text);
    expect(out.ids.length).toBeGreaterThan(0);
    expect(out.ids.every((id) => id >= 0 && id < 50)).toBe(true);
  });

  it('generate with sampling on a GPT-NeoX folder draws what the core draws from the same seed; text outside the vocabulary is one line', async () => {
    const r = await calm(['generate', '--model', 'tests/golden/neox-tiny-serial', '--prompt', 'on the', '--max-tokens', '10', '--temperature', '0.8', '--seed', '3', '--json', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const expected = await coreGenerate('neox-tiny-serial', 'on the', 10, { temperature: 0.8, seed: 3 });
    expect((JSON.parse(r.stdout) as { ids: number[] }).ids).toEqual(expected.ids);
    expectOneLineError(
      await calm(['generate', '--model', 'tests/golden/llama-tiny', '--prompt', 'Hello']),
      1,
      /tests\/golden\/llama-tiny\/tokenizer\.json: the vocabulary cannot encode "H" \(character 1 of the text\)/,
    );
  });

  it('logits names the tokens of a folder that has a tokenizer', async () => {
    const r = await calm(['logits', '--model', 'tests/golden/llama-tiny', '--ids', '0,1,42', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^ +0 \[0 "<\|endoftext\|>"\] → /);
    expect(lines[1]).toMatch(/^ +1 \[1 "<\|im_start\|>"\] → /);
    expect(lines[2]).toMatch(/^ +2 \[42 "Ġ"\] → /);
  });
});

describe('usage errors exit 2 with one line', () => {
  it('an unknown command', async () => {
    expectOneLineError(await calm(['evaluate', '--model', 'kv-tiny']), 2, /unknown command 'evaluate' \(commands: models, generate, eval, logits/);
  });

  it("an unknown option, listing the command's options", async () => {
    expectOneLineError(await calm(['eval', '--model', 'kv-tiny', '--tasks', 'kv-subs']), 2, /eval: unknown option --tasks .*--model, --task, --n, --keys, --seed/);
  });
});

const index = parseBuiltinIndex(JSON.parse(await readFile(join(ROOT, 'public', 'models', 'index.json'), 'utf8')));

describe('built-in models', () => {
  it('models --json lists every model of public/models/index.json', async () => {
    const r = await calm(['models', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const { models } = JSON.parse(r.stdout) as { models: { id: string; role: string; path: string; layers: number | null }[] };
    expect(models.map((m) => m.id)).toEqual(index.models.map((m) => m.id));
    expect(models.map((m) => m.id)).toEqual(expect.arrayContaining(['kv-tiny', 'arith-tiny']));
    for (const m of models) {
      const entry = index.models.find((e) => e.id === m.id)!;
      expect(m.role).toBe(entry.role);
      const config = join(ROOT, 'public', 'models', entry.path, 'config.json');
      if (existsSync(config)) expect(m.layers).toBe((JSON.parse(await readFile(config, 'utf8')) as { n_layer: number }).n_layer);
    }
  });

  // The built-in models' accuracy on a small sample (their cards report 500 examples).
  const cases: [string, string, (acc: number) => void][] = [
    ['kv-tiny', 'kv-subs', (acc) => expect(acc).toBeGreaterThanOrEqual(0.9)],
    ['arith-tiny', 'num-arith', (acc) => expect(acc).toBeGreaterThanOrEqual(0.85)],
    // the composed skill: neither model has it alone
    ['kv-tiny', 'kv-arith', (acc) => expect(acc).toBeLessThanOrEqual(0.15)],
    ['arith-tiny', 'kv-arith', (acc) => expect(acc).toBeLessThanOrEqual(0.15)],
  ];
  it.each(cases)('eval --model %s --task %s --n 100', async (model, task, check) => {
    const r = await calm(['eval', '--model', model, '--task', task, '--n', '100', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { accuracy: number; n: number; chance: number; correct: number };
    expect(out.n).toBe(100);
    expect(out.accuracy).toBe(out.correct / 100);
    expect(out.chance).toBeGreaterThan(0);
    expect(out.chance).toBeLessThan(1);
    check(out.accuracy);
  });
});

// `calm compose train|eval|generate`, `logits --bundle` and their errors, on the built-in
// pair and on the Llama / GPT-NeoX fixtures with a few training steps (the figures of a real run
// are the reproduction's business).
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calm, expectOneLineError } from './helpers/cli';
import { zipBundle } from '../../src/store/bundle-file';
import { tf, useBackend } from '../../src/model/tf';
import { loadModelFolder } from '../../src/io/model-folder';
import { nodeFolderSource } from '../../src/io/node-source';
import { bridgesFromRaw, disposeBridges, parseBundle } from '../../src/calm/bundle';
import { Composition } from '../../src/calm/compose';
import { GOLDEN_DIR, maxAbsDiff } from './helpers/golden';
import { DEFAULT_CONFIG } from '../../src/store/config';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'calm-compose-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('calm compose', () => {
  it('a bad line in --data is an error naming its line number, before any model loads', async () => {
    const data = join(dir, 'bad.txt');
    await writeFile(data, 'abc+qdx= => 5\n# a comment\nno arrow here\n');
    const r = await calm(['compose', 'train', '--anchor', 'arith-tiny', '--augment', 'kv-tiny', '--data', data, '--out', join(dir, 'x')]);
    expectOneLineError(r, 1, /line 3/);
  });

  it('trains from pasted examples, writes a bundle, and eval / generate / logits read it', async () => {
    const data = join(dir, 'good.txt');
    await writeFile(data, 'abc+qdx= => 5\n{"prompt": "4+7=", "completion": "11"}\nxyz-abc= => 2\n');
    const out = join(dir, 'bundle');
    const train = await calm([
      'compose', 'train', '--anchor', 'arith-tiny', '--augment', 'kv-tiny', '--connections', '0:f,1:2',
      '--heads', '2', '--data', data, '--steps', '3', '--batch', '2', '--out', out, '--json', '--quiet',
    ]);
    expect(train.code, train.stderr).toBe(0);
    const report = JSON.parse(train.stdout);
    expect(report).toMatchObject({ connections: [[0, 3], [1, 2]], num_heads: 2, steps: 3, output: 'zero-init' });
    const manifest = JSON.parse(await readFile(join(out, 'composition.json'), 'utf8'));
    expect(manifest).toMatchObject({
      format: 'calm-playground/composition@1',
      anchor: { id: 'arith-tiny' },
      augment: { id: 'kv-tiny' },
      connections: [[0, 3], [1, 2]],
      num_heads: 2,
    });

    const gen = await calm(['compose', 'generate', '--bundle', out, '--prompt', '4+7=', '--json', '--quiet']);
    expect(gen.code, gen.stderr).toBe(0);
    const outputs = JSON.parse(gen.stdout).outputs;
    expect(Object.keys(outputs).sort()).toEqual(['anchor', 'augment', 'composed']);
    expect(outputs.anchor).toBe('11');

    const ev = await calm(['compose', 'eval', '--bundle', out, '--task', 'num-arith', '--n', '20', '--json', '--quiet']);
    expect(ev.code, ev.stderr).toBe(0);
    const e = JSON.parse(ev.stdout);
    expect(e.n).toBe(20);
    expect(e.columns.anchor).toBeGreaterThan(0.8);
    expect(e.accuracy).toBe(e.columns.composed);

    const lg = await calm(['logits', '--bundle', out, '--ids', '10,11,12', '--json', '--quiet']);
    expect(lg.code, lg.stderr).toBe(0);
    const logits = JSON.parse(lg.stdout).logits as number[][];
    expect(logits).toHaveLength(3);
    expect(logits[0]).toHaveLength(1098);

    // The same bundle as the playground exports it (one .calm.zip, examples inside): the same logits.
    const zip = join(dir, 'mine.calm.zip');
    const bridge = await readFile(join(out, 'bridge.safetensors'));
    await writeFile(
      zip,
      zipBundle({ composition: await readFile(join(out, 'composition.json'), 'utf8'), bridge: bridge.buffer.slice(bridge.byteOffset, bridge.byteOffset + bridge.byteLength), examplesText: 'abc+qdx= => 5\n' }),
    );
    const lz = await calm(['logits', '--bundle', zip, '--ids', '10,11,12', '--json', '--quiet']);
    expect(lz.code, lz.stderr).toBe(0);
    expect(JSON.parse(lz.stdout).logits).toEqual(logits);
    const gz = await calm(['compose', 'generate', '--bundle', zip, '--prompt', '4+7=', '--json', '--quiet']);
    expect(JSON.parse(gz.stdout).outputs).toEqual(outputs);

    const notZip = join(dir, 'notes.txt');
    await writeFile(notZip, 'not a bundle');
    expectOneLineError(await calm(['logits', '--bundle', notZip, '--ids', '1', '--quiet']), 1, /notes\.txt is a file but not a zip: a bundle is a folder with composition\.json and bridge\.safetensors, or the \.calm\.zip file the playground exports/);
  });

  it('--input-norm whiten --query-norm --value-gate: the bundle says so, holds the statistics and reads back', async () => {
    const data = join(dir, 'opts.txt');
    await writeFile(data, 'abc+qdx= => 5\n004+007= => 11\nxyz-abc= => 2\n');
    const out = join(dir, 'opts');
    const train = await calm([
      'compose', 'train', '--anchor', 'arith-tiny', '--augment', 'kv-tiny', '--connections=-1:f',
      '--input-norm', 'whiten', '--query-norm', '--value-gate', '--data', data, '--steps', '2', '--batch', '3', '--out', out, '--json', '--quiet',
    ]);
    expect(train.code, train.stderr).toBe(0);
    expect(JSON.parse(train.stdout)).toMatchObject({ input_norm: 'whiten', query_norm: true, value_gate: true });
    const manifest = JSON.parse(await readFile(join(out, 'composition.json'), 'utf8'));
    expect(manifest).toMatchObject({ input_norm: 'whiten', query_norm: true, value_gate: true });
    // no --seed: the page's seed, as every command's default (DEFAULT_SEED)
    expect(manifest.training.seed).toBe(DEFAULT_CONFIG.seed);
    const bytes = await readFile(join(out, 'bridge.safetensors'));
    const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8'));
    expect(header['bridges.0.in.whiten'].shape).toEqual([128, 128]);
    expect(header['bridges.0.attn.gate.weight'].shape).toEqual([4, 128]);
    const lg = await calm(['logits', '--bundle', out, '--ids', '10,11,12', '--json', '--quiet']);
    expect(lg.code, lg.stderr).toBe(0);
    expectOneLineError(await calm(['compose', 'train', '--anchor', 'arith-tiny', '--augment', 'kv-tiny', '--input-norm', 'zca', '--data', data, '--out', out]), 2, /input-norm/);
  });

  it('--no-query-norm --no-value-gate --position-bias 0 --input-norm none: the plain bridge; a flag and its --no- together are refused', async () => {
    const data = join(dir, 'plain.txt');
    await writeFile(data, 'abc+qdx= => 5\n004+007= => 11\n');
    const out = join(dir, 'plain');
    const base = ['compose', 'train', '--anchor', 'arith-tiny', '--augment', 'kv-tiny', '--data', data, '--steps', '1', '--batch', '2', '--out', out, '--quiet'];
    const train = await calm([...base, '--position-bias', '0', '--input-norm', 'none', '--no-query-norm', '--no-value-gate', '--json']);
    expect(train.code, train.stderr).toBe(0);
    const manifest = JSON.parse(await readFile(join(out, 'composition.json'), 'utf8')) as Record<string, unknown>;
    expect(['position_bias', 'input_norm', 'query_norm', 'value_gate'].filter((k) => k in manifest)).toEqual([]);
    expectOneLineError(await calm([...base, '--value-gate', '--no-value-gate']), 2, /--value-gate and --no-value-gate contradict each other/);
    expectOneLineError(await calm([...base, '--position-bias=-1']), 2, /--position-bias must be between 0 and 4096, got -1/);
  });

  it('refuses a connection past the models, and a missing subcommand, in one line', async () => {
    const r1 = await calm(['compose', 'train', '--anchor', 'arith-tiny', '--augment', 'kv-tiny', '--connections', '7:0', '--task', 'kv-arith', '--out', join(dir, 'y')]);
    expectOneLineError(r1, 1, /anchor layer 7 is out of range/);
    const r2 = await calm(['compose']);
    expectOneLineError(r2, 2, /compose needs train, eval or generate/);
  });
});

describe('calm compose on Llama and GPT-NeoX folders (tests/golden)', () => {
  const G = (name: string) => join(GOLDEN_DIR, name);
  /** A copy of a fixture's config and weights with another fixture's tokenizer.json (so the two vocabularies match). */
  async function withTokenizer(model: string, tokenizerOf: string, name: string): Promise<string> {
    const d = join(dir, name);
    await mkdir(d);
    for (const f of ['config.json', 'model.safetensors']) await copyFile(join(G(model), f), join(d, f));
    await copyFile(join(G(tokenizerOf), 'tokenizer.json'), join(d, 'tokenizer.json'));
    return d;
  }
  const DATA = 'abc+qdx= => 5\nthe cat => in the rain\nxyz-abc= => 2\n4+7= => 11\n';
  const anchorDir = 'tests/golden/llama-tiny-sharded';
  let neox = ''; // neox-tiny with llama-tiny's tokenizer
  let out = ''; // the bundle the first test writes and the next two read

  beforeAll(async () => {
    await useBackend('wasm');
  });

  it('a Llama anchor (sharded) with a GPT-NeoX augmenting model: compose train writes the bundle', async () => {
    neox = await withTokenizer('neox-tiny', 'llama-tiny', 'neox-llama-tok');
    const data = join(dir, 'arch.txt');
    await writeFile(data, DATA);
    out = join(dir, 'llama-neox');
    const train = await calm([
      'compose', 'train', '--anchor', anchorDir, '--augment', neox, '--connections', '0:1,2:f',
      '--data', data, '--steps', '3', '--lr', '0.01', '--batch', '2', '--out', out, '--json', '--quiet',
    ]);
    expect(train.code, train.stderr).toBe(0);
    expect(JSON.parse(train.stdout)).toMatchObject({ connections: [[0, 1], [2, 3]], num_heads: 6, steps: 3 });
    const composition = await readFile(join(out, 'composition.json'), 'utf8');
    const manifest = JSON.parse(composition);
    expect(manifest).toMatchObject({ anchor: { n_layer: 3, n_embd: 36, vocab_size: 50 }, augment: { n_layer: 3, n_embd: 40, vocab_size: 50 } });
    expect(resolvePath(out, manifest.anchor.path)).toBe(G('llama-tiny-sharded').replace(/\/$/, ''));
    const bridge = new Uint8Array(await readFile(join(out, 'bridge.safetensors')));
    const header = JSON.parse(new TextDecoder().decode(bridge.subarray(8, 8 + Number(new DataView(bridge.buffer, bridge.byteOffset).getBigUint64(0, true)))));
    expect(header['bridges.0.proj.weight'].shape).toEqual([36, 40]);
    expect(header['bridges.1.in.whiten'].shape).toEqual([40, 40]);
  });

  it('logits --bundle reads it back: the composition the core rebuilds in this process from the same files', async () => {
    const composition = await readFile(join(out, 'composition.json'), 'utf8');
    const bridge = new Uint8Array(await readFile(join(out, 'bridge.safetensors')));
    const ids = [16, 17, 18, 3, 32, 19, 39, 15];
    const lg = await calm(['logits', '--bundle', out, '--ids', ids.join(','), '--json', '--quiet']);
    expect(lg.code, lg.stderr).toBe(0);
    const cliLogits = JSON.parse(lg.stdout).logits as number[][];
    const anchor = await loadModelFolder(nodeFolderSource(G('llama-tiny-sharded')));
    const augment = await loadModelFolder(nodeFolderSource(neox));
    const parsed = parseBundle({ composition, bridge }, { anchor: anchor.config, augment: augment.config });
    const comp = new Composition(anchor.model, augment.model, parsed.spec, bridgesFromRaw(parsed.bridges));
    const x = tf.tensor2d([ids], [1, ids.length], 'int32');
    const composed = comp.forward(x);
    const alone = anchor.model.forward(x).logits!;
    const [composedRows, aloneRows] = [(await composed.array())[0], (await alone.array())[0]];
    tf.dispose([x, composed, alone]);
    disposeBridges(comp.bridges);
    anchor.model.dispose();
    augment.model.dispose();
    expect(maxAbsDiff(cliLogits, composedRows)).toBeLessThan(1e-6);
    expect(maxAbsDiff(cliLogits, aloneRows)).toBeGreaterThan(1e-4); // the bridges were trained: not the anchor alone
  });

  it('compose generate and compose eval read it back: their anchor and augmenting columns are each model alone', async () => {
    // compose generate: the anchor's and the augmenting model's columns are what generate gives for each alone
    const prompt = 'abc+qdx=';
    const gen = await calm(['compose', 'generate', '--bundle', out, '--prompt', prompt, '--max-tokens', '8', '--json', '--quiet']);
    expect(gen.code, gen.stderr).toBe(0);
    const outputs = JSON.parse(gen.stdout).outputs as Record<string, string>;
    for (const [column, model] of [['anchor', anchorDir], ['augment', neox]]) {
      const alone = await calm(['generate', '--model', model, '--prompt', prompt, '--max-tokens', '8', '--json', '--quiet']);
      expect(alone.code, alone.stderr).toBe(0);
      expect(outputs[column]).toBe(JSON.parse(alone.stdout).text);
    }
    expect(typeof outputs.composed).toBe('string');

    // compose eval: the anchor's column is what eval gives for it alone on the same examples
    const ev = await calm(['compose', 'eval', '--bundle', out, '--task', 'kv-arith', '--n', '12', '--json', '--quiet']);
    expect(ev.code, ev.stderr).toBe(0);
    const e = JSON.parse(ev.stdout);
    expect(e).toMatchObject({ task: 'kv-arith', keys: 'held-out', n: 12 });
    expect(e.accuracy).toBe(e.columns.composed);
    expect(e.chance).toBeGreaterThan(0);
    const single = await calm(['eval', '--model', anchorDir, '--task', 'kv-arith', '--n', '12', '--keys', 'held-out', '--json', '--quiet']);
    expect(single.code, single.stderr).toBe(0);
    expect(e.columns.anchor).toBe(JSON.parse(single.stdout).accuracy);
  });

  it('a GPT-2 anchor with a Llama augmenting model (rope_scaling llama3, its own head) trains and generates', async () => {
    const gpt2 = await withTokenizer('gpt2-tiny', 'llama-tiny', 'gpt2-llama-tok');
    const data = join(dir, 'arch2.txt');
    await writeFile(data, DATA);
    const out = join(dir, 'gpt2-llama');
    const train = await calm([
      'compose', 'train', '--anchor', gpt2, '--augment', 'tests/golden/llama-tiny-untied', '--connections', 'uniform:2',
      '--data', data, '--steps', '2', '--batch', '2', '--out', out, '--json', '--quiet',
    ]);
    expect(train.code, train.stderr).toBe(0);
    expect(JSON.parse(train.stdout)).toMatchObject({ connections: [[0, 0], [1, 1]], num_heads: 4 });
    const gen = await calm(['compose', 'generate', '--bundle', out, '--prompt', 'the', '--only', 'augment', '--max-tokens', '6', '--json', '--quiet']);
    expect(gen.code, gen.stderr).toBe(0);
    const alone = await calm(['generate', '--model', 'tests/golden/llama-tiny-untied', '--prompt', 'the', '--max-tokens', '6', '--json', '--quiet']);
    expect(JSON.parse(gen.stdout).outputs).toEqual({ augment: JSON.parse(alone.stdout).text });
  });

  it('a Llama anchor with a GPT-NeoX model of another vocabulary (the fixtures as they are) is refused in one line', async () => {
    const r = await calm(['compose', 'train', '--anchor', 'tests/golden/llama-tiny', '--augment', 'tests/golden/neox-tiny', '--task', 'kv-arith', '--steps', '1', '--out', join(dir, 'never')]);
    expectOneLineError(r, 1, /cannot compose tests\/golden\/llama-tiny with tests\/golden\/neox-tiny: the tokenizers differ at id 1: the anchor has '<\|im_start\|>', the augmenting model has '<\|padding\|>'/);
  });

  it('with --align the two compose across tokenizers: the bundle records both, eval and generate read it, each column with its own tokenizer', async () => {
    const data = join(dir, 'across.txt');
    await writeFile(data, 'the cat => sat\nab => cd\nhello => world\n');
    const out = join(dir, 'across');
    const train = await calm([
      'compose', 'train', '--anchor', 'tests/golden/llama-tiny', '--augment', 'tests/golden/neox-tiny', '--align',
      '--data', data, '--steps', '2', '--batch', '3', '--out', out, '--json', '--quiet',
    ]);
    expect(train.code, train.stderr).toBe(0);
    const manifest = JSON.parse(await readFile(join(out, 'composition.json'), 'utf8'));
    expect(manifest.alignment).toBe('utf8-prefix@2');
    expect(manifest.anchor.tokenizer).toMatch(/^[0-9a-f]{64}$/);
    expect(manifest.augment.tokenizer).toMatch(/^[0-9a-f]{64}$/);
    const gen = await calm(['compose', 'generate', '--bundle', out, '--prompt', 'the cat', '--max-tokens', '4', '--json', '--quiet']);
    expect(gen.code, gen.stderr).toBe(0);
    const alone = await calm(['generate', '--model', 'tests/golden/neox-tiny', '--prompt', 'the cat', '--max-tokens', '4', '--json', '--quiet']);
    const outputs = JSON.parse(gen.stdout).outputs;
    expect(outputs.augment).toBe(JSON.parse(alone.stdout).text);
    expect(typeof outputs.composed).toBe('string');
    // a recorded tokenizer that is not the model's is refused in one line
    manifest.anchor.tokenizer = manifest.augment.tokenizer;
    await writeFile(join(out, 'composition.json'), JSON.stringify(manifest));
    const bad = await calm(['compose', 'generate', '--bundle', out, '--prompt', 'the', '--max-tokens', '2']);
    expectOneLineError(bad, 1, /composition.json: the anchor's tokenizer.json is not the one the bridges were trained with/);
  });
});

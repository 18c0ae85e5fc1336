// Bad input, each a clear message and nothing lost: model folders the person imports
// (malformed or truncated safetensors, config.json with missing or absurd fields, an
// unsupported model_type, a tokenizer that does not match the weights' vocabulary), bundles
// that point past the models' layers or whose bridge file is cut short, examples longer than
// the models' context — through the worker's engine (Node, wasm), which keeps working after
// each; and pasted examples of 10 MB, through the store.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CalmEngine } from '../../src/worker/engine';
import type { CompositionSettings, ModelFile } from '../../src/worker/protocol';
import { examplesFromText } from '../../src/store/examples';
import { buildCharTokenizerJson, CHAR_VOCAB_SIZE } from '../../src/tokenizer/char';
import { summarizeModelConfig } from '../../src/io/model-summary';
import { modelFolder, type FolderFiles } from '../helpers/model-fixtures';

const MODELS_DIR = fileURLToPath(new URL('../../public/models/', import.meta.url));
const MODELS_URL = 'http://models.test/models';

const fetchShim: typeof fetch = async (input) => {
  const url = String(input);
  const path = decodeURIComponent(url.slice(MODELS_URL.length + 1));
  try {
    return new Response(await readFile(join(MODELS_DIR, path)), {
      headers: { 'content-type': path.endsWith('.json') ? 'application/json' : 'application/octet-stream' },
    });
  } catch {
    return new Response('not found', { status: 404 });
  }
};

const enc = (s: string) => new TextEncoder().encode(s).buffer as ArrayBuffer;
let kv: { config: Record<string, unknown>; tokenizer: string; weights: Uint8Array; card: string };

/** kv-tiny's folder as an import, with `change` applied. */
function folder(change: { config?: Record<string, unknown>; weights?: Uint8Array; tokenizer?: string; drop?: string } = {}): ModelFile[] {
  const files: ModelFile[] = [
    { name: 'config.json', bytes: enc(JSON.stringify({ ...kv.config, ...change.config })) },
    { name: 'model.safetensors', bytes: (change.weights ?? kv.weights).slice().buffer as ArrayBuffer },
    { name: 'tokenizer.json', bytes: enc(change.tokenizer ?? kv.tokenizer) },
    { name: 'README.md', bytes: enc(kv.card) },
  ];
  return files.filter((f) => f.name !== change.drop);
}

const settings: CompositionSettings = { anchor: 'arith-tiny', augment: 'kv-tiny', connections: [[1, 2]], numHeads: 4, output: 'zero-init', seed: 1 };
let engine: CalmEngine;
let bundle: { composition: string; bridge: ArrayBuffer };

beforeAll(async () => {
  kv = {
    config: JSON.parse(await readFile(join(MODELS_DIR, 'kv-tiny/config.json'), 'utf8')) as Record<string, unknown>,
    tokenizer: await readFile(join(MODELS_DIR, 'kv-tiny/tokenizer.json'), 'utf8'),
    weights: new Uint8Array(await readFile(join(MODELS_DIR, 'kv-tiny/model.safetensors'))),
    card: await readFile(join(MODELS_DIR, 'kv-tiny/README.md'), 'utf8'),
  };
  engine = new CalmEngine({ fetch: fetchShim });
  await engine.init({ backend: 'wasm', modelsUrl: MODELS_URL });
  await engine.compose(settings);
  await engine.train(
    { examples: [{ prompt: 'abc+abd=', completion: '3' }], heldOut: [], steps: 1, lr: 0.01, batch: 1, seed: 0, evalEvery: 0 },
    () => undefined,
  );
  bundle = await engine.exportBundle();
});
afterAll(() => engine?.stop());

/** The bridges the engine holds, unchanged by a refused input. */
async function stillHolds(): Promise<void> {
  const now = await engine.exportBundle();
  expect(Buffer.from(now.bridge).equals(Buffer.from(bundle.bridge))).toBe(true);
}

describe('importing a model folder', () => {
  it('registers a good GPT-2 folder under its name, in the list with its card, composable', async () => {
    const card = await engine.importModel(folder(), { id: 'my gpt', title: 'my gpt' });
    expect(card).toMatchObject({ id: 'my-gpt', title: 'my gpt', layers: 3, width: 128, heads: 4, context: 32, vocabSize: 1098, parameters: 739_712 });
    expect(card.card).toMatch(/^# kv-tiny/);
    expect((await engine.listModels()).map((c) => c.id)).toContain('my-gpt');
    const info = await engine.compose({ ...settings, augment: 'my-gpt' });
    expect(info.trainableParameters).toBeGreaterThan(0);
    // A name taken by a built-in model gets a suffix rather than replacing it.
    expect((await engine.importModel(folder(), { id: 'kv-tiny' })).id).toBe('kv-tiny-2');
    await engine.importBundle({ composition: bundle.composition, bridge: bundle.bridge.slice(0) });
    await stillHolds();
  });

  const cases: [string, () => ModelFile[], RegExp][] = [
    ['a truncated model.safetensors', () => folder({ weights: kv.weights.slice(0, Math.floor(kv.weights.length / 2)) }), /model\.safetensors/],
    [
      'a malformed safetensors header',
      () => folder({ weights: new Uint8Array([...new Uint8Array(new BigUint64Array([BigInt(1e12)]).buffer), 123, 34]) }),
      /bad\/model\.safetensors.*header/i,
    ],
    ['config.json without n_layer', () => folder({ config: { n_layer: undefined } }), /bad\/config\.json.*n_layer/],
    ['a negative width', () => folder({ config: { n_embd: -96 } }), /bad\/config\.json.*n_embd.*must be positive/],
    ['a width not divisible by the heads', () => folder({ config: { n_head: 5 } }), /bad\/config\.json: n_embd 128 is not divisible by n_head 5/],
    ['a context of 10⁹', () => folder({ config: { n_positions: 1e9, n_ctx: 1e9 } }), /bad\/config\.json.*n_positions.*must be at most 65536/],
    ['an unsupported architecture', () => folder({ config: { model_type: 'falcon' } }), /bad\/config\.json: model_type "falcon" is not supported \(supported: gpt2, llama, gpt_neox\)/],
    [
      'a tokenizer that does not match the weights',
      () => folder({ config: { vocab_size: 50 } }),
      /bad\/tokenizer\.json has id \d+ .* but the model's vocab_size is 50; the tokenizer does not belong to this model/,
    ],
    ['a missing tokenizer.json', () => folder({ drop: 'tokenizer.json' }), /bad lacks tokenizer\.json/],
  ];
  for (const [what, files, message] of cases) {
    it(`refuses ${what} with a message, and keeps working`, async () => {
      const err = await engine.importModel(files(), { id: 'bad' }).catch((e: unknown) => e as Error);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message.split('\n')).toHaveLength(1);
      expect((await engine.listModels()).map((c) => c.id)).not.toContain('bad');
      await stillHolds();
    });
  }
});

describe('importing a sharded model folder', () => {
  it('passes model.safetensors.index.json and its shards to the loader, counts its parameters, and composes with it', async () => {
    const hf = { model_type: 'llama', vocab_size: CHAR_VOCAB_SIZE, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 5, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 64, tie_word_embeddings: true };
    const files = await modelFolder(hf, buildCharTokenizerJson(), { shards: 2, seed: 3 });
    expect(Object.keys(files).sort()).toEqual(['config.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json', 'tokenizer.json']);
    const asImport = (f: FolderFiles) => Object.entries(f).map(([name, b]) => ({ name, bytes: b.slice().buffer as ArrayBuffer }));
    const card = await engine.importModel(asImport(files), { id: 'sharded-llama' });
    expect(card).toMatchObject({ id: 'sharded-llama', layers: 5, width: 16, heads: 4, context: 64, vocabSize: CHAR_VOCAB_SIZE, parameters: summarizeModelConfig(hf).parameters });
    const second = await engine.importModel(asImport(files), { id: 'sharded-llama-b' });
    const info = await engine.compose({ anchor: 'sharded-llama', augment: 'sharded-llama-b', connections: [[4, 2]], numHeads: 2, output: 'zero-init', seed: 1 });
    expect(second.id).toBe('sharded-llama-b');
    expect(info.trainableParameters).toBeGreaterThan(0);
    // A shard the index names but the folder lacks: one line naming it.
    const { 'model-00002-of-00002.safetensors': _, ...lacking } = files;
    const err = await engine.importModel(asImport(lacking), { id: 'bad' }).catch((e: unknown) => e as Error);
    expect((err as Error).message).toBe('bad lacks model-00002-of-00002.safetensors: model.safetensors.index.json names it as a shard');
    await engine.importBundle({ composition: bundle.composition, bridge: bundle.bridge.slice(0) });
    await stillHolds();
  });
});

describe('importing a bundle', () => {
  it('refuses connections past the models\' layers, naming them, and keeps the bridges', async () => {
    const json = JSON.parse(bundle.composition) as { connections: [number, number][] };
    json.connections = [[40, 2]];
    const err = await engine.importBundle({ composition: JSON.stringify(json), bridge: bundle.bridge.slice(0) }).catch((e: unknown) => e as Error);
    expect((err as Error).message).toMatch(/40/);
    await stillHolds();
  });

  it('refuses a cut-short bridge.safetensors and keeps the bridges', async () => {
    const err = await engine.importBundle({ composition: bundle.composition, bridge: bundle.bridge.slice(0, 100) }).catch((e: unknown) => e as Error);
    expect((err as Error).message).toMatch(/bridge\.safetensors/);
    await stillHolds();
  });

  it('says which models a bundle needs when they are not present', async () => {
    const json = JSON.parse(bundle.composition) as { anchor: { id: string } };
    json.anchor.id = 'big-anchor';
    const err = await engine.importBundle({ composition: JSON.stringify(json), bridge: bundle.bridge.slice(0) }).catch((e: unknown) => e as Error);
    expect((err as Error).message).toMatch(/needs the models big-anchor \(anchor\) and kv-tiny \(augmenting\); big-anchor is not among the loaded models/);
    await stillHolds();
  });
});

describe('examples', () => {
  it('refuses an example longer than the models\' context, naming it, and trains after', async () => {
    const long = { prompt: 'abc+'.repeat(20) + 'abd=', completion: '3' };
    const err = await engine
      .train({ examples: [{ prompt: 'abc=', completion: '1' }, long], heldOut: [], steps: 1, lr: 0.01, batch: 1, seed: 0, evalEvery: 0 }, () => undefined)
      .catch((e: unknown) => e as Error);
    expect((err as Error).message).toMatch(/example 2 is \d+ tokens .* but the models' context is 32/);
    await stillHolds();
  });

  it('refuses 10 MB of pasted examples as a whole, with a message', () => {
    const text = 'abc+abd= => 3\n'.repeat(Math.ceil((10 * 1024 * 1024) / 14));
    const ex = examplesFromText(text);
    expect(ex.parsed).toEqual([]);
    expect(ex.errors).toHaveLength(1);
    expect(ex.errors[0].message).toMatch(/MB|too (large|long)/i);
  });
});

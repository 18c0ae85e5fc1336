// Llama and GPT-NeoX against an independent PyTorch implementation (tests/golden/arch_ref.py):
// logits and the residual stream after every block within 1e-4, cached decoding, the sharded,
// BF16 and F16 folders, the rotary frequencies (rope.json), config errors one line each, and
// CALM compositions across architectures (calm-arch/) through the real bundle loading.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf, useBackend } from '../../src/model/tf';
import { countParameters, disposeResult, type CausalLM, type ModelConfig } from '../../src/model/causal-lm';
import { initModel } from '../../src/model/init';
import { architecture } from '../../src/model/registry';
import { ropeInvFreq } from '../../src/model/rope';
import type { LlamaConfig } from '../../src/model/llama';
import { loadModelFolder, modelFolderFiles, modelFromTensors, parseConfig } from '../../src/io/model-folder';
import { nodeFolderSource } from '../../src/io/node-source';
import { readModelWeights, SHARD_INDEX_FILE } from '../../src/io/shards';
import { memorySource } from '../../src/io/source';
import { ModelLoadError } from '../../src/io/errors';
import { parameterCount } from '../../src/cli/commands/models';
import { BRIDGE_FILE, COMPOSITION_FILE, bridgesFromRaw, disposeBridges, parseBundle } from '../../src/calm/bundle';
import { Composition, composedDecoder } from '../../src/calm/compose';
import { GOLDEN_DIR, maxAbsDiff } from './helpers/golden';

const TOLERANCE = 1e-4;
const models: CausalLM[] = [];

interface ArchGolden {
  ids: number[][]; // [B][T]
  logits: number[][][]; // [B][T][V]
  hidden?: number[][][][]; // [n_layer][B][T][D]
  decode: number[][]; // [T][V]: cached decoding of row 0
}

/** A golden folder loaded as the app loads one (model.safetensors or its shards). */
async function loadGolden(name: string): Promise<{ config: ModelConfig; model: CausalLM; golden: ArchGolden }> {
  const dir = join(GOLDEN_DIR, name);
  const src = nodeFolderSource(dir);
  const config = parseConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')), `${name}/config.json`);
  const { tensors, file } = await readModelWeights(src);
  const model = modelFromTensors(tensors, config, file);
  models.push(model);
  return { config, model, golden: JSON.parse(readFileSync(join(dir, 'golden.json'), 'utf8')) as ArchGolden };
}

/** Row 0 fed one token a step through the KV cache: [T][V]. */
function decodeRow0(model: CausalLM, ids: number[]): number[][] {
  const cache = model.newCache(1);
  const out: number[][] = [];
  for (const id of ids) {
    const x = tf.tensor2d([[id]], [1, 1], 'int32');
    const r = model.forward(x, {}, cache);
    out.push((r.logits!.arraySync() as number[][][])[0][0]);
    disposeResult(r);
    x.dispose();
  }
  cache.k.forEach((t) => t.dispose());
  cache.v.forEach((t) => t.dispose());
  return out;
}

beforeAll(async () => {
  await useBackend('wasm');
});

afterAll(() => models.forEach((m) => m.dispose()));

describe.each(['llama-tiny', 'llama-tiny-untied', 'neox-tiny', 'neox-tiny-serial'])('%s against PyTorch', (name) => {
  it('gives the golden logits, hidden states and cached decoding within 1e-4', async () => {
    const { model, golden, config } = await loadGolden(name);
    const B = golden.ids.length;
    const T = golden.ids[0].length;
    const taps = Array.from({ length: config.nLayer }, (_, i) => i);
    const ids = tf.tensor2d(golden.ids, [B, T], 'int32');
    const r = model.forward(ids, { taps });
    ids.dispose();
    expect(r.logits!.shape).toEqual([B, T, config.vocabSize]);
    const logitsErr = maxAbsDiff(r.logits!.arraySync(), golden.logits);
    const hiddenErr = taps.map((i) => maxAbsDiff(r.hidden.get(i)!.arraySync(), golden.hidden![i]));
    disposeResult(r);
    const decodeErr = maxAbsDiff(decodeRow0(model, golden.ids[0]), golden.decode);
    console.info(`${name}: logits ${logitsErr.toExponential(2)}, hidden ${hiddenErr.map((e) => e.toExponential(2)).join(', ')}, decode ${decodeErr.toExponential(2)}`);
    expect(golden.hidden!.length).toBe(config.nLayer);
    expect(logitsErr).toBeLessThan(TOLERANCE);
    hiddenErr.forEach((e) => expect(e).toBeLessThan(TOLERANCE));
    expect(decodeErr).toBeLessThan(TOLERANCE);
  });
});

describe.each(['llama-tiny-sharded', 'llama-tiny-bf16', 'llama-tiny-f16'])('%s', (name) => {
  it('loads and gives its golden logits and cached decoding within 1e-4', async () => {
    const { model, golden } = await loadGolden(name);
    const B = golden.ids.length;
    const T = golden.ids[0].length;
    const ids = tf.tensor2d(golden.ids, [B, T], 'int32');
    const r = model.forward(ids);
    ids.dispose();
    const err = maxAbsDiff(r.logits!.arraySync(), golden.logits);
    disposeResult(r);
    const decodeErr = maxAbsDiff(decodeRow0(model, golden.ids[0]), golden.decode);
    console.info(`${name}: logits ${err.toExponential(2)}, decode ${decodeErr.toExponential(2)}`);
    expect(err).toBeLessThan(TOLERANCE);
    expect(decodeErr).toBeLessThan(TOLERANCE);
  });
});

describe('a forward pass in pieces', () => {
  it('prefill then a cached chunk, and a block range from a tapped stream, equal the whole pass', async () => {
    const { model, golden } = await loadGolden('llama-tiny-untied');
    const row = golden.ids[0];
    const cache = model.newCache(1);
    const a = tf.tensor2d([row.slice(0, 5)], [1, 5], 'int32');
    const b = tf.tensor2d([row.slice(5)], [1, row.length - 5], 'int32');
    const r1 = model.forward(a, {}, cache);
    const r2 = model.forward(b, {}, cache);
    expect(cache.length).toBe(row.length);
    const chunked = [...(r1.logits!.arraySync() as number[][][])[0], ...(r2.logits!.arraySync() as number[][][])[0]];
    expect(maxAbsDiff(chunked, golden.logits[0])).toBeLessThan(TOLERANCE);
    const full = tf.tensor2d([row], [1, row.length], 'int32');
    const h0 = model.forward(full, { taps: [0], noHead: true });
    const rest = model.forward(null, { from: 1, input: h0.hidden.get(0)! });
    expect(maxAbsDiff((rest.logits!.arraySync() as number[][][])[0], golden.logits[0])).toBeLessThan(TOLERANCE);
    [r1, r2, h0, rest].forEach(disposeResult);
    tf.dispose([a, b, full, ...cache.k, ...cache.v]);
  });

  it('backpropagates to its input stream through grouped-query attention (as bridge training does), matching finite differences', async () => {
    // llama-tiny: 6 query heads over 2 kv heads; the gradient reaches the stream through k and v too
    const { model, golden } = await loadGolden('llama-tiny');
    const T = 6;
    const ids = tf.tensor2d([golden.ids[0].slice(0, T)], [1, T], 'int32');
    const h = model.forward(ids, { taps: [-1], noHead: true });
    const x0 = h.hidden.get(-1)!; // [1, T, D]: the embedding output
    const D = x0.shape[2];
    const R = tf.randomNormal([1, T, 50], 0, 1, 'float32', 7);
    const loss = (x: tf.Tensor3D) => tf.tidy(() => tf.sum(tf.mul(model.forward(null, { from: 0, input: x }).logits!, R)));
    const grad = tf.grad((x: tf.Tensor) => loss(x as tf.Tensor3D))(x0);
    const g = (await grad.data()) as Float32Array;
    const base = (await x0.data()) as Float32Array;
    // position 0's stream reaches later positions only through keys and values
    for (const at of [0, 2 * D + 5, (T - 1) * D + 11]) {
      const eps = 1e-2;
      const shifted = (d: number) => {
        const v = base.slice();
        v[at] += d;
        return tf.tidy(() => loss(tf.tensor3d(v, [1, T, D])).dataSync()[0]);
      };
      const fd = (shifted(eps) - shifted(-eps)) / (2 * eps);
      expect(Math.abs(g[at] - fd), `coordinate ${at}: ${g[at]} vs ${fd}`).toBeLessThan(2e-2 * Math.max(1, Math.abs(fd)));
    }
    expect(Math.abs(g[0])).toBeGreaterThan(0);
    disposeResult(h);
    tf.dispose([ids, R, grad]);
  });
});

describe('rotary frequencies', () => {
  const cases = (
    JSON.parse(readFileSync(join(GOLDEN_DIR, 'rope.json'), 'utf8')) as {
      cases: { name: string; dim: number; base: number; rope_scaling: Record<string, unknown> | null; inv_freq: number[] }[];
    }
  ).cases;
  it.each(cases.map((c) => [c.name, c] as const))('%s matches rope.json', (_, c) => {
    // rope_scaling read the way config.json is read
    const config = parseConfig({ ...LLAMA, head_dim: c.dim, rope_theta: c.base, rope_scaling: c.rope_scaling }) as LlamaConfig;
    const f = ropeInvFreq(c.dim, c.base, config.ropeScaling);
    expect(f.length).toBe(c.inv_freq.length);
    f.forEach((x, j) => expect(Math.abs(x - c.inv_freq[j]) / c.inv_freq[j]).toBeLessThan(1e-12));
  });
});

const LLAMA = {
  model_type: 'llama',
  vocab_size: 50,
  hidden_size: 36,
  intermediate_size: 56,
  num_hidden_layers: 3,
  num_attention_heads: 6,
  num_key_value_heads: 2,
  head_dim: 6,
  max_position_embeddings: 32,
  rms_norm_eps: 1e-5,
  tie_word_embeddings: true,
};
const NEOX = {
  model_type: 'gpt_neox',
  vocab_size: 50,
  hidden_size: 40,
  intermediate_size: 64,
  num_hidden_layers: 3,
  num_attention_heads: 5,
  hidden_act: 'gelu',
  rotary_pct: 0.25,
  rotary_emb_base: 10000,
  max_position_embeddings: 32,
};

describe('config.json errors', () => {
  it.each([
    [{ ...LLAMA, hidden_size: undefined }, 'bad-config', 'config.json: hidden_size is missing'],
    [{ ...LLAMA, num_hidden_layers: 2.5 }, 'bad-config', 'config.json: num_hidden_layers must be an integer, found 2.5'],
    [{ ...LLAMA, num_key_value_heads: 4 }, 'bad-config', 'config.json: num_attention_heads 6 is not divisible by num_key_value_heads 4'],
    [{ ...LLAMA, head_dim: 5 }, 'bad-config', 'config.json: head_dim 5 must be even (rotary embeddings rotate pairs of dims)'],
    [{ ...LLAMA, hidden_act: 'gelu' }, 'unsupported-model', 'config.json: hidden_act "gelu" is not supported (supported: silu)'],
    [{ ...LLAMA, attention_bias: true }, 'unsupported-model', 'config.json: attention_bias true is not supported (only false: q/k/v/o without biases)'],
    [{ ...LLAMA, mlp_bias: true }, 'unsupported-model', 'config.json: mlp_bias true is not supported (only false: gate/up/down without biases)'],
    [
      { ...LLAMA, rope_scaling: { rope_type: 'yarn', factor: 4 } },
      'unsupported-model',
      'config.json: rope_scaling.rope_type "yarn" is not supported (supported: null, linear, llama3)',
    ],
    [{ ...LLAMA, rope_scaling: { type: 'linear' } }, 'bad-config', 'config.json: rope_scaling.factor must be a positive number, found nothing'],
    [{ ...LLAMA, rope_scaling: 'linear' }, 'bad-config', 'config.json: rope_scaling must be an object or null, found "linear"'],
    [{ ...NEOX, hidden_act: 'gelu_new' }, 'unsupported-model', 'config.json: hidden_act "gelu_new" is not supported (supported: gelu)'],
    [{ ...NEOX, rotary_pct: 0.1 }, 'bad-config', 'config.json: rotary_pct 0.1 gives 0 rotary dims per head of 8; they must be even and at least 2'],
    [{ ...NEOX, attention_bias: false }, 'unsupported-model', 'config.json: attention_bias false is not supported (only true: query_key_value and dense with biases)'],
    [{ ...NEOX, tie_word_embeddings: true }, 'unsupported-model', 'config.json: tie_word_embeddings true is not supported (GPT-NeoX has its own embed_out)'],
    [{ ...NEOX, hidden_size: 42 }, 'bad-config', 'config.json: hidden_size 42 is not divisible by num_attention_heads 5'],
  ])('%j → %s', (json, code, message) => {
    let err: unknown;
    try {
      parseConfig(json);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ModelLoadError);
    expect((err as ModelLoadError).code).toBe(code);
    expect((err as ModelLoadError).message).toBe(message);
  });

  it('an untied Llama without lm_head.weight is missing a tensor', async () => {
    const dir = join(GOLDEN_DIR, 'llama-tiny');
    const config = parseConfig({ ...LLAMA, tie_word_embeddings: false });
    const { tensors } = await readModelWeights(nodeFolderSource(dir));
    expect(() => modelFromTensors(tensors, config, 'llama-tiny/model.safetensors')).toThrow(
      'llama-tiny/model.safetensors: tensor "lm_head.weight" is missing; a Llama checkpoint with n_layer 3 needs it',
    );
  });
});

describe('sharded checkpoints', () => {
  const dir = join(GOLDEN_DIR, 'llama-tiny-sharded');
  const files = (): Record<string, Uint8Array | string> => ({
    [SHARD_INDEX_FILE]: readFileSync(join(dir, SHARD_INDEX_FILE), 'utf8'),
    'model-00001-of-00002.safetensors': new Uint8Array(readFileSync(join(dir, 'model-00001-of-00002.safetensors'))),
    'model-00002-of-00002.safetensors': new Uint8Array(readFileSync(join(dir, 'model-00002-of-00002.safetensors'))),
  });
  const index = () => JSON.parse(files()[SHARD_INDEX_FILE] as string) as { weight_map: Record<string, string> };
  const failure = async (f: Record<string, Uint8Array | string>): Promise<ModelLoadError> => {
    const e = await readModelWeights(memorySource('m', f)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ModelLoadError);
    return e as ModelLoadError;
  };

  it('read to exactly the tensors of model.safetensors', async () => {
    const sharded = await readModelWeights(memorySource('m', files()));
    const single = await readModelWeights(nodeFolderSource(join(GOLDEN_DIR, 'llama-tiny')));
    expect(sharded.file).toBe(`m/${SHARD_INDEX_FILE}`);
    expect([...sharded.tensors.keys()].sort()).toEqual([...single.tensors.keys()].sort());
    for (const [name, t] of single.tensors) expect(sharded.tensors.get(name)!.data).toEqual(t.data);
  });

  it('count their parameters from the index as calm models does (a head of their own included)', async () => {
    const untied = join(GOLDEN_DIR, 'llama-tiny-untied');
    const { model } = await loadGolden('llama-tiny-untied');
    const tmp = await mkdtemp(join(tmpdir(), 'calm-shards-'));
    try {
      const shard = 'model-00001-of-00001.safetensors';
      await writeFile(join(tmp, shard), readFileSync(join(untied, 'model.safetensors')));
      const weightMap = Object.fromEntries([...model.tensors().keys()].map((n) => [n, shard]));
      await writeFile(join(tmp, SHARD_INDEX_FILE), JSON.stringify({ metadata: {}, weight_map: weightMap }));
      // tied in config.json, so only the names tell that the file has lm_head.weight of its own
      const config = { ...(JSON.parse(readFileSync(join(untied, 'config.json'), 'utf8')) as object), tie_word_embeddings: true };
      expect(weightMap['lm_head.weight']).toBe(shard);
      expect((await parameterCount(tmp, config, 'config.json')).parameters).toBe(countParameters(model));
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });

  it('a missing shard, a tensor in another shard than the map says, or left out of the map, is one line each', async () => {
    const noShard = files();
    delete noShard['model-00002-of-00002.safetensors'];
    expect((await failure(noShard)).message).toBe(`m/model-00002-of-00002.safetensors not found; ${SHARD_INDEX_FILE} names it as a shard`);

    const moved = index();
    moved.weight_map['model.norm.weight'] = 'model-00001-of-00002.safetensors';
    const e1 = await failure({ ...files(), [SHARD_INDEX_FILE]: JSON.stringify(moved) });
    expect(e1.code).toBe('bad-shards');
    expect(e1.message).toBe(`m/model-00002-of-00002.safetensors: tensor "model.norm.weight" is mapped to "model-00001-of-00002.safetensors" in ${SHARD_INDEX_FILE}`);

    const left = index();
    delete left.weight_map['model.norm.weight'];
    expect((await failure({ ...files(), [SHARD_INDEX_FILE]: JSON.stringify(left) })).message).toBe(
      `m/model-00002-of-00002.safetensors: tensor "model.norm.weight" is not in ${SHARD_INDEX_FILE}'s weight_map`,
    );

    const extra = index();
    extra.weight_map['model.layers.9.mlp.up_proj.weight'] = 'model-00002-of-00002.safetensors';
    expect((await failure({ ...files(), [SHARD_INDEX_FILE]: JSON.stringify(extra) })).message).toBe(
      `m/model-00002-of-00002.safetensors: tensor "model.layers.9.mlp.up_proj.weight" is missing; ${SHARD_INDEX_FILE} maps it to this shard`,
    );

    const outside = index();
    outside.weight_map['model.norm.weight'] = '../model.safetensors';
    expect((await failure({ ...files(), [SHARD_INDEX_FILE]: JSON.stringify(outside) })).code).toBe('bad-shards');

    expect((await failure({ [SHARD_INDEX_FILE]: '{"weight_map": []}' })).message).toBe(
      `m/${SHARD_INDEX_FILE}: weight_map must be an object {tensor name: shard file}`,
    );
    expect((await failure({})).message).toBe(`m/model.safetensors not found (nor ${SHARD_INDEX_FILE} for a sharded checkpoint)`);
  });
});

describe('saving', () => {
  it.each([
    ['llama', { ...LLAMA, tie_word_embeddings: false, rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 16 } }],
    ['gpt_neox', { ...NEOX, use_parallel_residual: false }],
  ])('a fresh %s model written as a folder loads back to the same logits', async (_, json) => {
    const config = parseConfig(json);
    const model = initModel(architecture(config.modelType), config, 7);
    const tokenizer = { model: { vocab: { a: 0, b: 1 } } };
    const loaded = await loadModelFolder(memorySource('saved', await modelFolderFiles(model, tokenizer)));
    expect(loaded.config).toEqual(config);
    const ids = tf.tensor2d([[3, 1, 4, 1, 5]], [1, 5], 'int32');
    const a = model.forward(ids);
    const b = loaded.model.forward(ids);
    expect(maxAbsDiff(a.logits!.arraySync(), b.logits!.arraySync())).toBe(0);
    [a, b].forEach(disposeResult);
    ids.dispose();
    model.dispose();
    loaded.model.dispose();
  });
});

describe.each(['gpt2-llama', 'llama-gpt2'])('calm-arch/%s against PyTorch', (name) => {
  it('gives the golden composed logits within 1e-4, in one pass and decoding token by token', async () => {
    const dir = join(GOLDEN_DIR, 'calm-arch', name);
    const composition = readFileSync(join(dir, COMPOSITION_FILE), 'utf8');
    const paths = JSON.parse(composition) as { anchor: { path: string }; augment: { path: string } };
    const load = async (rel: string) => {
      const src = nodeFolderSource(join(dir, rel));
      const config = parseConfig(JSON.parse(await src.readText('config.json')));
      const { tensors, file } = await readModelWeights(src);
      const model = modelFromTensors(tensors, config, file);
      models.push(model);
      return model;
    };
    const anchor = await load(paths.anchor.path);
    const augment = await load(paths.augment.path);
    const parsed = parseBundle({ composition, bridge: new Uint8Array(readFileSync(join(dir, BRIDGE_FILE))) }, { anchor: anchor.config, augment: augment.config });
    const bridges = bridgesFromRaw(parsed.bridges);
    const comp = new Composition(anchor, augment, parsed.spec, bridges);
    const g = JSON.parse(readFileSync(join(GOLDEN_DIR, 'calm-arch', 'golden.json'), 'utf8')) as { ids: number[][] } & Record<string, { logits: number[][][] }>;
    const B = g.ids.length;
    const T = g.ids[0].length;
    const x = tf.tensor2d(g.ids, [B, T], 'int32');
    const logits = comp.forward(x);
    const err = maxAbsDiff(logits.arraySync(), g[name].logits);
    tf.dispose([x, logits]);
    const dec = composedDecoder(comp, B);
    let decErr = 0;
    for (let t = 0; t < T; t++) {
      const step = dec.feed(g.ids.map((row) => [row[t]]));
      decErr = Math.max(decErr, maxAbsDiff(step.arraySync(), g[name].logits.map((row) => row[t])));
      step.dispose();
    }
    dec.dispose();
    disposeBridges(bridges);
    console.info(`calm-arch/${name}: max |logits - golden| = ${err.toExponential(2)}, decoding ${decErr.toExponential(2)}`);
    expect(err).toBeLessThan(TOLERANCE);
    expect(decErr).toBeLessThan(TOLERANCE);
  });
});

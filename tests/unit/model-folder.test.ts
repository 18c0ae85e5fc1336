import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf, useBackend } from '../../src/model/tf';
import type { CausalLM } from '../../src/model/causal-lm';
import type { GPT, GPT2Config } from '../../src/model/gpt2';
import { expectedTensors, loadModelFolder, modelFolderFiles, modelFromTensors, modelToTensors, parseConfig } from '../../src/io/model-folder';
import { parseSafetensors, type RawTensor } from '../../src/io/safetensors';
import { memorySource, urlSource } from '../../src/io/source';
import { nodeFolderSource } from '../../src/io/node-source';
import { parseBuiltinIndex } from '../../src/io/builtin';
import { ModelLoadError, SafetensorsError } from '../../src/io/errors';

beforeAll(async () => {
  await useBackend('cpu');
});

const HF = {
  model_type: 'gpt2',
  vocab_size: 12,
  n_positions: 8,
  n_embd: 8,
  n_layer: 2,
  n_head: 2,
  layer_norm_epsilon: 1e-5,
  activation_function: 'gelu_new',
};
const CONFIG: GPT2Config = {
  modelType: 'gpt2',
  vocabSize: 12,
  nPositions: 8,
  nEmbd: 8,
  nLayer: 2,
  nHead: 2,
  layerNormEpsilon: 1e-5,
  activation: 'gelu_new',
};

/** A byte-level-free toy BPE tokenizer.json with ids 0..10 (11 < vocab_size 12). */
const TOKENIZER = {
  version: '1.0',
  added_tokens: [{ id: 10, content: '<|endoftext|>', special: true }],
  model: { type: 'BPE', vocab: Object.fromEntries('abcdefghij'.split('').map((c, i) => [c, i])), merges: [] },
};

/** Deterministic pseudo-random values, so failures reproduce. */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    out[i] = s / 2 ** 31 - 0.5;
  }
  return out;
}

/** The HF tensors of CONFIG as parseSafetensors returns them, optionally prefixed. */
function rawTensors(prefix = '', config = CONFIG): Map<string, RawTensor> {
  const m = new Map<string, RawTensor>();
  expectedTensors(config).forEach(([name, shape], k) => {
    m.set(prefix + name, { dtype: 'F32', shape, data: values(shape.reduce((a, b) => a * b, 1), k + 1) });
  });
  return m;
}

function loadError(f: () => unknown): ModelLoadError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ModelLoadError);
    expect((e as Error).message).not.toContain('\n');
    return e as ModelLoadError;
  }
  throw new Error('expected a ModelLoadError');
}

async function loadErrorAsync(p: Promise<unknown>): Promise<ModelLoadError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ModelLoadError);
    return e as ModelLoadError;
  }
  throw new Error('expected a ModelLoadError');
}

async function expectSameWeights(a: CausalLM, b: CausalLM): Promise<void> {
  const ta = await modelToTensors(a);
  const tb = await modelToTensors(b);
  expect(Object.keys(ta).sort()).toEqual(Object.keys(tb).sort());
  for (const k of Object.keys(ta)) {
    expect(tb[k].shape, k).toEqual(ta[k].shape);
    expect(tb[k].data, k).toEqual(ta[k].data);
  }
}

describe('parseConfig', () => {
  it('reads HF GPT-2 fields, with defaults and the n_ctx fallback', () => {
    expect(parseConfig(HF)).toEqual(CONFIG);
    const { n_positions: _p, layer_norm_epsilon: _e, activation_function: _a, ...rest } = HF;
    expect(parseConfig({ ...rest, n_ctx: 8, architectures: ['GPT2LMHeadModel'], n_inner: null })).toEqual(CONFIG);
    expect((parseConfig({ ...HF, activation_function: 'gelu_pytorch_tanh' }) as GPT2Config).activation).toBe('gelu_new');
    expect(parseConfig({ ...HF, n_inner: 32 }).nEmbd).toBe(8);
  });

  it.each<[string, Record<string, unknown>, string, string, RegExp]>([
    ['missing field', { n_layer: undefined }, 'bad-config', 'n_layer', /n_layer is missing/],
    ['negative size', { n_head: -2 }, 'bad-config', 'n_head', /n_head must be positive, found -2/],
    ['zero size', { n_layer: 0 }, 'bad-config', 'n_layer', /n_layer must be positive, found 0/],
    ['non-integer', { n_embd: 7.5 }, 'bad-config', 'n_embd', /n_embd must be an integer, found 7.5/],
    ['string size', { vocab_size: '12' }, 'bad-config', 'vocab_size', /vocab_size must be an integer, found "12"/],
    ['width not divisible by heads', { n_head: 3 }, 'bad-config', 'n_head', /n_embd 8 is not divisible by n_head 3/],
    ['absurd context', { n_positions: 1e9 }, 'bad-config', 'n_positions', /n_positions must be at most 65536, found 1000000000/],
    ['absurd width', { n_embd: 32768, n_head: 1 }, 'bad-config', 'n_embd', /at most 16384/],
    ['absurd depth', { n_layer: 1000 }, 'bad-config', 'n_layer', /at most 256/],
    ['absurd vocab', { vocab_size: 2_000_000 }, 'bad-config', 'vocab_size', /at most 1000000/],
    ['bad epsilon', { layer_norm_epsilon: -1 }, 'bad-config', 'layer_norm_epsilon', /layer_norm_epsilon must be positive/],
    ['unsupported model_type', { model_type: 'falcon' }, 'unsupported-model', 'model_type', /"falcon" is not supported \(supported: gpt2, llama, gpt_neox\)/],
    ['missing model_type', { model_type: undefined }, 'bad-config', 'model_type', /model_type is missing/],
    ['unsupported activation', { activation_function: 'relu' }, 'unsupported-model', 'activation_function', /"relu"/],
    ['unsupported n_inner', { n_inner: 10 }, 'unsupported-model', 'n_inner', /n_inner 10/],
  ])('rejects %s', (_label, change, code, field, message) => {
    const err = loadError(() => parseConfig({ ...HF, ...change }, 'tiny/config.json'));
    expect(err.code).toBe(code);
    expect(err.field).toBe(field);
    expect(err.file).toBe('tiny/config.json');
    expect(err.message).toMatch(/^tiny\/config\.json/);
    expect(err.message).toMatch(message);
  });

  it('rejects something that is not an object', () => {
    expect(loadError(() => parseConfig([1, 2])).code).toBe('bad-config');
    expect(loadError(() => parseConfig(null)).code).toBe('bad-config');
  });
});

describe('modelFromTensors', () => {
  it.each(['', 'transformer.'])('loads tensors named with prefix %j', (prefix) => {
    const raw = rawTensors(prefix);
    raw.set(`${prefix}h.0.attn.bias`, { dtype: 'U8', shape: [1, 1, 8, 8], data: new Uint8Array(64) }); // ignored buffer
    raw.set(`${prefix}h.1.attn.masked_bias`, { dtype: 'F32', shape: [], data: new Float32Array([-1e4]) });
    const m = modelFromTensors(raw, CONFIG);
    const w = (m as GPT).weights; // placed by the table's keys
    try {
      expect(w.blocks).toHaveLength(2);
      expect(w.wte.shape).toEqual([12, 8]);
      expect(w.blocks[1].mlp.cFcW.shape).toEqual([8, 32]);
      expect(w.blocks[0].attn.cAttnB.shape).toEqual([24]);
      expect(w.lmHead).toBeUndefined();
      expect(w.blocks[1].attn.cProjW.dtype).toBe('float32');
      expect(w.blocks[1].attn.cProjW.dataSync()).toEqual(raw.get(`${prefix}h.1.attn.c_proj.weight`)!.data);
      expect(w.lnF.beta.dataSync()).toEqual(raw.get(`${prefix}ln_f.bias`)!.data);
      expect(m.tensors().get('h.1.attn.c_proj.weight')).toBe(w.blocks[1].attn.cProjW);
    } finally {
      m.dispose();
    }
  });

  it('keeps lm_head.weight when present', async () => {
    const raw = rawTensors('transformer.');
    raw.set('lm_head.weight', { dtype: 'F32', shape: [12, 8], data: values(96, 99) });
    const m = modelFromTensors(raw, CONFIG);
    expect((m as GPT).weights.lmHead!.shape).toEqual([12, 8]);
    expect((await modelToTensors(m))['lm_head.weight'].data).toEqual(values(96, 99));
    m.dispose();
  });

  it('accepts F16 weights (converted to float32 on parse)', () => {
    const raw = rawTensors();
    raw.set('ln_f.weight', { dtype: 'F16', shape: [8], data: new Float32Array(8).fill(1) });
    const m = modelFromTensors(raw, CONFIG);
    expect(Array.from(m.tensors().get('ln_f.weight')!.dataSync())).toEqual(new Array(8).fill(1));
    m.dispose();
  });

  const cases: [string, (m: Map<string, RawTensor>) => void, string, string, RegExp][] = [
    ['a missing tensor', (m) => m.delete('h.1.mlp.c_fc.bias'), 'missing-tensor', 'h.1.mlp.c_fc.bias', /is missing/],
    [
      'a misshaped tensor',
      (m) => m.set('wpe.weight', { dtype: 'F32', shape: [4, 8], data: new Float32Array(32) }),
      'bad-shape',
      'wpe.weight',
      /shape \[4, 8\], expected \[8, 8\]/,
    ],
    [
      'a transposed (nn.Linear) weight',
      (m) => m.set('h.0.mlp.c_fc.weight', { dtype: 'F32', shape: [32, 8], data: new Float32Array(256) }),
      'bad-shape',
      'h.0.mlp.c_fc.weight',
      /\[32, 8\], expected \[8, 32\] \(transposed/,
    ],
    [
      'an integer tensor',
      (m) => m.set('ln_f.bias', { dtype: 'I32', shape: [8], data: new Int32Array(8) }),
      'bad-dtype',
      'ln_f.bias',
      /dtype I32/,
    ],
    [
      'a NaN',
      (m) => m.get('h.1.ln_2.weight')!.data.set([NaN], 3),
      'non-finite',
      'h.1.ln_2.weight',
      /NaN at index 3/,
    ],
    [
      'an infinity',
      (m) => m.get('wte.weight')!.data.set([-Infinity], 0),
      'non-finite',
      'wte.weight',
      /-Infinity at index 0/,
    ],
    [
      'a block beyond n_layer',
      (m) => m.set('h.5.ln_1.weight', { dtype: 'F32', shape: [8], data: new Float32Array(8) }),
      'unexpected-tensor',
      'h.5.ln_1.weight',
      /h\.5\.\* but n_layer is 2/,
    ],
    [
      'an unknown tensor',
      (m) => m.set('score.weight', { dtype: 'F32', shape: [2, 8], data: new Float32Array(16) }),
      'unexpected-tensor',
      'score.weight',
      /not part of a GPT-2 model/,
    ],
    [
      'a weight given with and without the prefix',
      (m) => m.set('transformer.wte.weight', m.get('wte.weight')!),
      'duplicate-tensor',
      'transformer.wte.weight',
      /duplicates "wte.weight"/,
    ],
    [
      'a misshaped lm_head',
      (m) => m.set('lm_head.weight', { dtype: 'F32', shape: [8, 12], data: new Float32Array(96) }),
      'bad-shape',
      'lm_head.weight',
      /expected \[12, 8\]/,
    ],
  ];

  it.each(cases)('rejects %s, naming the tensor, without leaking tensors', (_label, change, code, tensor, message) => {
    const raw = rawTensors();
    change(raw);
    const before = tf.memory().numTensors;
    const err = loadError(() => modelFromTensors(raw, CONFIG, 'tiny/model.safetensors'));
    expect(tf.memory().numTensors).toBe(before);
    expect(err.code).toBe(code);
    expect(err.tensor).toBe(tensor);
    expect(err.file).toBe('tiny/model.safetensors');
    expect(err.message).toContain(`"${tensor}"`);
    expect(err.message).toContain('tiny/model.safetensors');
    expect(err.message).toMatch(message);
  });

  it('rejects weights of a different config', () => {
    const err = loadError(() => modelFromTensors(rawTensors(), { ...CONFIG, nLayer: 3 }));
    expect(err.code).toBe('missing-tensor');
    expect(err.tensor).toBe('h.2.ln_1.weight');
  });
});

describe('model folders', () => {
  it('round-trips modelFolderFiles → memorySource → loadModelFolder', async () => {
    const raw = rawTensors('transformer.');
    raw.set('lm_head.weight', { dtype: 'F32', shape: [12, 8], data: values(96, 7) });
    const model = modelFromTensors(raw, CONFIG);
    const files = await modelFolderFiles(model, TOKENIZER, '# tiny\n');
    expect(Object.keys(files).sort()).toEqual(['README.md', 'config.json', 'model.safetensors', 'tokenizer.json']);
    expect(JSON.parse(files['config.json'] as string)).toMatchObject({ model_type: 'gpt2', n_layer: 2, n_embd: 8 });
    // The written file uses HF names without the prefix, and format=pt for transformers.
    const st = parseSafetensors(files['model.safetensors'] as Uint8Array, 'x');
    expect(st.metadata).toEqual({ format: 'pt' });
    expect(st.tensors.has('h.0.attn.c_attn.weight')).toBe(true);
    expect(st.tensors.size).toBe(expectedTensors(CONFIG).length + 1);

    const before = tf.memory().numTensors;
    const loaded = await loadModelFolder(memorySource('tiny', files));
    expect(tf.memory().numTensors).toBe(before + expectedTensors(CONFIG).length + 1);
    expect(loaded.label).toBe('tiny');
    expect(loaded.config).toEqual(CONFIG);
    expect(loaded.tokenizerJson).toEqual(TOKENIZER);
    expect(loaded.card).toBe('# tiny\n');
    await expectSameWeights(model, loaded.model);
    loaded.model.dispose();
    model.dispose();
    expect(tf.memory().numTensors).toBe(before - expectedTensors(CONFIG).length - 1);
  });

  it('loads a folder without README.md', async () => {
    const model = modelFromTensors(rawTensors(), CONFIG);
    const files = await modelFolderFiles(model, TOKENIZER);
    expect(files['README.md']).toBeUndefined();
    const loaded = await loadModelFolder(memorySource('tiny', files));
    expect(loaded.card).toBeUndefined();
    expect((loaded.model as GPT).weights.lmHead).toBeUndefined();
    expect(loaded.model.tensors().has('lm_head.weight')).toBe(false);
    await expectSameWeights(model, loaded.model);
    loaded.model.dispose();
    model.dispose();
  });

  describe('errors', () => {
    let files: Record<string, Uint8Array | string>;
    beforeAll(async () => {
      const model = modelFromTensors(rawTensors(), CONFIG);
      files = await modelFolderFiles(model, TOKENIZER);
      model.dispose();
    });

    it('names a missing file', async () => {
      const { 'tokenizer.json': _t, ...rest } = files;
      const err = await loadErrorAsync(loadModelFolder(memorySource('tiny', rest)));
      expect(err.code).toBe('missing-file');
      expect(err.message).toBe('tiny/tokenizer.json not found');
    });

    it('names a file that is not JSON', async () => {
      const err = await loadErrorAsync(loadModelFolder(memorySource('tiny', { ...files, 'config.json': '{"n_layer": 2,' })));
      expect(err.code).toBe('bad-json');
      expect(err.file).toBe('tiny/config.json');
      expect(err.message).toMatch(/^tiny\/config\.json is not valid JSON/);
    });

    it('checks config.json', async () => {
      const config = JSON.stringify({ ...HF, model_type: 'falcon' });
      const err = await loadErrorAsync(loadModelFolder(memorySource('tiny', { ...files, 'config.json': config })));
      expect(err.code).toBe('unsupported-model');
      expect(err.message).toContain('tiny/config.json');
    });

    it('rejects a tokenizer with ids beyond vocab_size', async () => {
      const tok = { ...TOKENIZER, added_tokens: [{ id: 312, content: '<pad>' }] };
      const err = await loadErrorAsync(
        loadModelFolder(memorySource('tiny', { ...files, 'tokenizer.json': JSON.stringify(tok) })),
      );
      expect(err.code).toBe('vocab-mismatch');
      expect(err.message).toMatch(/tokenizer\.json has id 312 \("<pad>"\) but the model's vocab_size is 12/);
      // A Unigram vocab is a list: its ids are the indices.
      const unigram = { model: { type: 'Unigram', vocab: Array.from({ length: 13 }, (_, i) => [`t${i}`, -1]) } };
      const err2 = await loadErrorAsync(
        loadModelFolder(memorySource('tiny', { ...files, 'tokenizer.json': JSON.stringify(unigram) })),
      );
      expect(err2.message).toMatch(/has id 12 \("t12"\)/);
      const noVocab = JSON.stringify({ model: { type: 'BPE' } });
      const err3 = await loadErrorAsync(loadModelFolder(memorySource('tiny', { ...files, 'tokenizer.json': noVocab })));
      expect(err3.code).toBe('bad-tokenizer');
    });

    it('passes safetensors errors through, naming the file', async () => {
      const st = files['model.safetensors'] as Uint8Array;
      const before = tf.memory().numTensors;
      await expect(
        loadModelFolder(memorySource('tiny', { ...files, 'model.safetensors': st.subarray(0, st.length - 4) })),
      ).rejects.toSatisfy((e) => e instanceof SafetensorsError && e.code === 'truncated' && e.file === 'tiny/model.safetensors');
      expect(tf.memory().numTensors).toBe(before);
    });

    it('rejects weights that do not match config.json', async () => {
      const config = `${JSON.stringify({ ...HF, n_layer: 1 })}`;
      const before = tf.memory().numTensors;
      const err = await loadErrorAsync(loadModelFolder(memorySource('tiny', { ...files, 'config.json': config })));
      expect(err.code).toBe('unexpected-tensor');
      expect(err.message).toMatch(/h\.1\.\* but n_layer is 1/);
      expect(tf.memory().numTensors).toBe(before);
    });
  });
});

describe('file sources', () => {
  it('reads a folder from the Node file system', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'calm-model-'));
    try {
      const model = modelFromTensors(rawTensors(), CONFIG);
      const files = await modelFolderFiles(model, TOKENIZER, 'card');
      const src = nodeFolderSource(dir);
      const err = await loadErrorAsync(loadModelFolder(src));
      expect(err.code).toBe('missing-file');
      expect(err.message).toBe(`${dir}/config.json not found`);
      for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
      const loaded = await loadModelFolder(src);
      expect(loaded.card).toBe('card');
      await expectSameWeights(model, loaded.model);
      loaded.model.dispose();
      model.dispose();
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  it('fetches from a URL and names the URL and status on HTTP errors', async () => {
    const served: Record<string, string> = { 'config.json': JSON.stringify(HF), 'README.md': 'hello' };
    const asked: string[] = [];
    const fakeFetch = (async (input: string | URL | Request) => {
      const url = String(input);
      asked.push(url);
      const name = url.replace('https://x.test/models/tiny/', '');
      if (name === 'secret.json') return new Response('no', { status: 403, statusText: 'Forbidden' });
      if (name === 'spa.json') return new Response('<!doctype html>', { headers: { 'content-type': 'text/html' } });
      if (!(name in served)) return new Response('', { status: 404 });
      return new Response(served[name]);
    }) as typeof fetch;
    const src = urlSource('https://x.test/models/tiny', fakeFetch);
    expect(src.label).toBe('https://x.test/models/tiny');
    expect(JSON.parse(await src.readText('config.json'))).toEqual(HF);
    expect(new TextDecoder().decode(await src.readBytes('README.md'))).toBe('hello');
    expect(asked[0]).toBe('https://x.test/models/tiny/config.json');
    const e404 = await loadErrorAsync(src.readBytes('model.safetensors'));
    expect(e404.code).toBe('missing-file');
    expect(e404.message).toBe('https://x.test/models/tiny/model.safetensors not found (HTTP 404)');
    const e403 = await loadErrorAsync(src.readText('secret.json'));
    expect(e403.code).toBe('http-error');
    expect(e403.message).toContain('https://x.test/models/tiny/secret.json');
    expect(e403.message).toContain('403');
    expect((await loadErrorAsync(src.readText('spa.json'))).code).toBe('missing-file');
  });

  it('converts between text and bytes in memory', async () => {
    const src = memorySource('m', { 'a.txt': 'héllo', 'b.bin': new Uint8Array([104, 105]) });
    expect(await src.readText('b.bin')).toBe('hi');
    expect(new TextDecoder().decode(await src.readBytes('a.txt'))).toBe('héllo');
    expect((await loadErrorAsync(src.readText('toString'))).code).toBe('missing-file');
  });
});

describe('parseBuiltinIndex', () => {
  const index = {
    models: [
      { id: 'kv', role: 'augment', title: 'Key-value', description: 'knows the table', path: 'kv-aug' },
      { id: 'arith', role: 'anchor', title: 'Arithmetic', description: '', path: 'arith/anchor' },
    ],
    compositions: [{ id: 'kv-arith', title: 'KV + arith', path: 'compositions/kv-arith' }],
  };

  it('accepts a valid index', () => {
    expect(parseBuiltinIndex(index)).toEqual(index);
    expect(parseBuiltinIndex({ models: [] })).toEqual({ models: [] });
  });

  it.each<[string, unknown, string, RegExp]>([
    ['a bad role', { models: [{ ...index.models[0], role: 'teacher' }] }, 'models[0].role', /"anchor" or "augment", found "teacher"/],
    ['a missing title', { models: [{ ...index.models[0], title: undefined }] }, 'models[0].title', /title is missing/],
    ['a path leaving the folder', { models: [{ ...index.models[0], path: '../secret' }] }, 'models[0].path', /relative/],
    ['an absolute URL', { models: [{ ...index.models[0], path: 'https://evil.test/m' }] }, 'models[0].path', /relative/],
    ['no models list', { compositions: [] }, 'models', /models is missing/],
    ['a duplicate id', { models: [index.models[0], index.models[0]] }, 'models[1].id', /"kv" is used twice/],
  ])('rejects %s', (_label, json, field, message) => {
    const err = loadError(() => parseBuiltinIndex(json));
    expect(err.code).toBe('bad-index');
    expect(err.field).toBe(field);
    expect(err.message).toMatch(message);
  });
});

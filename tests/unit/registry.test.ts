// The model registry and the tensor table (docs/design.md § Models): config.json's model_type
// picks the architecture, an unknown one is one line naming the known ones; GPT-2's one table
// drives initialising, saving, loading, counting and shape checks; and the rest of src/ reaches
// GPT-2 only through the registry, so a second architecture is a new folder plus one line.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tf, useBackend } from '../../src/model/tf';
import { countParameters } from '../../src/model/causal-lm';
import { ModelConfigError } from '../../src/model/errors';
import { gpt2, GPT2_TENSORS, type GPT2Config } from '../../src/model/gpt2';
import { initModel, initTensors } from '../../src/model/init';
import { architecture, MODEL_TYPES, parseModelConfig } from '../../src/model/registry';
import { ARCHITECTURE_SPECS, architectureSpec } from '../../src/model/architectures';
import { flattenTensors, nestTensors, tableEntries, tableParameters, type TensorTable } from '../../src/model/tensor-table';
import { ModelLoadError } from '../../src/io/errors';
import { checkpointParameters, expectedTensors, loadModelFolder, modelFolderFiles, modelToTensors, parseConfig } from '../../src/io/model-folder';
import { parseSafetensors, writeSafetensors } from '../../src/io/safetensors';
import { memorySource } from '../../src/io/source';
import { importGraph, sourceFiles } from './helpers/import-graph';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

const CONFIG: GPT2Config = {
  modelType: 'gpt2',
  vocabSize: 11,
  nPositions: 8,
  nEmbd: 8,
  nLayer: 2,
  nHead: 2,
  layerNormEpsilon: 1e-5,
  activation: 'gelu_new',
};
const HF = { model_type: 'gpt2', vocab_size: 11, n_positions: 8, n_embd: 8, n_layer: 2, n_head: 2 };
const TOKENIZER = { model: { type: 'WordLevel', vocab: Object.fromEntries('abcdefghij'.split('').map((c, i) => [c, i])) } };

beforeAll(async () => {
  await useBackend('cpu');
});

function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

describe('the registry', () => {
  it('knows GPT-2, Llama and GPT-NeoX under their Hugging Face model_type', () => {
    expect(MODEL_TYPES).toEqual(['gpt2', 'llama', 'gpt_neox']);
    expect(MODEL_TYPES.map((t) => architecture(t).modelType)).toEqual(MODEL_TYPES);
    expect(architecture('gpt2')).toBe(gpt2);
    expect(gpt2.modelType).toBe('gpt2');
    expect(parseModelConfig(HF)).toEqual(CONFIG);
    expect(gpt2.parseConfig(gpt2.toHFConfig(CONFIG), 'x')).toEqual(CONFIG);
  });

  it.each<[string, unknown, string]>([
    ['an unknown model_type', 'falcon', 'config.json: model_type "falcon" is not supported (supported: gpt2, llama, gpt_neox)'],
    ['a model_type that is no string', 42, 'config.json: model_type 42 is not supported (supported: gpt2, llama, gpt_neox)'],
    ['an inherited property name', 'constructor', 'config.json: model_type "constructor" is not supported (supported: gpt2, llama, gpt_neox)'],
    ['no model_type', undefined, 'config.json: model_type is missing (supported: gpt2, llama, gpt_neox)'],
  ])('refuses %s in one line naming the known types', (_label, modelType, message) => {
    const e = thrown(() => architecture(modelType));
    expect(e).toBeInstanceOf(ModelConfigError);
    expect(e.message).toBe(message);
    expect((e as ModelConfigError).field).toBe('model_type');
    // the loader's form: a ModelLoadError naming the file
    const err = thrown(() => parseConfig({ ...HF, model_type: modelType }, 'tiny/config.json'));
    expect(err).toBeInstanceOf(ModelLoadError);
    expect(err.message).toBe(message.replace('config.json', 'tiny/config.json'));
    expect((err as ModelLoadError).code).toBe(modelType === undefined ? 'bad-config' : 'unsupported-model');
    expect((err as ModelLoadError).file).toBe('tiny/config.json');
  });

  it('refuses a config.json that is no object', () => {
    const err = thrown(() => parseConfig([HF], 'tiny/config.json'));
    expect(err).toBeInstanceOf(ModelLoadError);
    expect(err.message).toBe('tiny/config.json must hold a JSON object');
  });
});

describe("GPT-2's tensor table", () => {
  it('lists every tensor once, in checkpoint order, with shapes from the config', () => {
    const entries = tableEntries(GPT2_TENSORS, CONFIG);
    const names = entries.map((e) => e.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names.slice(0, 3)).toEqual(['wte.weight', 'wpe.weight', 'h.0.ln_1.weight']);
    expect(names.slice(-3)).toEqual(['ln_f.weight', 'ln_f.bias', 'lm_head.weight']);
    expect(entries.length).toBe(2 + 12 * CONFIG.nLayer + 3);
    expect(entries.find((e) => e.name === 'h.1.mlp.c_fc.weight')!.shape).toEqual([8, 32]);
    expect(entries.filter((e) => e.optional).map((e) => [e.name, e.tiedTo])).toEqual([['lm_head.weight', 'wte.weight']]);
    // the loader's list is the table's required rows
    expect(expectedTensors(CONFIG)).toEqual(entries.filter((e) => !e.optional).map((e) => [e.name, e.shape]));
  });

  it('initialises from its rules: normal weights, zero biases, unit LayerNorm scales, scaled residual projections', async () => {
    const t = initTensors(GPT2_TENSORS, { ...CONFIG, nEmbd: 64, nHead: 4, vocabSize: 200, nPositions: 64 }, 3);
    const std = async (name: string) => {
      const v = Array.from(await t.get(name)!.data());
      const mean = v.reduce((a, b) => a + b, 0) / v.length;
      return Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
    };
    expect([...(await t.get('h.0.ln_1.weight')!.data())].every((v) => v === 1)).toBe(true);
    expect([...(await t.get('h.1.attn.c_attn.bias')!.data())].every((v) => v === 0)).toBe(true);
    expect(await std('wte.weight')).toBeCloseTo(0.02, 2);
    expect(await std('wpe.weight')).toBeCloseTo(0.01, 2);
    expect(await std('h.0.mlp.c_proj.weight')).toBeCloseTo(0.02 / Math.sqrt(4), 2);
    expect(t.has('lm_head.weight')).toBe(false);
    tf.dispose([...t.values()]);
  });

  it.each([false, true])('drives save and load: a model initialised from the table (own LM head: %s) comes back identical', async (untied) => {
    const model = initModel(gpt2, CONFIG, 5, { optional: untied });
    const names = tableEntries(GPT2_TENSORS, CONFIG)
      .filter((e) => !e.optional || untied)
      .map((e) => e.name);
    expect([...model.tensors().keys()]).toEqual(names);
    const files = await modelFolderFiles(model, TOKENIZER);
    expect([...parseSafetensors(files['model.safetensors'] as Uint8Array, 'x').tensors.keys()].sort()).toEqual([...names].sort());
    const loaded = await loadModelFolder(memorySource('tiny', files));
    expect(loaded.config).toEqual(CONFIG);
    expect(await modelToTensors(loaded.model)).toEqual(await modelToTensors(model));
    // the same forward pass
    const ids = tf.tensor2d([[1, 2, 3, 4]], [1, 4], 'int32');
    const a = model.forward(ids).logits!;
    const b = loaded.model.forward(ids).logits!;
    expect(await b.data()).toEqual(await a.data());
    // counted the same from the table, from the file's names and from the tensors
    const count = countParameters(model);
    expect(checkpointParameters(CONFIG, names)).toBe(count);
    expect(tableParameters(GPT2_TENSORS, CONFIG, new Set(names))).toBe(count);
    tf.dispose([ids, a, b]);
    loaded.model.dispose();
    model.dispose();
  });

  it.each<[string, (t: Record<string, { shape: number[]; data: Float32Array }>) => void, string, string]>([
    ['a missing tensor', (t) => delete t['h.1.attn.c_proj.bias'], 'missing-tensor', 'tiny/model.safetensors: tensor "h.1.attn.c_proj.bias" is missing; a GPT-2 checkpoint with n_layer 2 needs it'],
    [
      'a misshaped tensor',
      (t) => (t['wpe.weight'] = { shape: [4, 8], data: new Float32Array(32) }),
      'bad-shape',
      'tiny/model.safetensors: tensor "wpe.weight" has shape [4, 8], expected [8, 8]',
    ],
    [
      'a tensor the table has no row for',
      (t) => (t['h.0.attn.q_proj.weight'] = { shape: [8, 8], data: new Float32Array(64) }),
      'unexpected-tensor',
      'tiny/model.safetensors: tensor "h.0.attn.q_proj.weight" is not part of a GPT-2 model',
    ],
  ])('refuses %s in one line, leaking no tensor', async (_label, change, code, message) => {
    const model = initModel(gpt2, CONFIG, 1);
    const files = await modelFolderFiles(model, TOKENIZER);
    const tensors = await modelToTensors(model);
    model.dispose();
    change(tensors);
    const before = tf.memory().numTensors;
    const bad = { ...files, 'model.safetensors': writeSafetensors(tensors) };
    const err = await loadModelFolder(memorySource('tiny', bad)).then(
      () => new Error('loaded'),
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(ModelLoadError);
    expect((err as ModelLoadError).code).toBe(code);
    expect(err.message).toBe(message);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('the generic table functions', () => {
  // A made-up architecture's table, to show that nothing in them is GPT-2's.
  interface ToyConfig {
    width: number;
    depth: number;
  }
  const TOY: TensorTable<ToyConfig> = {
    before: [{ name: 'embed', key: 'embed', shape: (c) => [3, c.width], init: () => ({ kind: 'normal', std: 1 }) }],
    layer: [
      { name: 'w', key: 'mix.w', shape: (c) => [c.width, c.width], init: () => ({ kind: 'zeros' }) },
      { name: 'extra', key: 'mix.extra', shape: (c) => [c.width], init: () => ({ kind: 'ones' }), optional: true },
    ],
    after: [{ name: 'out', key: 'out', shape: (c) => [c.width], init: () => ({ kind: 'ones' }) }],
    layers: (c) => c.depth,
    layerPrefix: (i) => `layers.${i}.`,
    layerOf: (name) => (/^layers\.(\d+)\./.test(name) ? Number(name.split('.')[1]) : undefined),
    layerKey: 'layers',
  };
  const c = { width: 2, depth: 2 };

  it('place tensors by key, name them back, count them and leave absent optional rows out', () => {
    const entries = tableEntries(TOY, c);
    expect(entries.map((e) => e.name)).toEqual(['embed', 'layers.0.w', 'layers.0.extra', 'layers.1.w', 'layers.1.extra', 'out']);
    const values = new Map(entries.filter((e) => e.name !== 'layers.1.extra').map((e) => [e.name, e.name.length]));
    const nested = nestTensors(entries, (e) => values.get(e.name));
    expect(nested).toEqual({ embed: 5, layers: [{ mix: { w: 10, extra: 14 } }, { mix: { w: 10 } }], out: 3 });
    expect(flattenTensors(entries, nested)).toEqual(values);
    expect(tableParameters(TOY, c, new Set(['layers.0.extra']))).toBe(6 + 2 * 4 + 2 + 2);
    expect(() => nestTensors(entries, (e) => (e.name === 'out' ? undefined : 1))).toThrow('tensor out is missing');
    const t = initTensors(TOY, c, 1, { optional: true });
    expect([...t.keys()]).toEqual(entries.map((e) => e.name));
    tf.dispose([...t.values()]);
  });
});

describe('one architecture folder', () => {
  // Adding an architecture is a new folder, its line in the tfjs-free list
  // (src/model/architectures.ts, which the page reads) and its line in the registry, whose type
  // demands one per listed model_type: nothing else in src/ imports an architecture's folder
  // (every folder of src/model/ is one).
  const LISTS = ['model/architectures.ts', 'model/registry.ts'];

  it('only the two lists import an architecture folder of src/model/', () => {
    const graph = importGraph(SRC);
    const folders = readdirSync(join(SRC, 'model'), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => `model/${d.name}/`);
    expect(folders).toContain('model/gpt2/');
    const imports: string[] = [];
    for (const [file, deps] of graph) {
      const from = relative(SRC, file);
      for (const folder of folders) {
        if (!from.startsWith(folder) && !LISTS.includes(from) && deps.some((d) => relative(SRC, d).startsWith(folder))) imports.push(`${from} → ${folder}`);
      }
    }
    expect(imports.sort()).toEqual([]);
  });

  it('the registry derives from the tfjs-free list: the same model_types, each architecture its spec plus create', () => {
    expect(Object.keys(ARCHITECTURE_SPECS)).toEqual([...MODEL_TYPES]);
    for (const t of MODEL_TYPES) {
      const { create, ...rest } = architecture(t);
      expect(typeof create).toBe('function');
      expect(rest).toEqual(ARCHITECTURE_SPECS[t]);
      expect(architectureSpec(t)).toBe(ARCHITECTURE_SPECS[t]);
    }
  });

  it('what the UI thread reaches at run time never imports tfjs', () => {
    // value imports only: `import type` is erased
    const valueImports = (file: string): string[] => {
      const code = readFileSync(file, 'utf8');
      return [...code.matchAll(/^(?:import|export)\s+(?!type\b)[^;]*?from\s+['"]([^'"]+)['"]/gm)].map((m) => m[1]);
    };
    const graph = importGraph(SRC);
    const files = sourceFiles(SRC);
    const start = files.filter((f) => /^(store|ui)\//.test(relative(SRC, f)) || relative(SRC, f) === 'main.tsx');
    const seen = new Set<string>();
    const queue = [...start];
    while (queue.length) {
      const f = queue.pop()!;
      if (seen.has(f)) continue;
      seen.add(f);
      const specs = valueImports(f);
      expect(specs.filter((s) => s.startsWith('@tensorflow/')), relative(SRC, f)).toEqual([]);
      const relativeSpecs = new Set(specs.filter((s) => s.startsWith('.')));
      // follow the value imports among this file's resolved imports
      for (const dep of graph.get(f) ?? []) {
        const rel = relative(SRC, dep);
        if ([...relativeSpecs].some((s) => rel.replace(/(\/index)?\.tsx?$/, '').endsWith(s.replace(/^(\.\.?\/)+/, '')))) queue.push(dep);
      }
    }
    const reached = [...seen].map((f) => relative(SRC, f));
    expect(reached).toContain('model/architectures.ts');
    expect(reached).toContain('model/llama/tensors.ts');
    expect(reached).not.toContain('model/tf.ts');
  });
});

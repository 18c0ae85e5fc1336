// The worker's engine in Node (wasm backend), over the built-in models in public/models served
// through a fetch shim: init → models → compose → train (events, stop, one at a time) →
// generate → evaluate → attention → ablation → bundle round trip → the one-line errors.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/model/tf';
import { SPEC_DEFAULTS } from '../../src/calm/spec';
import { parseConnections } from '../../src/calm/connections';
import { KV_SPEC, makeExamples, makeKeyTable } from '../../src/tasks/kv';
import { compositionExamples, KV_RECIPE } from '../../src/tasks/recipe';
import { codecOf, exactMatch, TABLE_ROWS } from '../../src/pipeline/evaluate';
import { loadModelFolder } from '../../src/io/model-folder';
import { nodeFolderSource } from '../../src/io/node-source';
import { parseSafetensors } from '../../src/io/safetensors';
import { cachedDecoder } from '../../src/model/sampling';
import { Tokenizer } from '../../src/tokenizer';
import { CalmEngine } from '../../src/worker/engine';
import { NO_WEBGPU } from '../../src/worker/backend-choice';
import type { CompositionSettings, TokenEvent, TrainEvent } from '../../src/worker/protocol';

const MODELS_DIR = fileURLToPath(new URL('../../public/models/', import.meta.url));
const MODELS_URL = 'http://models.test/models';

/** kv-tiny with 'a' and 'b' swapped in its vocabulary: same sizes, a different tokenizer. */
async function oddTokenizer(): Promise<string> {
  const json = JSON.parse(await readFile(join(MODELS_DIR, 'kv-tiny', 'tokenizer.json'), 'utf8'));
  const vocab = json.model.vocab as Record<string, number>;
  [vocab.a, vocab.b] = [vocab.b, vocab.a];
  return JSON.stringify(json);
}

/** Serves public/models, plus a model `kv-odd` (kv-tiny with another tokenizer) in the index. */
const fetchShim: typeof fetch = async (input) => {
  const url = String(input);
  if (!url.startsWith(`${MODELS_URL}/`)) return new Response('no such host', { status: 404 });
  const path = decodeURIComponent(url.slice(MODELS_URL.length + 1));
  const type = path.endsWith('.json') ? 'application/json' : path.endsWith('.md') ? 'text/markdown' : 'application/octet-stream';
  try {
    if (path === 'index.json') {
      const index = JSON.parse(await readFile(join(MODELS_DIR, 'index.json'), 'utf8'));
      index.models.push({ id: 'kv-odd', role: 'augment', title: 'kv-odd', description: 'kv-tiny, other tokenizer', path: 'kv-odd' });
      return new Response(JSON.stringify(index), { headers: { 'content-type': type } });
    }
    if (path === 'kv-odd/tokenizer.json') return new Response(await oddTokenizer(), { headers: { 'content-type': type } });
    const file = path.startsWith('kv-odd/') ? join(MODELS_DIR, 'kv-tiny', path.slice('kv-odd/'.length)) : join(MODELS_DIR, path);
    return new Response(await readFile(file), { headers: { 'content-type': type } });
  } catch {
    return new Response('not found', { status: 404 });
  }
};

const table = makeKeyTable(KV_SPEC);
// three bridges (so indices 0–2 exist), whatever the recipe's own mapping is
const connections = parseConnections('-1:2,0:2,1:2', 3, 3);
const settings: CompositionSettings = { anchor: 'arith-tiny', augment: 'kv-tiny', connections, numHeads: 4, output: 'zero-init', seed: 1 };
/** The bridge options the worker builds when the settings name none: the spec's defaults. */
const DEFAULT_OPTIONS = {
  positionBias: SPEC_DEFAULTS.positionBias,
  inputNorm: SPEC_DEFAULTS.inputNorm,
  queryNorm: SPEC_DEFAULTS.queryNorm,
  valueGate: SPEC_DEFAULTS.valueGate,
};
/** One plain zero-init bridge between two 128-wide models: proj D² + D, q/k/v/o 4·(D² + D). */
const PLAIN = 128 * 128 + 128 + 4 * (128 * 128 + 128);
const trainingExamples = compositionExamples(table, { ...KV_RECIPE, kvArith: 48, numericShare: 0.25 }, 1); // 48 kv-arith + 16 num-arith
const heldOut = makeExamples('kv-arith', 16, { seed: 3, table, keys: 'held-out' });

let engine: CalmEngine;

async function generate(column: 'anchor' | 'augment' | 'composed', prompt: string, maxTokens = 6) {
  const events: TokenEvent[] = [];
  const { text } = await engine.generate({ prompt, column, maxTokens }, (t) => events.push(t));
  return { text, events };
}

beforeAll(() => {
  engine = new CalmEngine({ fetch: fetchShim });
});

afterAll(() => {
  engine.stop();
});

describe('CalmEngine', () => {
  it('refuses an explicit WebGPU choice where there is no adapter, in one line', async () => {
    await expect(engine.init({ backend: 'webgpu', modelsUrl: MODELS_URL })).rejects.toThrow(NO_WEBGPU);
    await expect(engine.init({ backend: 'auto', modelsUrl: 'models' })).rejects.toThrow(/modelsUrl must be an absolute URL/);
    await expect(engine.listModels()).rejects.toThrow(/call init first/);
  });

  it('init auto picks WebAssembly in Node (no navigator.gpu) and reports the probe', async () => {
    const report = await engine.init({ backend: 'auto', modelsUrl: MODELS_URL });
    expect(report.backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(report.adapter).toBeUndefined();
    expect(report.probe?.wasm).toBeGreaterThan(0);
    expect(report.probe?.webgpu).toBeUndefined();
    expect(report.reason).toMatch(/WebGPU unavailable/);
    console.log('probe (Node wasm):', JSON.stringify(report));
  });

  it('lists the built-in models with their cards', async () => {
    const cards = await engine.listModels();
    const byId = Object.fromEntries(cards.map((c) => [c.id, c]));
    expect(byId['arith-tiny']).toMatchObject({ role: 'anchor', layers: 3, width: 128, heads: 4, context: 32, vocabSize: 1098, parameters: 880_256 }); // its README: 880,256, with its own LM head
    expect(byId['kv-tiny']).toMatchObject({ role: 'augment', layers: 3, width: 128, parameters: 739_712 });
    expect(byId['kv-tiny'].card).toMatch(/^# kv-tiny/);
  });

  it('composes the default pair; zero-init bridges leave the anchor exactly as it was', async () => {
    const info = await engine.compose(settings);
    // the default relative-position bias adds h·R per bridge, the value gate D_a·h + h
    const gate = SPEC_DEFAULTS.valueGate ? 128 * 4 + 4 : 0;
    expect(info.trainableParameters).toBe(3 * (PLAIN + 4 * SPEC_DEFAULTS.positionBias + gate));
    expect(info.frozenBytes).toBe(SPEC_DEFAULTS.inputNorm === 'whiten' ? 3 * 4 * (128 + 128 * 128) : 0);
    expect(info.adamStateBytes).toBe(2 * info.bridgeBytes);
    expect(info.cacheBytesPerExample).toBeGreaterThan(0);
    const anchor = await generate('anchor', '4+7-3=');
    const composed = await generate('composed', '4+7-3=');
    expect(composed).toEqual(anchor);
  });

  it('trains 3 steps, reporting caching, training, evaluating and done', async () => {
    const events: TrainEvent[] = [];
    const summary = await engine.train(
      { examples: trainingExamples, heldOut, steps: 3, lr: 2e-3, batch: 16, seed: 1, evalEvery: 3 },
      (e) => events.push(e),
    );
    expect(summary).toMatchObject({ stopped: 'done', steps: 3 });
    expect(Number.isFinite(summary.finalLoss)).toBe(true);
    expect(summary.heldOutAccuracy).toBeGreaterThanOrEqual(0);
    const stages = events.map((e) => e.stage);
    expect(stages[0]).toBe('caching');
    expect(events.find((e) => e.stage === 'caching' && e.cacheDone === 64)?.cacheTotal).toBe(64);
    expect(events.filter((e) => e.stage === 'training').map((e) => e.step)).toEqual([1, 2, 3]);
    expect(events.find((e) => e.stage === 'evaluating')?.step).toBe(3);
    const last = events.at(-1)!;
    expect(last).toMatchObject({ stage: 'done', step: 3, steps: 3, heldOutAccuracy: summary.heldOutAccuracy });
    expect(events.find((e) => e.stage === 'training' && e.step === 3)?.heldOutAccuracy).toBe(summary.heldOutAccuracy);
  });

  it('a second Train on the same models, layers and examples reuses the frozen work: the same losses, no caching, no new tensors', async () => {
    const data = trainingExamples.slice(0, 32);
    const run = async (examples: typeof data) => {
      await engine.compose(settings); // fresh bridges from the same seed
      const events: TrainEvent[] = [];
      const summary = await engine.train({ examples, heldOut: [], steps: 3, lr: 2e-3, batch: 8, seed: 7, evalEvery: 0 }, (e) => events.push(e));
      const losses = events.filter((e) => e.stage === 'training').map((e) => e.loss);
      return { events, losses, summary, caching: events.filter((e) => e.stage === 'caching') };
    };
    const first = await run(data);
    expect(first.caching.some((e) => e.cacheReused)).toBe(false);
    expect(first.caching.at(-1)).toMatchObject({ cacheDone: 32, cacheTotal: 32 });
    const tensors = tf.memory().numTensors;
    const second = await run(data);
    expect(second.caching).toEqual([{ stage: 'caching', step: 0, steps: 3, cacheDone: 32, cacheTotal: 32, cacheReused: true }]);
    expect(second.losses).toEqual(first.losses);
    expect(tf.memory().numTensors).toBe(tensors);
    console.log(`Train on 32 examples, 3 steps: ${first.summary.seconds.toFixed(2)} s with caching, ${second.summary.seconds.toFixed(2)} s reusing it`);
    // Other examples (one token changed): computed anew.
    const other = data.map((e, i) => (i === 0 ? { ...e, prompt: e.prompt.replace(/^./, (c) => (c === '0' ? '1' : '0')) } : e));
    const third = await run(other);
    expect(third.caching.some((e) => e.cacheReused)).toBe(false);
  });

  it('refuses a too-long example with one line naming it', async () => {
    const long = { prompt: 'abc+'.repeat(8) + '=', completion: '1' };
    await expect(
      engine.train({ examples: [trainingExamples[0], long], heldOut: [], steps: 1, lr: 1e-3, batch: 2, seed: 1, evalEvery: 0 }, () => {}),
    ).rejects.toThrow(/^example 2 is 35 tokens .* context is 32$/);
  });

  it('stop() cancels a running training within a step; a second job is refused meanwhile', async () => {
    const steps: number[] = [];
    const running = engine.train({ examples: trainingExamples, heldOut: [], steps: 500, lr: 1e-3, batch: 16, seed: 2, evalEvery: 0 }, (e) => {
      if (e.stage !== 'training') return;
      steps.push(e.step);
      // a separate task, as a Comlink message would be: it can only run between steps
      if (e.step === 2) setTimeout(() => engine.stop(), 0);
    });
    await expect(engine.train({ examples: trainingExamples, heldOut: [], steps: 1, lr: 1e-3, batch: 2, seed: 1, evalEvery: 0 }, () => {})).rejects.toThrow(
      /^training is already running$/,
    );
    await expect(engine.generate({ prompt: '1', column: 'anchor', maxTokens: 1 }, () => {})).rejects.toThrow(
      'cannot generate while training is in progress; stop it first',
    );
    await expect(engine.compose(settings)).rejects.toThrow(/cannot compose while training/);
    const summary = await running;
    expect(summary.stopped).toBe('cancelled');
    expect(summary.steps).toBeGreaterThanOrEqual(2);
    expect(summary.steps).toBeLessThanOrEqual(3);
    expect(Math.max(...steps)).toBe(summary.steps);
  });

  it('stop() during a held-out evaluation ends the training after that step', async () => {
    let stopAt = 0;
    const summary = await engine.train({ examples: trainingExamples, heldOut, steps: 100, lr: 1e-3, batch: 16, seed: 4, evalEvery: 1 }, (e) => {
      if (e.stage === 'evaluating' && e.step === 2 && !stopAt) {
        stopAt = e.step;
        setTimeout(() => engine.stop(), 0); // lands between two held-out batches
      }
    });
    expect(stopAt).toBe(2);
    expect(summary).toMatchObject({ stopped: 'cancelled', steps: 2 });
  });

  it('generates from all three columns, streaming tokens, without leaking tensors', async () => {
    const before = tf.memory().numTensors;
    const anchor = await generate('anchor', '4+7-3=');
    expect(anchor.text).toBe('8');
    const [subs] = makeExamples('kv-subs', 1, { seed: 5, table });
    const augment = await generate('augment', subs.prompt, 12);
    expect(augment.text).toBe(subs.completion);
    const composed = await generate('composed', 'abc+def=');
    for (const r of [anchor, augment, composed]) {
      expect(r.events.map((e) => e.text).join('')).toBe(r.text);
      for (const e of r.events) expect(e.prob).toBeGreaterThan(0);
    }
    expect(composed.events.length).toBeLessThanOrEqual(6);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('evaluates the table with n = 10, and stop() cancels an evaluation', async () => {
    const progress: [number, number][] = [];
    const result = await engine.evaluate({ n: 10, seed: 1 }, (d, t) => progress.push([d, t]));
    expect(result.n).toBe(10);
    expect(Object.keys(result.table).sort()).toEqual(['kv-arith', 'kv-subs', 'num-arith']);
    for (const row of Object.values(result.table)) {
      for (const v of Object.values(row)) expect(v >= 0 && v <= 1).toBe(true);
    }
    expect(result.table['num-arith'].anchor).toBeGreaterThanOrEqual(0.8);
    expect(result.table['kv-subs'].augment).toBeGreaterThanOrEqual(0.8);
    expect(result.chance['kv-arith']).toBeGreaterThan(0);
    expect(progress.at(-1)).toEqual([90, 90]);
    // the same figures as the core's exactMatch of one model on the same examples
    const loaded = await loadModelFolder(nodeFolderSource(join(MODELS_DIR, 'arith-tiny')));
    try {
      const gpt = loaded.model;
      const tokenizer = Tokenizer.fromJSON(loaded.tokenizerJson);
      for (const row of TABLE_ROWS) {
        const examples = makeExamples(row.task, 10, { seed: 1 + 9001, table, keys: row.keys });
        const r = await exactMatch((B) => cachedDecoder(gpt, B), codecOf(tokenizer), examples, { maxLength: 32 });
        expect(result.table[row.task as 'kv-subs'].anchor).toBe(r.accuracy);
      }
    } finally {
      loaded.model.dispose();
    }

    const cancelled = engine.evaluate({ n: 300, seed: 1 }, (done) => {
      if (done > 0) setTimeout(() => engine.stop(), 0);
    });
    await expect(cancelled).rejects.toThrow('evaluation cancelled');
  });

  it('returns an attention map [h][T][S] that is causal and sums to 1 per row', async () => {
    const before = tf.memory().numTensors;
    const map = await engine.attention({ prompt: 'abc+def=', connection: 1 });
    expect(map.tokens).toEqual(['a', 'b', 'c', '+', 'd', 'e', 'f', '=']);
    expect(map.heads).toBe(4);
    expect(map.weights).toHaveLength(4);
    for (const head of map.weights) {
      expect(head).toHaveLength(8);
      head.forEach((row, t) => {
        expect(row).toHaveLength(8);
        expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
        for (let s = t + 1; s < 8; s++) expect(row[s]).toBe(0);
      });
    }
    expect(tf.memory().numTensors).toBe(before);
    await expect(engine.attention({ prompt: 'abc', connection: 3 })).rejects.toThrow(/connection index must be an integer from 0 to 2/);
  });

  it('setDisabled switches bridges off at inference: all off gives the anchor', async () => {
    const anchor = await generate('anchor', 'abc+def-ghi=');
    await engine.setDisabled([0, 1, 2]);
    expect(await generate('composed', 'abc+def-ghi=')).toEqual(anchor);
    await engine.setDisabled([]);
    await expect(engine.setDisabled([7])).rejects.toThrow(/connection index/);
  });

  it('export → import gives the same composition: same tokens, same probabilities, same bytes', async () => {
    const prompt = 'abc+def-ghi=';
    const trained = await generate('composed', prompt);
    const bundle = await engine.exportBundle();
    const manifest = JSON.parse(bundle.composition);
    expect(manifest.anchor).toEqual({ id: 'arith-tiny', n_layer: 3, n_embd: 128, vocab_size: 1098 });
    expect(manifest.augment).toEqual({ id: 'kv-tiny', n_layer: 3, n_embd: 128, vocab_size: 1098 });
    expect(manifest.training).toMatchObject({ init_seed: 1, lr: 1e-3, batch: 16, seed: 4 }); // the last training's settings
    expect([7, 8]).toContain(manifest.training.steps); // 3 + the cancelled runs' 2 (or 3) + 2
    const bytes = new Uint8Array(bundle.bridge).slice();

    await engine.compose({ ...settings, output: 'rmsnorm', seed: 9 }); // something else in between
    expect(await generate('composed', prompt)).not.toEqual(trained);

    const restored = await engine.importBundle({ composition: bundle.composition, bridge: bytes.slice().buffer });
    // the bundle's bridge options come back too (the spec's defaults, which the worker used)
    expect(restored).toEqual({ ...settings, ...DEFAULT_OPTIONS });
    expect(await generate('composed', prompt)).toEqual(trained);
    const again = await engine.exportBundle();
    expect(new Uint8Array(again.bridge)).toEqual(bytes);
  });

  it('names the models a bundle needs when one is not there', async () => {
    const bundle = await engine.exportBundle();
    const manifest = JSON.parse(bundle.composition);
    manifest.anchor.id = 'big-anchor';
    await expect(engine.importBundle({ composition: JSON.stringify(manifest), bridge: bundle.bridge })).rejects.toThrow(
      'this composition needs the models big-anchor (anchor) and kv-tiny (augmenting); big-anchor is not among the loaded models: load it first',
    );
  });

  it('composes models whose tokenizers differ, aligned by characters: each column reads with its own tokenizer, a bundle records both', async () => {
    const info = await engine.compose({ ...settings, augment: 'kv-odd' });
    expect(info.alignment).toBe('utf8-prefix@2');
    // kv-odd is kv-tiny's weights behind a tokenizer with 'a' and 'b' swapped: read with its own
    // tokenizer it answers as kv-tiny does (a key is one token either way)
    const e = makeExamples('kv-subs', 1, { seed: 3, table, keys: 'all' })[0];
    expect((await generate('augment', e.prompt)).text).toBe(e.completion);
    expect((await generate('anchor', '4+7-3=')).text).toBe('8');
    expect(typeof (await generate('composed', e.prompt)).text).toBe('string');
    await expect(engine.attention({ prompt: e.prompt, connection: 0 })).rejects.toThrow('the attention map is drawn only for two models of one tokenizer');
    const bundle = await engine.exportBundle();
    const manifest = JSON.parse(bundle.composition);
    expect(manifest.alignment).toBe('utf8-prefix@2');
    expect(manifest.anchor.tokenizer).toMatch(/^[0-9a-f]{64}$/);
    expect(manifest.augment.tokenizer).not.toBe(manifest.anchor.tokenizer);
    await engine.importBundle(bundle);
    expect(JSON.parse((await engine.exportBundle()).composition).alignment).toBe('utf8-prefix@2');
    // a bundle whose recorded tokenizer is not the model's is refused, naming the side
    manifest.augment.tokenizer = manifest.anchor.tokenizer;
    await expect(engine.importBundle({ composition: JSON.stringify(manifest), bridge: bundle.bridge })).rejects.toThrow(
      "composition.json: the augmenting model's tokenizer.json is not the one the bridges were trained with",
    );
    expect((await engine.compose(settings)).alignment).toBeUndefined();
  });

  it('composes, trains, exports and imports bridges with input whitening, query norm and a value gate', async () => {
    const opts = { positionBias: 2, inputNorm: 'whiten', queryNorm: true, valueGate: true } as const;
    const info = await engine.compose({ ...settings, ...opts });
    expect(info.trainableParameters).toBe(3 * (PLAIN + 4 * 2 + 128 * 4 + 4));
    expect(info.frozenBytes).toBe(3 * 4 * (128 + 128 * 128));
    const fresh = await engine.exportBundle(); // before training: the zero placeholder
    expect(JSON.parse(fresh.composition)).toMatchObject({ position_bias: 2, input_norm: 'whiten', query_norm: true, value_gate: true });
    const summary = await engine.train({ examples: trainingExamples, heldOut: [], steps: 2, lr: 1e-3, batch: 16, seed: 1, evalEvery: 0 }, () => {});
    expect(summary).toMatchObject({ stopped: 'done', steps: 2 });
    const trained = await engine.exportBundle();
    const bytes = new Uint8Array(trained.bridge).slice();
    expect(bytes).not.toEqual(new Uint8Array(fresh.bridge)); // statistics measured, bridges trained
    const restored = await engine.importBundle({ composition: trained.composition, bridge: bytes.slice().buffer });
    expect(restored).toEqual({ ...settings, ...opts });
    // a resumed run keeps the imported statistics: training on changes only the trainable tensors
    await engine.train({ examples: trainingExamples.slice(0, 16), heldOut: [], steps: 1, lr: 1e-3, batch: 16, seed: 2, evalEvery: 0 }, () => {});
    const before = parseSafetensors(bytes, 'a').tensors;
    const after = parseSafetensors(new Uint8Array((await engine.exportBundle()).bridge), 'b').tensors;
    for (const [name, t] of before) {
      if (name.includes('.in.')) expect(after.get(name)!.data, name).toEqual(t.data);
    }
    expect(after.get('bridges.0.attn.gate.weight')!.data).not.toEqual(before.get('bridges.0.attn.gate.weight')!.data);
    await expect(engine.compose({ ...settings, inputNorm: 'zca' as 'whiten' })).rejects.toThrow('inputNorm must be "none" or "whiten", found "zca"');
  });

  it('checks connections and heads against the models', async () => {
    await expect(engine.compose({ ...settings, connections: [[3, 0]] })).rejects.toThrow(/anchor layer 3 is out of range/);
    await expect(engine.compose({ ...settings, numHeads: 3 })).rejects.toThrow(/num_heads 3 does not divide the anchor width 128/);
  });
});

describe('CalmEngine and a lost device', () => {
  const fresh = new CalmEngine({ fetch: fetchShim });
  beforeAll(async () => {
    await fresh.init({ backend: 'wasm', modelsUrl: MODELS_URL });
    await fresh.compose(settings);
  });

  it('an AbortError that stop() did not cause (a lost WebGPU device rejects its reads so) fails the training instead of passing for a stop', async () => {
    // A destroyed GPUDevice rejects mapAsync, and so tfjs's data(), with DOMException "AbortError".
    const data = tf.Tensor.prototype.data;
    let reads = 0;
    tf.Tensor.prototype.data = function (this: tf.Tensor) {
      if (++reads > 4) return Promise.reject(new DOMException('Device is lost', 'AbortError'));
      return data.call(this);
    } as typeof data;
    try {
      await expect(fresh.train({ examples: trainingExamples, heldOut: [], steps: 50, lr: 1e-3, batch: 16, seed: 2, evalEvery: 0 }, () => {})).rejects.toThrow(
        'Device is lost',
      );
    } finally {
      tf.Tensor.prototype.data = data;
    }
    // and the engine goes on
    const summary = await fresh.train({ examples: trainingExamples, heldOut: [], steps: 1, lr: 1e-3, batch: 2, seed: 1, evalEvery: 0 }, () => {});
    expect(summary).toMatchObject({ stopped: 'done', steps: 1 });
  });
});

// The worker round trip in Chromium (docs/design.md § Tests): a real module Worker started by
// createCalmClient, Comlink calls and proxied callbacks, the built-in models fetched from the
// dev server, WebGPU through SwiftShader. This page never imports tfjs: only the client.
import { afterAll, describe, expect, it } from 'vitest';
import { createCalmClient, proxyCallback, transferBundle, WorkerGoneError, WorkerStartError, type CalmClient, type CrashKind } from '../../src/worker/client';
import type { Column, CompositionSettings, TokenEvent, TrainEvent } from '../../src/worker/protocol';
import { SPEC_DEFAULTS } from '../../src/calm/spec';

// Vite serves public/ at the root of the dev server that vitest's browser mode runs on.
const MODELS_URL = new URL('/models', location.href).href;

const SETTINGS: CompositionSettings = {
  anchor: 'arith-tiny',
  augment: 'kv-tiny',
  connections: [
    [-1, 2],
    [0, 2],
    [1, 2],
  ], // three bridges, spelled out so this page loads no core module
  numHeads: 4,
  output: 'zero-init',
  seed: 1,
};

// kv-arith over composition keys and numeric examples, in the formats of src/tasks/kv.ts.
const EXAMPLES = [
  { prompt: '4+7-3=', completion: '8' },
  { prompt: '1+2=', completion: '3' },
  { prompt: '9-4=', completion: '5' },
  { prompt: '5+5-2=', completion: '8' },
  { prompt: 'abc+def=', completion: '7' },
  { prompt: 'ghi-abc=', completion: '1' },
  { prompt: 'def+ghi-abc=', completion: '9' },
  { prompt: 'jkl+mno=', completion: '12' },
];

const clients: CalmClient[] = [];
function client(): CalmClient {
  const c = createCalmClient();
  const crashes: string[] = [];
  c.onCrash((m) => crashes.push(m));
  clients.push(c);
  return c;
}

afterAll(() => clients.forEach((c) => c.terminate()));

async function generate(c: CalmClient, column: Column, prompt: string, maxTokens = 4) {
  const tokens: TokenEvent[] = [];
  const { text } = await c.api.generate({ prompt, column, maxTokens }, proxyCallback((t: TokenEvent) => void tokens.push(t)));
  return { text, tokens };
}

describe('the CALM worker in Chromium', () => {
  it('has a WebGPU adapter (Chromium must run with --enable-unsafe-webgpu)', async () => {
    const adapter = await navigator.gpu?.requestAdapter();
    expect(adapter, 'navigator.gpu gave no adapter: this run cannot test WebGPU').toBeTruthy();
  });

  const c = client();

  it('init auto starts WebAssembly at once and reports the adapter', async () => {
    const t0 = performance.now();
    const report = await c.api.init({ backend: 'auto', modelsUrl: MODELS_URL });
    console.log(`backend report (auto), after ${Math.round(performance.now() - t0)} ms:`, JSON.stringify(report));
    expect(report.adapter, 'the worker saw no WebGPU adapter').toBeDefined();
    expect(typeof report.adapter!.vendor).toBe('string');
    expect(report.adapter!.limits.maxComputeWorkgroupStorageSize).toBeGreaterThan(0);
    expect(report.backend).toBe('wasm');
    // SwiftShader here: a software renderer is not timed at all; a hardware adapter is left pending.
    if (/swiftshader/i.test(report.adapter!.architecture)) expect(report.reason).toMatch(/^WebGPU here is a software renderer \(google swiftshader\)/);
    else expect(report.pending).toBe(true);
    expect(report.probe?.wasm).toBeGreaterThan(0);
    expect(report.probe?.webgpu).toBeUndefined();
  });

  it('a throwaway worker times WebGPU against WebAssembly and keeps the faster', async () => {
    const probe = client();
    const report = await probe.api.measureBackends();
    probe.terminate();
    console.log('backend report (measured):', JSON.stringify(report));
    expect(report.probe?.webgpu).toBeGreaterThan(0);
    expect(report.probe?.wasm).toBeGreaterThan(0);
    expect(report.reason).toMatch(/^fastest in the probe/);
    const faster = report.probe!.webgpu! <= report.probe!.wasm! ? 'webgpu' : 'wasm';
    expect(report.backend).toBe(faster);
  }, 300_000); // the WebGPU probe compiles its shaders on SwiftShader first

  it('lists the models and composes the default pair', async () => {
    const cards = await c.api.listModels();
    expect(cards.map((m) => m.id).sort()).toEqual(['arith-tiny', 'kv-letters-tiny', 'kv-tiny']);
    const info = await c.api.compose(SETTINGS);
    // per bridge: proj (kv-tiny's width 128 → 128), q/k/v/o, the spec's default relative-position bias
    // (h·R = 4·4) and its value gate (128·4 + 4), which the worker applies when the settings do
    // not say otherwise (the whitening statistics are frozen, not trainable)
    expect(info.trainableParameters).toBe(3 * (128 * 128 + 128 + 4 * (128 * 128 + 128) + 4 * 4 + 128 * 4 + 4));
  });

  it('trains 3 steps, with the events arriving through a proxied callback before the result', async () => {
    const events: TrainEvent[] = [];
    const summary = await c.api.train(
      { examples: EXAMPLES, heldOut: EXAMPLES.slice(0, 4), steps: 3, lr: 2e-3, batch: 4, seed: 1, evalEvery: 3 },
      proxyCallback((e: TrainEvent) => void events.push(e)),
    );
    expect(summary).toMatchObject({ stopped: 'done', steps: 3 });
    expect(events[0].stage).toBe('caching');
    expect(events.filter((e) => e.stage === 'training').map((e) => e.step)).toEqual([1, 2, 3]);
    expect(events.some((e) => e.stage === 'evaluating')).toBe(true);
    expect(events.at(-1)).toMatchObject({ stage: 'done', step: 3 });
  });

  it('stop() reaches the worker between training steps', async () => {
    let stopAt = 0;
    const summary = await c.api.train(
      { examples: EXAMPLES, heldOut: [], steps: 2000, lr: 1e-3, batch: 4, seed: 2, evalEvery: 0 },
      proxyCallback((e: TrainEvent) => {
        if (e.stage === 'training' && e.step === 2 && !stopAt) {
          stopAt = e.step;
          void c.api.stop();
        }
      }),
    );
    expect(stopAt).toBe(2);
    expect(summary.stopped).toBe('cancelled');
    expect(summary.steps).toBeLessThan(50); // the stop message waited for at most a few steps
  });

  it('generates from all three columns', async () => {
    const anchor = await generate(c, 'anchor', '4+7-3=');
    expect(anchor.text).toBe('8');
    const augment = await generate(c, 'augment', 'abc+');
    const composed = await generate(c, 'composed', '4+7-3=');
    for (const r of [anchor, augment, composed]) {
      expect(r.tokens.map((t) => t.text).join('')).toBe(r.text);
      expect(r.tokens.every((t) => t.prob > 0 && t.prob <= 1)).toBe(true);
    }
    expect(augment.text.length).toBeGreaterThan(0);
  });

  it('switches a composed worker from WebAssembly to WebGPU: models and trained bridges move as they are used; it does not go back', async () => {
    const w = client();
    await w.api.init({ backend: 'wasm', modelsUrl: MODELS_URL });
    await w.api.compose(SETTINGS);
    await w.api.train({ examples: EXAMPLES, heldOut: [], steps: 3, lr: 2e-3, batch: 4, seed: 1, evalEvery: 0 }, proxyCallback(() => {}));
    // A bridge's attention weights depend on both models' states and its own trained q/k weights.
    const weights = async () => (await w.api.attention({ prompt: 'abc+def=', connection: 1 })).weights.flat(2);
    const onWasm = await weights();
    await w.api.switchBackend('webgpu');
    expect((await generate(w, 'anchor', '4+7-3=', 2)).text).toBe('8');
    const onWebgpu = await weights();
    expect(onWebgpu).toHaveLength(onWasm.length);
    expect(Math.max(...onWebgpu.map((x, i) => Math.abs(x - onWasm[i])))).toBeLessThan(1e-3);
    // tfjs moves a tensor off WebGPU with a synchronous read, which WebGPU cannot do well: refused.
    await expect(w.api.switchBackend('wasm')).rejects.toThrow(/^the worker cannot leave WebGPU/);
    w.terminate();
  }, 300_000);

  it('moves a bundle both ways as a transferred ArrayBuffer', async () => {
    const before = await generate(c, 'composed', 'abc+def=');
    const bundle = await c.api.exportBundle();
    expect(bundle.bridge).toBeInstanceOf(ArrayBuffer);
    expect(JSON.parse(bundle.composition).format).toBe('calm-playground/composition@1');
    await c.api.compose({ ...SETTINGS, output: 'rmsnorm', seed: 5 });
    const bytes = bundle.bridge.byteLength;
    const settings = await c.api.importBundle(transferBundle(bundle));
    expect(bundle.bridge.byteLength, 'transferred, so detached here').toBe(0);
    expect(bytes).toBeGreaterThan(0);
    // with the bridge options the bundle records (the spec's defaults, which the worker built)
    const { connections: _c, numHeads: _h, positionInit: _i, ...options } = SPEC_DEFAULTS;
    expect(settings).toEqual({ ...SETTINGS, ...options });
    expect(await generate(c, 'composed', 'abc+def=')).toEqual(before);
  });

  it('errors arrive as one-line messages', async () => {
    await expect(c.api.compose({ ...SETTINGS, numHeads: 3 })).rejects.toThrow(/^num_heads 3 does not divide the anchor width 128/);
  });

  it('restart() rejects a pending call and gives a fresh worker', async () => {
    const pending = c.api.train(
      { examples: EXAMPLES, heldOut: [], steps: 5000, lr: 1e-3, batch: 4, seed: 3, evalEvery: 0 },
      proxyCallback(() => {}),
    );
    await new Promise((r) => setTimeout(r, 200));
    c.restart();
    await expect(pending).rejects.toBeInstanceOf(WorkerGoneError);
    await expect(c.api.listModels()).rejects.toThrow(/call init first/);
  });

  it('a worker whose module cannot load: calls reject with the browser\'s reason, which names the file, and onCrash hears it as a start failure', async () => {
    const broken = createCalmClient({ worker: () => new Worker(new URL('./fixtures/broken-worker.js', import.meta.url), { type: 'module' }) });
    clients.push(broken);
    const heard: [string, CrashKind][] = [];
    broken.onCrash((message, kind) => heard.push([message, kind]));
    const call = broken.api.init({ backend: 'wasm', modelsUrl: MODELS_URL });
    await expect(call).rejects.toBeInstanceOf(WorkerStartError);
    await expect(call).rejects.toThrow(/^SyntaxError: .*plain-module\.js.* does not provide an export named 'notExported'/);
    expect(heard).toHaveLength(1);
    expect(heard[0][1]).toBe('start');
    expect(heard[0][0]).toMatch(/notExported/);
  });

  it('runs the composition on WebGPU when asked to: generate, train, export (SwiftShader: slow, small)', async () => {
    const g = client();
    const report = await g.api.init({ backend: 'webgpu', modelsUrl: MODELS_URL });
    console.log('backend report (webgpu):', JSON.stringify(report));
    expect(report).toMatchObject({ backend: 'webgpu', reason: 'chosen by you' });
    expect(report.probe?.webgpu).toBeGreaterThan(0);
    await g.api.compose(SETTINGS);
    const anchor = await generate(g, 'anchor', '4+7-3=', 2);
    expect(anchor.text).toBe('8'); // the same greedy answer as on WebAssembly
    // zero-init bridges: the composition starts out exactly as the anchor
    expect((await generate(g, 'composed', '4+7-3=', 2)).text).toBe('8');
    const events: TrainEvent[] = [];
    const summary = await g.api.train(
      { examples: EXAMPLES.slice(0, 4), heldOut: EXAMPLES.slice(0, 2), steps: 2, lr: 2e-3, batch: 4, seed: 1, evalEvery: 2 },
      proxyCallback((e: TrainEvent) => void events.push(e)),
    );
    expect(summary).toMatchObject({ stopped: 'done', steps: 2 });
    expect(summary.finalLoss).toBeGreaterThan(0); // a loss read back as 0 is the broken sync readback
    expect(Number.isFinite(summary.finalLoss)).toBe(true);
    expect(summary.heldOutAccuracy).toBeGreaterThanOrEqual(0);
    expect(events.filter((e) => e.stage === 'training').map((e) => e.step)).toEqual([1, 2]);
    const bundle = await g.api.exportBundle();
    expect(bundle.bridge.byteLength).toBeGreaterThan(3 * 4 * 128 * 128 * 4);
    const augment = await generate(g, 'augment', 'abc+', 2);
    expect(augment.tokens).toHaveLength(augment.text.length);
  }, 300_000);
});

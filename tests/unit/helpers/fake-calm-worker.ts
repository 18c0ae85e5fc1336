// An in-memory CalmWorkerApi for the store and component tests: it records every call,
// answers like the real worker (events, tokens, tables), and can be told to fail.
import type {
  AttentionMap,
  BackendReport,
  BundleFiles,
  CalmWorkerApi,
  Column,
  CompositionInfo,
  CompositionSettings,
  EvaluationTable,
  GenerateSettings,
  KernelUsage,
  ModelCard,
  TokenEvent,
  TrainEvent,
  TrainSettings,
  TrainSummary,
} from '../../../src/worker/protocol';
import type { CalmClient } from '../../../src/store/worker';

export interface Call {
  method: keyof CalmWorkerApi;
  args: unknown[];
}

/** The built-in pair as public/models has it: arith-tiny (anchor) and kv-tiny (augment). */
export const MODEL_CONFIGS: Record<string, object> = {
  'arith-tiny': { model_type: 'gpt2', n_layer: 3, n_embd: 128, n_head: 4, n_positions: 32, vocab_size: 98, n_inner: null },
  'kv-tiny': { model_type: 'gpt2', n_layer: 3, n_embd: 96, n_head: 4, n_positions: 32, vocab_size: 98 },
  'deep-tiny': { model_type: 'gpt2', n_layer: 6, n_embd: 64, n_head: 2, n_positions: 32, vocab_size: 98 },
};

export const INDEX = {
  models: [
    { id: 'kv-tiny', role: 'augment', title: 'kv-tiny (knows the key table)', description: 'Knows the keys.', path: 'kv-tiny' },
    { id: 'arith-tiny', role: 'anchor', title: 'arith-tiny (numeric arithmetic)', description: 'Adds numbers.', path: 'arith-tiny' },
    { id: 'deep-tiny', role: 'augment', title: 'deep-tiny', description: 'Six blocks.', path: 'deep-tiny' },
  ],
  compositions: [{ id: 'kv-arith', title: 'kv-arith (repro kv)', path: 'compositions/kv-arith' }],
};

export const BUNDLE_JSON = JSON.stringify({
  format: 'calm-playground/composition@1',
  anchor: { id: 'arith-tiny', n_layer: 3, n_embd: 128, vocab_size: 98 },
  augment: { id: 'kv-tiny', n_layer: 3, n_embd: 96, vocab_size: 98 },
  connections: [
    [1, 2],
    [-1, 2],
  ],
  num_heads: 4,
  output: 'zero-init',
  training: { steps: 600, lr: 0.002, batch: 64 },
  metrics: { 'kv-arith': 0.62 },
});

/** A fetch over the fixtures above (index, configs, one README, the shipped bundle); 404 otherwise. */
export function fakeFetch(extra: Record<string, string> = {}): typeof fetch {
  const files: Record<string, string> = {
    'models/index.json': JSON.stringify(INDEX),
    'models/kv-tiny/README.md': '# kv-tiny\n\nTrained on kv-subs.',
    'models/compositions/kv-arith/composition.json': BUNDLE_JSON,
    'models/compositions/kv-arith/bridge.safetensors': 'BYTES',
    ...extra,
  };
  for (const [id, config] of Object.entries(MODEL_CONFIGS)) files[`models/${id}/config.json`] ??= JSON.stringify(config);
  return (async (input: RequestInfo | URL) => {
    const path = String(input).replace(/^\/+/, '');
    const body = files[path];
    if (body === undefined) return new Response('Not Found', { status: 404 });
    return new Response(body, { status: 200, headers: { 'content-type': 'application/octet-stream' } });
  }) as typeof fetch;
}

const tick = () => new Promise((r) => setTimeout(r, 0));

export class FakeWorker {
  readonly calls: Call[] = [];
  composeError: string | null = null;
  /** Augmenting models whose tokenizer differs from every other's: the composition aligns by characters. */
  alignedModels = new Set<string>();
  initError: string | null = null;
  backend: BackendReport = { backend: 'wasm', reason: 'faster in the probe', probe: { wasm: 3 } };
  trainEvents: TrainEvent[] = [
    { stage: 'caching', step: 0, steps: 3, cacheDone: 0, cacheTotal: 10 },
    { stage: 'caching', step: 0, steps: 3, cacheDone: 10, cacheTotal: 10 },
    { stage: 'training', step: 1, steps: 3, loss: 2.5, stepsPerSecond: 4, etaSeconds: 0.5 },
    { stage: 'training', step: 2, steps: 3, loss: 1.5, stepsPerSecond: 4, etaSeconds: 0.25, heldOutAccuracy: 0.25 },
    { stage: 'training', step: 3, steps: 3, loss: 1.0, stepsPerSecond: 4, etaSeconds: 0 },
    { stage: 'done', step: 3, steps: 3, loss: 1.0, heldOutAccuracy: 0.5 },
  ];
  trainSummary: TrainSummary = { stopped: 'done', steps: 3, seconds: 0.75, finalLoss: 1.0, heldOutAccuracy: 0.5 };
  /** When set, train() waits for this before it finishes (to look at the store mid-training). */
  trainGate: Promise<void> | null = null;
  tokens: Record<Column, TokenEvent[]> = {
    anchor: [{ text: '3', prob: 0.4 }],
    augment: [
      { text: '4', prob: 0.9 },
      { text: '+', prob: 0.8 },
      { text: '5', prob: 0.9 },
    ],
    composed: [{ text: '9', prob: 0.95 }],
  };
  table: EvaluationTable = {
    table: {
      'kv-subs': { anchor: 0, augment: 1, composed: 0.1 },
      'num-arith': { anchor: 0.98, augment: 0.02, composed: 0.97 },
      'kv-arith': { anchor: 0.03, augment: 0, composed: 0.6 },
    },
    chance: { 'kv-subs': 0.01, 'num-arith': 0.1, 'kv-arith': 0.07 },
    n: 5,
  };
  /** What listModels() answers. */
  cards: ModelCard[] = [];
  crash: ((message: string, kind?: 'start' | 'crash') => void) | null = null;
  /** The bridges the fake holds, as bridge.safetensors bytes: fresh on compose, changed by train, set by import. */
  bridge: Uint8Array = new Uint8Array(0);
  held: CompositionSettings | null = null;
  /** When set, importBundle rejects with it (a bundle whose models are missing, ...). */
  importError: string | null = null;
  private endPending: (() => void) | null = null;
  /** When set, importModel rejects with it (a bad config.json, ...). */
  importModelError: string | null = null;
  readonly restarts: number[] = [];

  private log(method: keyof CalmWorkerApi, ...args: unknown[]) {
    this.calls.push({ method, args });
  }

  callsOf(method: keyof CalmWorkerApi): unknown[][] {
    return this.calls.filter((c) => c.method === method).map((c) => c.args);
  }

  info(s: CompositionSettings): CompositionInfo {
    const info: CompositionInfo = { trainableParameters: 1000 * s.connections.length, bridgeBytes: 1, frozenBytes: 0, adamStateBytes: 2, activationBytesPerStep: 3, cacheBytesPerExample: 4 };
    return this.alignedModels.has(s.augment) ? { ...info, alignment: 'utf8-prefix@2' } : info;
  }

  /** What kernelUsage() answers (the real worker on WebAssembly: plain tfjs ops, the cross-attention's reference). */
  usage: KernelUsage = { backend: 'wasm', enabled: true, kernels: { crossAttention: { fused: 0, reference: 3, lastReason: 'backend is wasm, not webgpu' } }, dispatches: {} };

  /** What measureBackends() answers (a throwaway worker timing WebGPU against WebAssembly). */
  measured: BackendReport = { backend: 'wasm', probe: { wasm: 3, webgpu: 90 }, reason: 'fastest in the probe (WebAssembly 3 ms, WebGPU 90 ms per forward pass)' };
  /** When set, measureBackends() waits for this (terminate() ends it, as the real client does). */
  measureGate: Promise<void> | null = null;
  terminated = false;
  private endMeasure: (() => void) | null = null;

  readonly api: CalmWorkerApi = {
    init: async (opts) => {
      this.log('init', opts);
      await tick();
      if (this.initError) throw new Error(this.initError);
      return this.backend;
    },
    measureBackends: async () => {
      this.log('measureBackends');
      const gone = new Promise<never>((_, reject) => (this.endMeasure = () => reject(new Error('the worker was terminated before this call finished'))));
      gone.catch(() => undefined);
      await Promise.race([tick(), gone]);
      if (this.measureGate) await Promise.race([this.measureGate, gone]);
      this.endMeasure = null;
      return this.measured;
    },
    switchBackend: async (backend) => {
      this.log('switchBackend', backend);
      await tick();
    },
    listModels: async () => this.cards,
    compose: async (settings) => {
      this.log('compose', settings);
      await tick();
      if (this.composeError) throw new Error(this.composeError);
      this.held = settings;
      this.bridge = new Uint8Array([settings.connections.length, settings.seed, 0, 0]);
      return this.info(settings);
    },
    train: async (settings: TrainSettings, onEvent) => {
      this.log('train', settings);
      for (const e of this.trainEvents.slice(0, -1)) {
        onEvent(e);
        await tick();
      }
      if (this.trainGate) {
        // A restart ends the call, as the real client does (WorkerGoneError).
        const gone = new Promise<never>((_, reject) => (this.endPending = () => reject(new Error('the worker was restarted before this call finished'))));
        await Promise.race([this.trainGate, gone]);
        this.endPending = null;
      }
      this.bridge = new Uint8Array([...this.bridge, settings.steps, Math.round(settings.lr * 1000)]);
      onEvent(this.trainEvents.at(-1)!);
      return this.trainSummary;
    },
    stop: () => {
      this.log('stop');
    },
    evaluate: async (opts, onProgress) => {
      this.log('evaluate', opts);
      onProgress?.(5, 15);
      await tick();
      onProgress?.(15, 15);
      return { ...this.table, n: opts.n };
    },
    generate: async (settings: GenerateSettings, onToken) => {
      this.log('generate', settings);
      for (const t of this.tokens[settings.column]) {
        onToken(t);
        await tick();
      }
      return { text: this.tokens[settings.column].map((t) => t.text).join('') };
    },
    attention: async (opts): Promise<AttentionMap> => {
      this.log('attention', opts);
      return {
        tokens: ['a', 'b'],
        heads: 2,
        weights: [
          [
            [1, 0],
            [0.5, 0.5],
          ],
          [
            [1, 0],
            [0.1, 0.9],
          ],
        ],
      };
    },
    setDisabled: async (connections) => {
      this.log('setDisabled', connections);
    },
    exportBundle: async () => {
      this.log('exportBundle');
      const h = this.held;
      const composition = JSON.stringify(h ? { format: 'calm-playground/composition@1', anchor: { id: h.anchor }, augment: { id: h.augment }, connections: h.connections, num_heads: h.numHeads, output: h.output, training: { steps: 3 } } : {});
      return { composition, bridge: this.bridge.slice().buffer };
    },
    kernelUsage: async (opts) => {
      this.log('kernelUsage', opts);
      return this.usage;
    },
    debug: async (action) => {
      this.log('debug', action);
      return action;
    },
    importModel: async (files, opts) => {
      this.log('importModel', files, opts);
      await tick();
      if (this.importModelError) throw new Error(this.importModelError);
      const card: ModelCard = { id: opts.id, role: 'augment', title: opts.title ?? opts.id, description: 'Imported by you', layers: 2, width: 32, heads: 2, context: 64, vocabSize: 100, parameters: 12345 };
      return card;
    },
    importBundle: async (files: BundleFiles) => {
      this.log('importBundle', files);
      await tick();
      if (this.importError) throw new Error(this.importError);
      this.bridge = new Uint8Array(files.bridge.slice(0));
      const json = JSON.parse(files.composition) as { connections: [number, number][]; num_heads: number; output: 'zero-init' };
      const settings: CompositionSettings = { anchor: 'arith-tiny', augment: 'kv-tiny', connections: json.connections, numHeads: json.num_heads, output: json.output, seed: 0 };
      this.held = settings;
      return settings;
    },
  };

  readonly client = {
    api: this.api,
    restart: () => {
      this.restarts.push(Date.now());
      this.endPending?.();
      this.endPending = null;
    },
    terminate: () => {
      this.terminated = true;
      this.endMeasure?.();
    },
    onCrash: (cb: (message: string, kind?: 'start' | 'crash') => void) => {
      this.crash = cb;
      return () => undefined;
    },
  } as unknown as CalmClient;
}

/**
 * The store's initial state with a fixed three-link mapping (-1:2, 0:2, 1:2), so the UI tests
 * do not change whenever the spec's default mapping (SPEC_DEFAULTS, src/calm/spec.ts) does.
 */
export function withThreeLinks<S extends { config: { connections: [number, number][] } }>(state: S): S {
  return {
    ...state,
    config: {
      ...state.config,
      connections: [
        [-1, 2],
        [0, 2],
        [1, 2],
      ],
    },
  };
}

// The app store against an in-memory worker: defaults, the link, the mapping, asking before
// trained bridges are lost, training, compare, evaluation, attention, ablation, shipped
// compositions and a worker crash. Also: the UI-side copies of the connection presets and
// size formulas agree with the core's.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('../../src/worker/client', () => ({
  createCalmClient: () => {
    throw new Error('the tests install a session with a fake client (installSession)');
  },
  proxyCallback: <T>(f: T) => f,
  transferBundle: <T>(f: T) => f,
  defaultModelsUrl: () => 'http://test.local/models',
}));

import {
  addConnection,
  applyHash,
  applyPreset,
  cancelPendingChange,
  chooseAttentionHead,
  chooseModel,
  compare,
  compareProblem,
  confirmPendingChange,
  configFromHash,
  configToHash,
  DEFAULT_CONFIG,
  ensureComposed,
  evaluate,
  evaluateProblem,
  examplesProblem,
  getState,
  headWeights,
  initialState,
  isComposedNow,
  loadBuiltinModels,
  NO_LINKS,
  openComposition,
  readPrompt,
  removeConnection,
  reportField,
  restoreDefaultExamples,
  setExamplesText,
  setHyperparameter,
  heldOutPrompt,
  setPrompt,
  setState,
  startHere,
  showAttention,
  startSession,
  startUrlSync,
  stop,
  toggleBridge,
  train,
  trainProblem,
} from '../../src/store';
import { installSession, restartAfterCrash } from '../../src/store/session-control';
import { beginActivity } from '../../src/store/activity';
import { settingsKey } from '../../src/store/composition';
import { summarizeModelConfig } from '../../src/io/model-summary';
import { connectionLabel, formatConnectionList, parseConnectionList, PENDING_FINAL } from '../../src/store/mapping';
import { defaultExamplesText, heldOutExamples } from '../../src/store/examples';
import { parseConnections } from '../../src/calm/connections';
import { SPEC_DEFAULTS } from '../../src/calm/spec';
import { compositionExamples, KV_RECIPE } from '../../src/tasks/recipe';
import { KV_SPEC, makeKeyTable } from '../../src/tasks/kv';
import { formatExamples } from '../../src/tasks/parse';
import { fakeFetch, FakeWorker, withThreeLinks } from './helpers/fake-calm-worker';

let worker: FakeWorker;

async function openPage(): Promise<void> {
  await loadBuiltinModels({ baseUrl: '/', fetch: fakeFetch() });
  await startSession();
  await ensureComposed();
}

/** Runs the store's pending timers and promises until `check` holds. */
async function until(check: () => boolean, what = 'the condition'): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

beforeEach(() => {
  // A fresh page: the store as first built, a new session controller on a new fake worker.
  setState(withThreeLinks(initialState), true);
  worker = new FakeWorker();
  installSession({ client: worker.client });
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('defaults', () => {
  it('chooses the built-in pair, the repro kv mapping and its composition data', () => {
    const s = getState();
    expect(s.config.anchor).toBe('arith-tiny');
    expect(s.config.augment).toBe('kv-tiny');
    // (beforeEach fixes the mapping to three links; the store's own default is the recipe's)
    expect(formatConnectionList(initialState.config.connections)).toBe(SPEC_DEFAULTS.connections);
    expect([s.config.steps, s.config.lr, s.config.batch]).toEqual([KV_RECIPE.steps, KV_RECIPE.lr, KV_RECIPE.batch]);
    // the spec's defaults, every one
    const { connections: _c, ...spec } = SPEC_DEFAULTS;
    expect(s.config).toMatchObject(spec);

    const expected = compositionExamples(makeKeyTable(KV_SPEC), KV_RECIPE, 0);
    expect(s.examples.text).toBe(formatExamples(expected));
    expect(s.examples.parsed).toEqual(expected);
    expect(s.examples.errors).toEqual([]);
    expect(s.examples.isDefault).toBe(true);
    expect(s.examples.parsed.some((e) => /^\d/.test(e.prompt))).toBe(true); // numeric examples mixed in

    // The compare prompt is a kv-arith prompt over held-out keys, with a known answer.
    const held = heldOutExamples(100);
    expect(held).toHaveLength(100);
    const table = makeKeyTable(KV_SPEC);
    for (const ex of held) {
      for (const o of readPrompt(ex.prompt)!.operands) expect(table.heldOutKeys).toContain(o.text);
    }
    expect(s.compare.prompt).toBe(held[0].prompt);
    expect(readPrompt(held[0].prompt)?.answers.composed).toBe(held[0].completion);
  });

  it('restores the default examples after an edit', () => {
    setExamplesText('abc+abd= => 3\n');
    expect(getState().examples.isDefault).toBe(false);
    restoreDefaultExamples();
    expect(getState().examples.text).toBe(defaultExamplesText());
    expect(getState().examples.isDefault).toBe(true);
  });
});

describe('examples', () => {
  it('reports bad lines with their numbers and keeps Train from starting', async () => {
    await openPage();
    setExamplesText('abc+abd= => 3\nno arrow here\n\n{"prompt": "x"}\n004+005= => 9\n');
    const { parsed, errors } = getState().examples;
    expect(parsed).toHaveLength(2);
    expect(errors.map((e) => e.line)).toEqual([2, 4]);
    expect(errors[0].message).toMatch(/^line 2: /);
    expect(examplesProblem()).toBe('Fix the examples on lines 2, 4 first.');
    await train();
    expect(worker.callsOf('train')).toHaveLength(0);
    expect(getState().training.status).toBe('error');
  });
});

describe('the link', () => {
  it('writes every setting and reads it back', () => {
    const config = { ...DEFAULT_CONFIG, connections: [[0, 1], [-1, 2]] as [number, number][], numHeads: 8, lr: 0.0005, steps: 12, backend: 'wasm' as const };
    const hash = configToHash(config);
    expect(hash).toContain('connections=0:1,-1:2');
    expect(hash).toContain('heads=8');
    expect(configFromHash(hash)).toEqual({ config, errors: [] });
    expect(configFromHash(configToHash(DEFAULT_CONFIG)).config.numHeads).toBe(0);
    expect(configToHash(DEFAULT_CONFIG)).toContain('heads=auto');
  });

  it('keeps the defaults for values it cannot read, and says which', () => {
    const { config, errors } = configFromHash('#anchor=kv-tiny&steps=-4&lr=abc&connections=1:2,x&output=linear&zzz=1');
    expect(config).toEqual({ anchor: 'kv-tiny' });
    expect(errors).toEqual([
      'connections=1:2,x: cannot read "x" as a connection (write anchor:augment pairs like -1:2,0:2)',
      'output=linear: expected zero-init or rmsnorm',
      'steps=-4: expected an integer from 1 to 100000',
      'lr=abc: expected a positive number',
    ]);
  });

  it('opens a link, then keeps the address in step with the configuration', async () => {
    const replaced: string[] = [];
    const listeners: Record<string, () => void> = {};
    const win = {
      location: { hash: '#augment=deep-tiny&connections=0:5,2:f&steps=7&heads=2' },
      history: {
        replaceState: (_: unknown, __: string, url: string) => {
          replaced.push(url);
          win.location.hash = url;
        },
      },
      addEventListener: (type: string, f: () => void) => (listeners[type] = f),
      removeEventListener: () => undefined,
    };
    const stopSync = startUrlSync(win as unknown as Window);
    expect(getState().config.augment).toBe('deep-tiny');
    expect(getState().config.connections).toEqual([
      [0, 5],
      [2, PENDING_FINAL],
    ]);
    expect(getState().config.steps).toBe(7);
    expect(replaced.at(-1)).toContain('connections=0:5,2:f');

    // Once the sizes are known, `f` becomes the augmenting model's final norm (layer 6).
    await loadBuiltinModels({ baseUrl: '/', fetch: fakeFetch() });
    expect(getState().config.connections).toEqual([
      [0, 5],
      [2, 6],
    ]);
    expect(connectionLabel([2, 6], 6)).toBe('anchor block 2 ← augmenting final norm');
    // 2 heads divide arith-tiny's width 128: kept.
    expect(getState().config.numHeads).toBe(2);

    setHyperparameter('lr', 0.01);
    expect(replaced.at(-1)).toContain('lr=0.01');

    // A hash edited by hand applies too.
    win.location.hash = '#augment=kv-tiny&connections=1:1';
    listeners.hashchange();
    expect(getState().config.augment).toBe('kv-tiny');
    expect(getState().config.connections).toEqual([[1, 1]]);
    stopSync();
  });

  it('drops connections a model cannot have, with a message', async () => {
    applyHash('#connections=0:1,2:5', { initial: true });
    await loadBuiltinModels({ baseUrl: '/', fetch: fakeFetch() });
    expect(getState().config.connections).toEqual([[0, 1]]);
    expect(getState().linkErrors.join(' ')).toContain('Dropped anchor block 2 ← augmenting block 5');
  });
});

describe('starting and composing', () => {
  it('starts the worker with the models URL, then builds the default composition', async () => {
    worker.cards = [
      { id: 'arith-tiny', role: 'anchor', title: 'a', description: '', layers: 3, width: 128, heads: 4, context: 32, vocabSize: 98, parameters: 624_256 },
    ];
    await openPage();
    // The worker's count of the loaded weights (an untied head, say) replaces the config.json formula.
    await until(() => getState().measuredParameters['arith-tiny'] === 624_256, 'the measured parameters');
    expect(worker.callsOf('init')).toEqual([[{ backend: 'auto', modelsUrl: 'http://test.local/models' }]]);
    const [[settings]] = worker.callsOf('compose');
    expect(settings).toEqual({
      anchor: 'arith-tiny',
      augment: 'kv-tiny',
      connections: [
        [-1, 2],
        [0, 2],
        [1, 2],
      ],
      numHeads: 4, // the anchor's
      // every option of the spec, explicit: the page's defaults are SPEC_DEFAULTS
      output: SPEC_DEFAULTS.output,
      positionBias: SPEC_DEFAULTS.positionBias,
      positionInit: SPEC_DEFAULTS.positionInit,
      inputNorm: SPEC_DEFAULTS.inputNorm,
      queryNorm: SPEC_DEFAULTS.queryNorm,
      valueGate: SPEC_DEFAULTS.valueGate,
      seed: 0,
    });
    const s = getState();
    expect(s.session.phase).toBe('ready');
    expect(s.session.backend?.backend).toBe('wasm');
    expect(s.session.activity).toBeNull();
    expect(s.composition.status).toBe('ready');
    expect(s.composition.info?.trainableParameters).toBe(3000);
    expect(isComposedNow(s)).toBe(true);
    expect(s.builtinCompositions.map((c) => c.id)).toEqual(['kv-arith']);
    expect(s.modelCards['kv-tiny']).toContain('kv-subs');
    expect(s.modelCards['arith-tiny']).toBeUndefined(); // no README: no card, no error

    // Already composed: a second call does not rebuild.
    await ensureComposed();
    expect(worker.callsOf('compose')).toHaveLength(1);
  });

  it('shows the worker\'s message when two models cannot be composed', async () => {
    worker.composeError = 'cannot compose arith-tiny with other: the tokenizers differ at id 5 ("a" vs "b")';
    await expect(openPage()).rejects.toThrow('tokenizers differ');
    expect(getState().composition).toMatchObject({ status: 'error', error: worker.composeError });
  });

  it('shows a start failure on the status line', async () => {
    worker.initError = 'no backend works here';
    await expect(startSession()).rejects.toThrow('The worker could not start: no backend works here');
    expect(getState().session).toMatchObject({ phase: 'error', error: 'The worker could not start: no backend works here' });
  });
});

describe('the session controller', () => {
  it('a fresh one is a clean page: a compose scheduled and a crash reported on the old page never reach it', async () => {
    await openPage();
    const old = worker;
    vi.useFakeTimers();
    addConnection([2, 0]); // schedules a compose on the old page
    old.crash!('out of memory'); // and a restart, once the crash's burst settles
    worker = new FakeWorker();
    setState(withThreeLinks(initialState), true);
    installSession({ client: worker.client });
    await vi.advanceTimersByTimeAsync(1000);
    vi.useRealTimers();
    expect(old.callsOf('compose')).toHaveLength(1); // openPage's only
    expect(old.restarts).toHaveLength(0);
    expect(worker.calls).toEqual([]);
    expect(getState().session).toMatchObject({ phase: 'starting', activity: null });
    expect(getState().session.error).toBeUndefined();
  });
});

describe('the mapping', () => {
  it('adds and removes connections, keeping them sorted, and recomposes once edits settle', async () => {
    await openPage();
    vi.useFakeTimers();
    addConnection([2, 0]);
    addConnection([0, 0]);
    addConnection([0, 0]); // already there
    expect(getState().config.connections).toEqual([
      [-1, 2],
      [0, 0],
      [0, 2],
      [1, 2],
      [2, 0],
    ]);
    removeConnection([-1, 2]);
    expect(getState().config.connections).toHaveLength(4);
    expect(isComposedNow(getState())).toBe(false);
    await vi.advanceTimersByTimeAsync(1000);
    vi.useRealTimers();
    await until(() => isComposedNow(getState()), 'the recompose');
    expect(worker.callsOf('compose')).toHaveLength(2); // one for the whole burst
  });

  it('applies presets and refuses out-of-range ones', async () => {
    await openPage();
    expect(applyPreset('uniform', 2)).toBeNull();
    expect(getState().config.connections).toEqual([
      [0, 0],
      [2, 2],
    ]);
    expect(applyPreset('every', 1)).toBeNull();
    expect(getState().config.connections).toEqual([
      [0, 0],
      [1, 1],
      [2, 2],
    ]);
    expect(applyPreset('every', 4)).toBe('every needs a whole number from 1 to 3 for these models');
    expect(applyPreset('uniform', 0)).toBe('uniform needs a whole number from 1 to 3 for these models');
  });

  it('drops what a newly chosen model cannot hold', async () => {
    await openPage();
    chooseModel('augment', 'deep-tiny');
    expect(getState().config.augment).toBe('deep-tiny');
    expect(getState().config.connections).toEqual([
      [-1, 2],
      [0, 2],
      [1, 2],
    ]);
    chooseModel('augment', 'kv-tiny');
    addConnection([0, 3]); // kv-tiny's final norm
    chooseModel('augment', 'deep-tiny'); // 6 blocks: layer 3 is a plain block there
    expect(getState().config.connections).toContainEqual([0, 3]);
  });
});

describe('trained bridges', () => {
  it('asks before a change throws them away', async () => {
    await openPage();
    await train();
    expect(getState().composition.trained).toBe(true);
    const before = getState().config.connections;

    addConnection([2, 2]);
    expect(getState().pendingChange).toMatchObject({ kind: 'config', what: 'add anchor block 2 ← augmenting block 2' });
    expect(getState().config.connections).toBe(before);
    cancelPendingChange();
    expect(getState().pendingChange).toBeNull();
    expect(getState().config.connections).toBe(before);
    expect(getState().composition.trained).toBe(true);

    removeConnection([0, 2]);
    confirmPendingChange();
    expect(getState().config.connections).toEqual([
      [-1, 2],
      [1, 2],
    ]);
    expect(getState().composition.trained).toBe(false);

    // Hyperparameters keep the bridges.
    setHyperparameter('steps', 50);
    expect(getState().pendingChange).toBeNull();
  });
});

describe('training', () => {
  it('starts from fresh bridges and follows the worker\'s events', async () => {
    await openPage();
    let release!: () => void;
    worker.trainGate = new Promise((r) => (release = r));
    setHyperparameter('steps', 3);
    setHyperparameter('heldOut', 20);
    const done = train();
    await until(() => getState().training.step === 3, 'step 3');
    const mid = getState().training;
    expect(mid.status).toBe('training');
    expect(mid.losses).toEqual([
      [1, 2.5],
      [2, 1.5],
      [3, 1.0],
    ]);
    expect(mid.accuracy).toEqual([[2, 0.25]]);
    expect(mid.stepsPerSecond).toBe(4);
    expect(mid.cacheTotal).toBe(10);
    expect(getState().session.activity?.label).toBe('Training the bridges');
    // Meanwhile nothing may change the composition.
    addConnection([2, 2]);
    expect(getState().config.connections).toHaveLength(3);
    release();
    await done;

    const t = getState().training;
    expect(t.status).toBe('done');
    expect(t.accuracy).toEqual([
      [2, 0.25],
      [3, 0.5],
    ]);
    expect(t.summary?.steps).toBe(3);
    expect(worker.callsOf('compose')).toHaveLength(2); // fresh bridges for Train
    const [[settings]] = worker.callsOf('train') as [[{ examples: unknown[]; heldOut: unknown[]; steps: number; evalEvery: number; lr: number; batch: number }]];
    expect(settings.examples).toHaveLength(getState().examples.parsed.length);
    expect(settings.heldOut).toHaveLength(20);
    expect([settings.steps, settings.evalEvery, settings.lr, settings.batch]).toEqual([3, 1, KV_RECIPE.lr, KV_RECIPE.batch]);
    expect(getState().composition).toMatchObject({ trained: true, source: { kind: 'training' } });
  });

  it('stops on request and says so', async () => {
    await openPage();
    worker.trainSummary = { stopped: 'cancelled', steps: 2, seconds: 0.5 };
    const done = train();
    stop();
    await done;
    expect(worker.callsOf('stop')).toHaveLength(1);
    expect(getState().training.status).toBe('stopped');
  });

  it('reports a loss that stopped being finite', async () => {
    await openPage();
    worker.trainSummary = { stopped: 'non-finite', message: 'the loss became NaN at step 2; lower the learning rate', steps: 1, seconds: 0.2 };
    await train();
    expect(getState().training).toMatchObject({ status: 'error', error: 'the loss became NaN at step 2; lower the learning rate' });
  });
});

describe('the kernels row of the status line', () => {
  it('training and Compare fetch the worker\'s kernel usage into the session', async () => {
    await openPage();
    expect(getState().session.kernels).toBeUndefined();
    await train();
    expect(worker.callsOf('kernelUsage')).toHaveLength(1);
    expect(getState().session.kernels).toEqual(worker.usage);
    worker.usage = { backend: 'webgpu', enabled: true, kernels: { linear: { fused: 9, reference: 0 } }, dispatches: { matmulRegisterTiled_tA0_tB0_bias1_wg64: 9 } };
    await compare();
    expect(worker.callsOf('kernelUsage')).toHaveLength(2);
    expect(getState().session.kernels).toEqual(worker.usage);
  });
});

describe('compare, evaluate, look inside', () => {
  it('streams three columns, one after the other', async () => {
    await openPage();
    await toggleBridge(1);
    await compare();
    const { outputs, running } = getState().compare;
    expect(running).toBe(false);
    expect(worker.callsOf('generate').map(([s]) => (s as { column: string }).column)).toEqual(['anchor', 'augment', 'composed']);
    expect(outputs.anchor.tokens.map((t) => t.text).join('')).toBe('3');
    expect(outputs.augment.tokens.map((t) => t.text).join('')).toBe('4+5');
    expect(outputs.composed).toMatchObject({ status: 'done', tokens: [{ text: '9', prob: 0.95 }], disabled: [1] });
    expect(worker.callsOf('setDisabled')).toEqual([[[1]]]);
  });

  it('a new prompt empties the answers to the old one, and a run still streaming cannot fill them again', async () => {
    await openPage();
    await compare();
    expect(getState().compare.outputs.anchor.status).toBe('done');
    setPrompt('004+005=');
    expect(Object.values(getState().compare.outputs).map((o) => o.status)).toEqual(['idle', 'idle', 'idle']);
    // A prompt edited while Compare streams: the rest of that run is dropped.
    const running = compare();
    setPrompt('004+006=');
    await running;
    expect(Object.values(getState().compare.outputs).map((o) => o.tokens.length)).toEqual([0, 0, 0]);
    expect(getState().compare.running).toBe(false);
  });

  it('Train, Compare and Evaluate say why they cannot run: no link, a number out of range, bad examples', async () => {
    await openPage();
    expect(trainProblem()).toBeNull();
    setState((s) => ({ config: { ...s.config, connections: [] } }));
    expect(trainProblem()).toBe(NO_LINKS);
    expect(compareProblem()).toBe(NO_LINKS);
    expect(evaluateProblem()).toBe(NO_LINKS);
    await train();
    expect(worker.callsOf('train')).toEqual([]); // refused, not a failed run
    setState((s) => ({ config: { ...s.config, connections: [[0, 2]] } }));
    reportField('lr', { label: 'Learning rate', message: 'a number above 0 and at most 1', use: 'train' });
    expect(trainProblem()).toBe('Learning rate must be a number above 0 and at most 1.');
    expect(compareProblem()).toBeNull();
    reportField('lr', null);
    setExamplesText('oops');
    expect(trainProblem()).toBe('Fix the example on line 1 first.');
  });

  it('fills the evaluation table', async () => {
    await openPage();
    setHyperparameter('evalN', 5);
    await evaluate();
    expect(worker.callsOf('evaluate')).toEqual([[{ n: 5, seed: 0 }]]);
    expect(getState().evaluation).toMatchObject({ status: 'done', done: 5, total: 5 });
    expect(getState().evaluation.result?.table['kv-arith'].composed).toBe(0.6);
  });

  it('reads a bridge\'s attention, by head or averaged', async () => {
    await openPage();
    await showAttention();
    const a = getState().attention;
    expect(a.status).toBe('done');
    expect(worker.callsOf('attention')).toEqual([[{ prompt: getState().compare.prompt, connection: 0 }]]);
    expect(headWeights(a.map!, 'mean')).toEqual([
      [1, 0],
      [0.3, 0.7],
    ]);
    chooseAttentionHead(1);
    expect(headWeights(getState().attention.map!, getState().attention.head)).toEqual([
      [1, 0],
      [0.1, 0.9],
    ]);
  });

  it('switches bridges off and on at inference', async () => {
    await openPage();
    await toggleBridge(2);
    await toggleBridge(0);
    await toggleBridge(2);
    expect(getState().composition.disabled).toEqual([0]);
    expect(worker.callsOf('setDisabled')).toEqual([[[2]], [[0, 2]], [[0]]]);
  });
});

describe('a shipped composition', () => {
  it('opens with its trained bridges and its own mapping', async () => {
    await openPage();
    vi.stubGlobal('fetch', fakeFetch());
    openComposition(getState().builtinCompositions[0]);
    await until(() => getState().composition.source?.kind === 'bundle', 'the bundle');
    const [[files]] = worker.callsOf('importBundle') as [[{ composition: string; bridge: ArrayBuffer }]];
    expect(JSON.parse(files.composition).format).toBe('calm-playground/composition@1');
    expect(new TextDecoder().decode(files.bridge)).toBe('BYTES');
    const s = getState();
    expect(s.config.connections).toEqual([
      [1, 2],
      [-1, 2],
    ]); // the bundle's order is the bridges' order
    expect(s.composition).toMatchObject({ status: 'ready', trained: true, source: { kind: 'bundle', metrics: { 'kv-arith': 0.62 } } });
    expect(isComposedNow(s)).toBe(true);
    await compare();
    expect(worker.callsOf('compose')).toHaveLength(1); // compare used the bundle's bridges

    // Trained bridges: opening it again asks first.
    openComposition(getState().builtinCompositions[0]);
    expect(getState().pendingChange).toMatchObject({ kind: 'bundle' });
  });
});

describe('Start here', () => {
  it('asks before it replaces trained bridges; "keep" leaves them and compares nothing; "replace" opens and compares', async () => {
    await openPage();
    vi.stubGlobal('fetch', fakeFetch());
    setState((s) => ({ composition: { ...s.composition, trained: true, source: { kind: 'training' } } }));
    await startHere(1);
    expect(getState().pendingChange).toMatchObject({ kind: 'bundle', then: 'compare' });
    expect(getState().compare).toMatchObject({ prompt: heldOutPrompt(1), starting: true });
    cancelPendingChange();
    expect(getState().compare.starting).toBe(false);
    expect(worker.callsOf('importBundle')).toHaveLength(0);
    expect(worker.callsOf('generate')).toHaveLength(0);

    await startHere(1);
    confirmPendingChange();
    await until(() => getState().compare.outputs.composed.status === 'done', 'the comparison');
    expect(worker.callsOf('importBundle')).toHaveLength(1);
    expect(getState().compare.starting).toBe(false);
    expect(getState().composition.source).toMatchObject({ kind: 'bundle' });
  });
});

describe('the backend choice', () => {
  const pending = { backend: 'wasm', probe: { wasm: 3 }, reason: 'to start with; WebGPU is being measured against it in the background', pending: true } as const;
  let probe: FakeWorker;
  beforeEach(() => {
    probe = new FakeWorker();
    installSession({ client: worker.client, probeClient: () => probe.client, timing: { backgroundIdleMs: 5 } });
  });

  it('starts on WebAssembly at once; a throwaway worker times WebGPU when the page is idle, and the faster takes over', async () => {
    worker.backend = { ...pending };
    probe.measured = { backend: 'webgpu', probe: { webgpu: 1, wasm: 3 }, reason: 'fastest in the probe (WebGPU 1 ms, WebAssembly 3 ms per forward pass)' };
    await openPage();
    expect(getState().session.backend?.backend).toBe('wasm'); // usable before any timing
    await until(() => getState().session.backend?.backend === 'webgpu', 'the switch');
    expect(probe.callsOf('measureBackends')).toHaveLength(1);
    expect(probe.terminated).toBe(true);
    expect(worker.callsOf('switchBackend')).toEqual([['webgpu']]);
    expect(getState().session.backend).toMatchObject({ pending: false, reason: 'switched from WebAssembly: fastest in the probe (WebGPU 1 ms, WebAssembly 3 ms per forward pass)' });
  });

  it('keeps WebAssembly when it is faster, and stops timing while the page works (to try again when idle)', async () => {
    worker.backend = { ...pending };
    let open!: () => void;
    probe.measureGate = new Promise((r) => (open = r));
    await openPage();
    await until(() => probe.callsOf('measureBackends').length === 1, 'the timing');
    const work = beginActivity('Generating');
    await until(() => probe.terminated, 'the timing to stop');
    probe.terminated = false;
    probe.measureGate = null;
    open();
    work.end();
    await until(() => getState().session.backend?.pending === false, 'the choice');
    expect(probe.callsOf('measureBackends')).toHaveLength(2);
    expect(worker.callsOf('switchBackend')).toEqual([]);
    expect(getState().session.backend).toMatchObject({ backend: 'wasm', reason: probe.measured.reason });
  });
});

describe('a worker crash', () => {
  it('says so, restarts the worker and rebuilds the bridges', async () => {
    await openPage();
    await train();
    worker.crash!('out of memory');
    worker.crash!('out of memory'); // one crash often reports several errors
    await until(() => worker.restarts.length > 0, 'the restart');
    await until(() => getState().session.phase === 'ready' && isComposedNow(getState()), 'the new worker');
    await new Promise((r) => setTimeout(r, 300));
    expect(worker.restarts).toHaveLength(1);
    expect(worker.callsOf('init')).toHaveLength(2);
    expect(getState().session.error).toBe('The worker stopped (out of memory); starting a new one. The trained bridges were lost.');
    expect(getState().composition.trained).toBe(false);
  });

  it('a worker that cannot start says why and is not restarted (a new one would load the same files)', async () => {
    await openPage();
    const why = "SyntaxError: The requested module '/x/worker.js' does not provide an export named 'contents'";
    worker.crash!(why, 'start');
    expect(getState().session).toMatchObject({ phase: 'error', error: `The worker could not start: ${why}` });
    await new Promise((r) => setTimeout(r, 300));
    expect(worker.restarts).toHaveLength(0);
  });

  it('gives up after a few restarts', async () => {
    await openPage();
    for (let i = 0; i < 3; i++) await restartAfterCrash('boom');
    expect(worker.restarts).toHaveLength(2);
    expect(getState().session).toMatchObject({ phase: 'error', error: 'The worker stopped again (boom). Reload the page to try once more.' });
  });
});

describe('the UI side agrees with the core', () => {
  it('connection lists read as src/calm/connections reads them', () => {
    for (const text of ['-1:2,0:2,1:2', '0:0', 'e:1, 2:e', '1:f']) {
      const ours = parseConnectionList(text).map(([a, g]) => [a, g === PENDING_FINAL ? 3 : g]);
      expect(ours).toEqual(parseConnections(text, 3, 3));
    }
  });

  it('model cards count parameters; the composition key holds the spec but not the seed', () => {
    // public/models/kv-tiny/README.md: 739,712 parameters.
    const kvTiny = { model_type: 'gpt2', n_layer: 3, n_embd: 128, n_head: 4, n_positions: 32, vocab_size: 1098 };
    expect(summarizeModelConfig(kvTiny).parameters).toBe(739_712);
    const base = { anchor: 'a', augment: 'b', connections: [[0, 1]] as [number, number][], numHeads: 4, output: 'zero-init' as const, seed: 1 };
    expect(settingsKey(base)).toBe(settingsKey({ ...base, seed: 9, positionInit: 2 }));
    // an option left out is the spec's default, as the worker builds it
    expect(settingsKey(base)).toBe(settingsKey({ ...base, positionBias: SPEC_DEFAULTS.positionBias, valueGate: SPEC_DEFAULTS.valueGate }));
    for (const change of [{ positionBias: 0 }, { inputNorm: 'none' as const }, { queryNorm: false }, { valueGate: false }, { output: 'rmsnorm' as const }]) {
      expect(settingsKey({ ...base, ...change })).not.toBe(settingsKey(base));
    }
  });
});

// Saved work: the IndexedDB layer (fake-indexeddb) — records whole or not at all, a full
// quota as a message that says what to delete — the bundle file (zip), and the store's
// path: train → saved with checkpoints → restored on reload with the same bridge bytes;
// export → delete → import → the same bytes; a bundle whose models are missing.
import 'fake-indexeddb/auto';
import { IDBFactory, IDBObjectStore } from 'fake-indexeddb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('../../src/worker/client', () => ({
  createCalmClient: () => {
    throw new Error('the tests install a session with a fake client (installSession)');
  },
  proxyCallback: <T>(f: T) => f,
  transferBundle: <T>(f: T) => f,
  defaultModelsUrl: () => 'http://test.local/models',
}));

import { SavedDb, StorageFullError, type SavedComposition } from '../../src/store/saved';
import { bundleFileName, readBundleFiles, zipBundle } from '../../src/store/bundle-file';
import {
  addConnection,
  deleteSavedComposition,
  ensureComposed,
  exportCurrent,
  getState,
  importBundleFiles,
  initialState,
  loadBuiltinModels,
  openSaved,
  renameSavedComposition,
  restoreLastSession,
  setExamplesText,
  setHyperparameter,
  setState,
  startSession,
  train,
} from '../../src/store';
import { installSession, restartAfterCrash } from '../../src/store/session-control';
import type { Timing } from '../../src/store/controller';
import { openCompositionNow } from '../../src/store/shipped';
import { applyHash } from '../../src/store/url';
import { configToHash } from '../../src/store/config';
import { fakeFetch, FakeWorker } from './helpers/fake-calm-worker';

function record(id: string, bytes = 16, extra: Partial<SavedComposition> = {}): SavedComposition {
  return {
    id,
    name: `composition ${id}`,
    created: 1,
    updated: Number(id.replace(/\D/g, '')) || 1,
    settings: { anchor: 'arith-tiny', augment: 'kv-tiny', connections: [[0, 2]], numHeads: 4, output: 'zero-init', seed: 0 },
    hyperparameters: { steps: 3, lr: 0.001, batch: 2, seed: 0, heldOut: 0 },
    examplesText: null,
    metrics: { losses: [[1, 2.5]], accuracy: [] },
    state: 'done',
    step: 3,
    steps: 3,
    bundle: { composition: '{}', bridge: new Uint8Array(bytes).fill(7).buffer },
    ...extra,
  };
}

/** The browser's storage as the test sees it: its own connection to the database the page uses. */
let db: SavedDb;

beforeEach(() => {
  vi.stubGlobal('indexedDB', new IDBFactory());
  db = new SavedDb();
});
afterEach(async () => {
  vi.restoreAllMocks();
  await db.close();
  await getState().controller?.saved.close();
  vi.unstubAllGlobals();
});

describe('the storage layer', () => {
  it('saves, lists newest first, renames, remembers the last one and deletes', async () => {
    await db.put(record('r1', 8));
    await db.put(record('r2', 32));
    const list = await db.list();
    expect(list.map((r) => r.id)).toEqual(['r2', 'r1']);
    expect(list[0]).not.toHaveProperty('bundle');
    expect(list[0].bytes).toBe(32 + 2);
    expect((await db.last())?.id).toBe('r2');

    await db.rename('r1', 'my first');
    expect((await db.get('r1'))?.name).toBe('my first');
    const bridge = new Uint8Array((await db.get('r1'))!.bundle.bridge);
    expect([...bridge]).toEqual(new Array(8).fill(7)); // bytes as written

    await db.delete('r2');
    expect(await db.last()).toBeUndefined(); // the last one is gone: nothing to restore
    expect((await db.list()).map((r) => r.id)).toEqual(['r1']);
  });

  it('a full quota leaves no half-written record and names what to delete', async () => {
    await db.put(record('r1', 4096));
    await db.put(record('r2', 100));
    const put = IDBObjectStore.prototype.put;
    // The browser refuses the second write of the transaction (the record went in first).
    vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(function (this: IDBObjectStore, ...args: Parameters<typeof put>) {
      if (this.name === 'meta') throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      return put.apply(this, args);
    });
    const err = await db.put(record('r3', 10)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageFullError);
    expect((err as Error).message).toBe(
      'The browser\'s storage is full: “composition r3” (12 B) was not saved. Delete saved compositions you no longer need, e.g. “composition r1” (4.0 kB), “composition r2” (102 B), then try again.',
    );
    vi.restoreAllMocks();
    expect(await db.get('r3')).toBeUndefined(); // all or nothing
    expect((await db.last())?.id).toBe('r2');
    expect((await db.list()).map((r) => r.id)).toEqual(['r2', 'r1']);
  });
});

describe('the bundle file', () => {
  const bridge = new Uint8Array([1, 2, 3, 250]).buffer;
  it('zips composition.json, bridge.safetensors and the examples, and reads them back byte for byte', () => {
    const zip = zipBundle({ composition: '{"format":"x"}', bridge, examplesText: 'a => 1\n' });
    const back = readBundleFiles([{ name: 'mine.calm.zip', bytes: zip.slice().buffer }]);
    expect(back.composition).toBe('{"format":"x"}');
    expect([...new Uint8Array(back.bridge)]).toEqual([1, 2, 3, 250]);
    expect(back.examplesText).toBe('a => 1\n');
    expect(bundleFileName('arith-tiny + kv-tiny, 2026-01-01 10:00:00')).toBe('arith-tiny-kv-tiny-2026-01-01-10-00-00.calm.zip');
  });

  it('takes the two files picked together, and says what is missing or broken', () => {
    const two = readBundleFiles([
      { name: 'composition.json', bytes: new TextEncoder().encode('{}').buffer },
      { name: 'bridge.safetensors', bytes: bridge },
    ]);
    expect(two.composition).toBe('{}');
    expect(() => readBundleFiles([{ name: 'composition.json', bytes: new ArrayBuffer(2) }])).toThrow(
      'the chosen files lacks bridge.safetensors: a composition bundle needs both',
    );
    const onlyJson = zipBundle({ composition: '{}', bridge }).slice();
    expect(() => readBundleFiles([{ name: 'x.zip', bytes: onlyJson.slice(0, 40).buffer }])).toThrow(/x\.zip is not a readable zip file/);
    expect(() => readBundleFiles([])).toThrow('no file was chosen');
  });
});

/**
 * A fresh page on the browser storage there is: the store as first built, a new session
 * controller on a new worker.
 */
async function freshPage(hash?: string, timing?: Partial<Timing>): Promise<FakeWorker> {
  setState(initialState, true);
  const worker = new FakeWorker();
  installSession({ client: worker.client, timing });
  if (hash !== undefined) applyHash(hash, { initial: true }); // as startUrlSync does, before anything loads
  await loadBuiltinModels({ baseUrl: '/', fetch: fakeFetch() });
  await startSession();
  return worker;
}

describe('saved work in the store', () => {
  let worker: FakeWorker;

  /** A reload: the same browser storage, reopened by a fresh page. */
  async function reload(hash?: string): Promise<void> {
    await getState().controller?.saved.close(); // the old page's connection
    worker = await freshPage(hash);
  }

  beforeEach(async () => {
    worker = await freshPage();
  });

  it('saves what Train made and restores it on reload with the same bridge bytes', async () => {
    setExamplesText('abc+abd= => 3\n004+005= => 9\n');
    setHyperparameter('steps', 3);
    await ensureComposed();
    await train();
    const list = getState().library.list;
    expect(list).toHaveLength(1);
    const saved = (await db.get(list[0].id))!;
    expect(saved.state).toBe('done');
    expect(saved.examplesText).toBe('abc+abd= => 3\n004+005= => 9\n');
    expect(saved.hyperparameters.steps).toBe(3);
    expect(saved.metrics.losses).toEqual([
      [1, 2.5],
      [2, 1.5],
      [3, 1],
    ]);
    const trained = [...worker.bridge];
    expect([...new Uint8Array(saved.bundle.bridge)]).toEqual(trained);

    await reload();
    expect(await restoreLastSession()).toBe(true);
    expect([...worker.bridge]).toEqual(trained); // the worker holds the same bridges
    const s = getState();
    expect(s.composition).toMatchObject({ status: 'ready', trained: true });
    expect(s.examples.text).toBe('abc+abd= => 3\n004+005= => 9\n');
    expect(s.config.steps).toBe(3);
    expect(s.training.losses).toHaveLength(3);
    expect(s.library.notice).toMatch(/^Restored “arith-tiny \+ kv-tiny, .*” from your last visit\.$/);
    expect(s.library.resume).toBeUndefined();
  });

  it("a reload keeps the page's own address and restores; a link to another setup opens that one and keeps the saved one listed", async () => {
    setExamplesText('abc+abd= => 3\n004+005= => 9\n');
    setHyperparameter('steps', 2);
    await ensureComposed();
    await train();
    const trained = [...worker.bridge];
    const own = configToHash(getState().config);

    await reload(own);
    expect(await restoreLastSession()).toBe(true);
    expect([...worker.bridge]).toEqual(trained);
    expect(getState().composition).toMatchObject({ status: 'ready', trained: true });
    await ensureComposed(); // what the page does next: nothing to rebuild
    expect(worker.callsOf('compose')).toHaveLength(0);

    const other = own.replace(/connections=[^&]*/, 'connections=0:1');
    expect(other).not.toBe(own);
    await reload(other);
    expect(await restoreLastSession()).toBe(false);
    expect(getState().config.connections).toEqual([[0, 1]]);
    expect(getState().library.notice).toMatch(/^Opened the link's composition; “arith-tiny \+ kv-tiny, .*” from your last visit is under Saved compositions\.$/);
    await vi.waitFor(() => expect(getState().library.list).toHaveLength(1));
    await ensureComposed();
    expect((worker.callsOf('compose')[0][0] as { connections: unknown }).connections).toEqual([[0, 1]]);
  });

  it('offers to resume an interrupted training from its checkpoint and trains the remaining steps', async () => {
    await db.put(record('r9', 6, { state: 'training', step: 2, steps: 5, bundle: { composition: JSON.stringify({ connections: [[0, 2]], num_heads: 4, output: 'zero-init' }), bridge: new Uint8Array([9, 9]).buffer } }));
    await reload();
    expect(await restoreLastSession()).toBe(true);
    expect(getState().library.resume).toEqual({ id: 'r9', name: 'composition r9', step: 2, steps: 5 });
    expect(getState().library.notice).toContain('training stopped at step 2 of 5');
    const { resumeTraining } = await import('../../src/store');
    await resumeTraining();
    const trainCall = worker.callsOf('train').at(-1)![0] as { steps: number };
    expect(trainCall.steps).toBe(3); // 5 − 2
    expect(worker.callsOf('compose')).toHaveLength(0); // from the checkpoint's bridges, not fresh ones
    const after = (await db.get('r9'))!;
    expect(after.state).toBe('done');
    expect(after.step).toBe(5); // 2 + the fake's 3 steps
    // "training stopped at step 2" is no longer true once the resumed run has finished.
    expect(getState().library.notice).toBeUndefined();
  });

  it('"open now" and Export follow the composition actually open: a shipped one, or fresh bridges, belong to no saved record', async () => {
    await ensureComposed();
    await train();
    const id = getState().library.currentId!;
    expect(id).toBeDefined();
    await renameSavedComposition(id, 'my run');
    expect((await exportCurrent()).name).toBe('my-run.calm.zip');

    // The shipped composition: its own name; the saved run is not "open now" any more.
    vi.stubGlobal('fetch', fakeFetch());
    await openCompositionNow(getState().builtinCompositions[0]);
    expect(getState().library.currentId).toBeUndefined();
    expect((await exportCurrent()).name).toBe('kv-arith-repro-kv.calm.zip');

    // Back to the saved run, then a change of mapping: fresh bridges, no record open.
    await openSaved(id);
    expect(getState().library.currentId).toBe(id);
    expect(getState().library.notice).toBe('Opened “my run”.');
    setState((s) => ({ composition: { ...s.composition, trained: false } })); // so the change needs no answer
    addConnection([2, 0]);
    await vi.waitFor(() => expect(worker.callsOf('compose').length).toBeGreaterThan(1));
    await ensureComposed();
    expect(getState().library.currentId).toBeUndefined();
    expect(getState().library.notice).toBeUndefined(); // it spoke of “my run”, which is not open any more
  });

  it('exports one file, deletes, imports it again: the same bytes; renames', async () => {
    await ensureComposed();
    await train();
    const trained = [...worker.bridge];
    const file = await exportCurrent();
    expect(file.name).toMatch(/\.calm\.zip$/);
    const id = getState().library.currentId!;
    await renameSavedComposition(id, 'kv arith');
    expect(getState().library.list[0].name).toBe('kv arith');
    await deleteSavedComposition(id);
    expect(getState().library.list).toEqual([]);

    await reload();
    await importBundleFiles([{ name: 'kv arith.calm.zip', bytes: file.bytes.slice().buffer }]);
    expect(getState().library.importError).toBeUndefined();
    expect([...worker.bridge]).toEqual(trained);
    expect(getState().library.list.map((r) => [r.name, r.state])).toEqual([['kv arith', 'imported']]);
    const back = (await db.get(getState().library.list[0].id))!;
    expect([...new Uint8Array(back.bundle.bridge)]).toEqual(trained);
    await openSaved(back.id);
    expect(getState().library.notice).toBe('Opened “kv arith”.');
  });

  it('says which models a bundle needs when they are missing, and keeps the composition it had', async () => {
    await ensureComposed();
    const before = getState().composition.key;
    worker.importError = 'this composition needs the models big-anchor (anchor) and kv-tiny (augmenting); big-anchor is not among the loaded models: load it first';
    const zip = zipBundle({ composition: '{"connections":[[0,2]],"num_heads":4,"output":"zero-init"}', bridge: new ArrayBuffer(4) });
    await importBundleFiles([{ name: 'theirs.calm.zip', bytes: zip.slice().buffer }]);
    expect(getState().library.importError).toBe(`Could not import theirs.calm.zip: ${worker.importError}`);
    expect(getState().composition.key).toBe(before);
    expect(getState().library.list).toEqual([]);
  });

  it('after a worker crash, reopens the last saved bridges instead of fresh ones', async () => {
    await ensureComposed();
    await train();
    const trained = [...worker.bridge];
    worker.bridge = new Uint8Array(0); // the new worker holds nothing
    await restartAfterCrash('GPU device was lost');
    expect(getState().session.error).toContain('The bridges come back from their last saved checkpoint.');
    expect([...worker.bridge]).toEqual(trained);
    expect(getState().composition).toMatchObject({ status: 'ready', trained: true });
  });
});

describe('bringing a model folder (store)', () => {
  let worker: FakeWorker;
  const files = () =>
    ['config.json', 'model.safetensors', 'tokenizer.json', 'README.md'].map((n) => ({ name: n, path: `tiny-gpt/${n}`, bytes: new Uint8Array([1, 2, 3]).buffer }));

  beforeEach(async () => {
    worker = await freshPage();
  });

  it('lists an imported model in both pickers with its sizes, keeps it for the next visit', async () => {
    const { importModelFiles } = await import('../../src/store');
    expect(await importModelFiles(files())).toBe('tiny-gpt');
    const s = getState();
    expect(s.modelImport.notice).toBe('Imported the model “tiny-gpt” (2 layers, width 32): it is in both model lists.');
    expect(s.builtinModels.status === 'ready' && s.builtinModels.value.map((m) => m.id)).toContain('tiny-gpt');
    expect(s.builtinConfigs['tiny-gpt']).toEqual({ status: 'ready', value: { nLayer: 2, nEmbd: 32, nHead: 2, nPositions: 64, vocabSize: 100, parameters: 12345 } });

    // A new visit: the worker gets the kept files again before anything is composed.
    await getState().controller?.saved.close(); // the old page's connection
    worker = await freshPage();
    expect(worker.callsOf('importModel').map((c) => (c[1] as { id: string }).id)).toEqual(['tiny-gpt']);
    const again = getState().builtinModels;
    expect(again.status === 'ready' && again.value.map((m) => m.id)).toContain('tiny-gpt');
  });

  it('says what is wrong with a folder and changes nothing', async () => {
    const { importModelFiles } = await import('../../src/store');
    worker.importModelError = 'tiny-gpt/config.json: model_type "falcon" is not supported (supported: gpt2, llama, gpt_neox)';
    expect(await importModelFiles(files())).toBeNull();
    expect(getState().modelImport.error).toBe('Could not import the model tiny-gpt: tiny-gpt/config.json: model_type "falcon" is not supported (supported: gpt2, llama, gpt_neox)');
    const m = getState().builtinModels;
    expect(m.status === 'ready' && m.value.map((x) => x.id)).not.toContain('tiny-gpt');
    expect(await importModelFiles(files().filter((f) => f.name !== 'tokenizer.json'))).toBeNull();
    expect(getState().modelImport.error).toMatch(/tiny-gpt lacks tokenizer\.json/);
  });
});

describe('faults during training (store)', () => {
  let worker: FakeWorker;
  beforeEach(async () => {
    worker = await freshPage(undefined, { checkpointMs: 0 });
  });

  it('a worker crash mid-training: restarts, says so, reopens the checkpoint bit for bit and trains the remaining steps', async () => {
    let release!: () => void;
    worker.trainGate = new Promise<void>((r) => (release = r));
    worker.trainEvents = [
      { stage: 'training', step: 1, steps: 10, loss: 2 },
      { stage: 'training', step: 4, steps: 10, loss: 1.5 },
      { stage: 'done', step: 10, steps: 10, loss: 1 },
    ];
    setHyperparameter('steps', 10);
    await ensureComposed();
    const run = train();
    for (let i = 0; i < 1000 && !getState().library.list.some((r) => r.step === 4); i++) await new Promise((r) => setTimeout(r, 5));
    const checkpoint = (await db.get(getState().library.currentId!))!;
    expect([checkpoint.state, checkpoint.step, checkpoint.steps]).toEqual(['training', 4, 10]);
    const atCheckpoint = [...new Uint8Array(checkpoint.bundle.bridge)];

    // The worker dies; the new one starts empty.
    worker.bridge = new Uint8Array(0);
    worker.trainGate = null;
    // What the new worker's run reports: the remaining 6 steps.
    worker.trainEvents = [
      { stage: 'training', step: 3, steps: 6, loss: 1.2 },
      { stage: 'done', step: 6, steps: 6, loss: 1 },
    ];
    worker.trainSummary = { stopped: 'done', steps: 6, seconds: 1, finalLoss: 1 };
    await restartAfterCrash('the WebGPU device was lost (destroyed)');
    release();
    await run;
    expect(getState().session.error).toBe(
      'The worker stopped (the WebGPU device was lost (destroyed)); starting a new one. The bridges come back from their last saved checkpoint.',
    );
    const imported = worker.callsOf('importBundle').at(-1)![0] as { bridge: ArrayBuffer };
    expect([...new Uint8Array(imported.bridge)]).toEqual(atCheckpoint);
    for (let i = 0; i < 1000 && getState().training.status !== 'done'; i++) await new Promise((r) => setTimeout(r, 5));
    const resumed = worker.callsOf('train').at(-1)![0] as { steps: number };
    expect(resumed.steps).toBe(6); // 10 − 4
    expect(getState().training.status).toBe('done');
    expect(getState().training.step).toBe(10);
    expect(getState().training.losses.map(([step]) => step)).toEqual([1, 4, 7, 10]); // the chart goes on
    const done = (await db.get(checkpoint.id))!;
    expect([done.state, done.step]).toEqual(['done', 10]);
  });
});

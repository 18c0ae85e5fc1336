// The worker's module: one CalmEngine, exposed with Comlink (loaded by the bootstrap in
// worker.ts). The only worker file that knows it is bundled by Vite: the .wasm binaries come
// in as asset URLs (`?url`), so tfjs fetches them from wherever the build put them rather
// than from a guessed path.
import * as Comlink from 'comlink';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { tf } from '../model/tf';
import { CalmEngine } from './engine';
import type { CalmWorkerApi, TokenEvent, TrainEvent } from './protocol';

// tfjs's console notices (e.g. "the backend was already registered") stay out of the page's console.
tf.env().set('PROD', true);
// tfjs-backend-wasm's threaded build crashes in its helper threads once Vite has bundled it
// ("e is not defined" inside the pthread script); the single-threaded SIMD build works.
tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);

const engine = new CalmEngine({
  // A lost GPU is reported as a crash (an uncaught error), so the page restarts the worker
  // and resumes from the last checkpoint.
  onDeviceLost: (message) =>
    setTimeout(() => {
      throw new Error(message.replace(/; restart the worker$/, ''));
    }, 0),
  wasmSetup: () =>
    setWasmPaths({
      'tfjs-backend-wasm.wasm': wasmPlain,
      'tfjs-backend-wasm-simd.wasm': wasmSimd,
      'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedSimd,
    }),
});

type Listener<A extends unknown[]> = ((...args: A) => unknown) & Partial<Record<typeof Comlink.releaseProxy, () => void>>;

/**
 * Runs `work` with a callback that forwards to the UI's Comlink proxy without waiting for
 * each delivery, then waits for every delivery before the call settles — so the last event
 * (training's `done`) reaches the UI before the promise does — and releases the proxy's port.
 */
async function withListener<A extends unknown[], T>(listener: Listener<A> | undefined, work: (cb: (...args: A) => void) => Promise<T>): Promise<T> {
  const pending = new Set<Promise<unknown>>();
  const cb = (...args: A): void => {
    if (!listener) return;
    const p = Promise.resolve()
      .then(() => listener(...args))
      .catch(() => {}); // a closed page or a throwing listener must not stop the work
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };
  try {
    return await work(cb);
  } finally {
    await Promise.all(pending);
    listener?.[Comlink.releaseProxy]?.();
  }
}

// The engine's methods, with transfer and proxy handling at the boundary.
const api: CalmWorkerApi = {
  init: (opts) => engine.init(opts),
  measureBackends: () => engine.measureBackends(),
  switchBackend: (backend) => engine.switchBackend(backend),
  listModels: () => engine.listModels(),
  compose: (settings) => engine.compose(settings),
  train: (settings, onEvent) => withListener<[TrainEvent], Awaited<ReturnType<CalmWorkerApi['train']>>>(onEvent, (cb) => engine.train(settings, cb)),
  stop: () => engine.stop(),
  evaluate: (opts, onProgress) =>
    withListener<[number, number], Awaited<ReturnType<CalmWorkerApi['evaluate']>>>(onProgress, (cb) => engine.evaluate(opts, cb)),
  generate: (settings, onToken) =>
    withListener<[TokenEvent], { text: string }>(onToken, (cb) => engine.generate(settings, cb)),
  attention: (opts) => engine.attention(opts),
  setDisabled: (connections) => engine.setDisabled(connections),
  exportBundle: async () => {
    const files = await engine.exportBundle();
    return Comlink.transfer(files, [files.bridge]);
  },
  importBundle: (files) => engine.importBundle(files),
  importModel: (files, opts) => engine.importModel(files, opts),
  kernelUsage: (opts) => engine.kernelUsage(opts),
  debug: (action) => engine.debug(action),
};

/** Exposes the API, then hands it the calls that arrived while this module loaded. */
export function start(early: MessageEvent[]): void {
  Comlink.expose(api);
  for (const e of early) globalThis.dispatchEvent(new MessageEvent('message', { data: e.data }));
}

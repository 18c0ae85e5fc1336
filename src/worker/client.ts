// The UI side of the worker: starts it, wraps it with Comlink, and restarts it on demand
// (after a crash, or to cut off work that stop() cannot reach). Imports only types from the
// worker side: the UI thread never loads tfjs (docs/design.md § Layering).
import * as Comlink from 'comlink';
import type { BundleFiles, CalmWorkerApi, WorkerStartMessage } from './protocol';

export interface CalmClient {
  /**
   * The worker's API; callbacks must be wrapped with proxyCallback. Replaced by restart():
   * read `client.api` at each call rather than keeping it. Calls still pending when the
   * worker is restarted or terminated reject with a WorkerGoneError.
   */
  api: Comlink.Remote<CalmWorkerApi>;
  /** Terminates the worker and starts a fresh one (call init again); `api` then points at it. */
  restart(): void;
  /** Terminates the worker for good. */
  terminate(): void;
  /**
   * Listens for worker crashes (uncaught errors) and start failures (a module that cannot load:
   * `kind` 'start', the message naming the error and the file); returns the unsubscribe.
   */
  onCrash(cb: (message: string, kind: CrashKind) => void): () => void;
}

/** `start`: the worker's modules could not load, so a restart would fail the same way; `crash`: it stopped while running. */
export type CrashKind = 'start' | 'crash';

/** A call that cannot finish: its worker was restarted or terminated. */
export class WorkerGoneError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkerGoneError';
  }
}

/** The worker could not start (its modules did not load); the message says why and names the file. */
export class WorkerStartError extends WorkerGoneError {
  constructor(message: string) {
    super(message);
    this.name = 'WorkerStartError';
  }
}

/** Marks a callback to be called across the worker boundary (a train event, a token). */
export const proxyCallback = Comlink.proxy;

/** The files of a bundle, with the ArrayBuffer transferred rather than copied (it leaves this thread). */
export function transferBundle(files: BundleFiles): BundleFiles {
  return Comlink.transfer(files, [files.bridge]);
}

/** Where the built-in models are served: `<base>/models` as an absolute URL (the worker's own URL is elsewhere). */
export function defaultModelsUrl(): string {
  return new URL(`${import.meta.env.BASE_URL}models`, globalThis.location.href).href;
}

/** The message of a worker `error` event, as one line. */
function crashMessage(e: Event): string {
  const err = e as ErrorEvent;
  const where = err.filename ? ` (${err.filename.split('/').pop()}:${err.lineno})` : '';
  const message =
    err.message || (err.error instanceof Error ? err.error.message : '') || 'the worker could not start or stopped unexpectedly';
  return `${message}${where}`.replace(/\s*\n\s*/g, ' ');
}

interface Running {
  worker: Worker;
  remote: Comlink.Remote<CalmWorkerApi>;
  /** Rejects every pending call when this worker goes away. */
  gone: (reason: Error) => void;
  api: Comlink.Remote<CalmWorkerApi>;
}

function isStartMessage(data: unknown): data is WorkerStartMessage {
  return typeof data === 'object' && data !== null && 'calmWorker' in data;
}

/** `worker`: starts another worker module (tests start fixtures); by default the CALM worker. */
export function createCalmClient(opts: { worker?: () => Worker } = {}): CalmClient {
  const listeners = new Set<(message: string, kind: CrashKind) => void>();
  let terminated = false;

  const start = (): Running => {
    const worker = opts.worker?.() ?? new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'calm-worker' });
    let started = false;
    let gone!: (reason: Error) => void;
    const lost = new Promise<never>((_, reject) => (gone = reject));
    lost.catch(() => {}); // observed by the calls that race it
    const cannotStart = (message: string) => {
      gone(new WorkerStartError(message));
      listeners.forEach((cb) => cb(message, 'start'));
    };
    worker.addEventListener('message', (e: MessageEvent) => {
      if (!isStartMessage(e.data)) return;
      if (e.data.calmWorker === 'started') started = true;
      else cannotStart(e.data.message);
    });
    worker.addEventListener('error', (e) => {
      e.preventDefault(); // reported through onCrash, not as an uncaught page error
      // Before the bootstrap has run, the worker's own script did not load (the browser says no more).
      if (!started && !(e as ErrorEvent).message) {
        cannotStart("the worker's script could not be loaded (the browser gives no reason; its console may say more)");
        return;
      }
      const message = crashMessage(e);
      listeners.forEach((cb) => cb(message, 'crash'));
    });
    worker.addEventListener('messageerror', () => listeners.forEach((cb) => cb('a message from the worker could not be read', 'crash')));
    const remote = Comlink.wrap<CalmWorkerApi>(worker);
    // Method calls race the worker's end, so none hangs forever after restart().
    const api = new Proxy(remote, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (typeof prop !== 'string' || prop === 'then') return value;
        return (...args: unknown[]) => Promise.race([(value as (...a: unknown[]) => Promise<unknown>)(...args), lost]);
      },
    });
    return { worker, remote, gone, api };
  };

  let running = start();
  const stopRunning = (why: string) => {
    running.gone(new WorkerGoneError(why));
    running.worker.terminate();
  };

  const client: CalmClient = {
    api: running.api,
    restart() {
      if (terminated) throw new WorkerGoneError('the worker was terminated; create a new client');
      stopRunning('the worker was restarted before this call finished');
      running = start();
      client.api = running.api;
    },
    terminate() {
      if (terminated) return;
      terminated = true;
      stopRunning('the worker was terminated before this call finished');
    },
    onCrash(cb) {
      listeners.add(cb);
      return () => listeners.delete(cb);
    },
  };
  return client;
}

// The page's worker, through the session controller: its API and the queue of calls that
// replace the bridges. Nothing here touches tensors (docs/design.md § Layering: store →
// worker/client).
import { controller } from './app';
import type { CalmApi } from './controller';

export type { CalmApi, CalmClient } from './controller';
export { defaultModelsUrl, proxyCallback, transferBundle } from '../worker/client';

/** The worker's API, looked up on each call (a restart replaces it). */
export function api(): CalmApi {
  return controller().client.api;
}

/** Runs `f` after every call queued before it: compose, train and import replace the bridges. */
export function serial<T>(f: () => Promise<T>): Promise<T> {
  const c = controller();
  const run = c.queue.then(f, f);
  c.queue = run.catch(() => undefined);
  return run;
}

/** An error's one-line message, for people. */
export function messageOf(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.split('\n')[0] || 'unknown error';
}

// Starting a module worker so that the page learns why it could not start. When a module
// worker's own script fails to load, parse or link (a file that is missing, or served as
// CommonJS where a module is expected), the page gets a bare `error` event: no message, no
// file. So the worker's entry is this small bootstrap, which imports the real module
// dynamically: a failed import rejects with the browser's message (which names the file),
// and the bootstrap posts it to the page (src/worker/client.ts reads it).
import type { WorkerStartMessage } from './protocol';

/**
 * Loads the worker's module and calls its `start(early)` with the messages that arrived while
 * it loaded (a call the page made at once); on failure, posts the reason to the page.
 */
export function bootWorker(load: () => Promise<{ start(early: MessageEvent[]): void }>): void {
  const scope = globalThis as unknown as DedicatedWorkerGlobalScope;
  const early: MessageEvent[] = [];
  const hold = (e: MessageEvent) => early.push(e);
  scope.addEventListener('message', hold);
  load().then(
    (module) => {
      scope.removeEventListener('message', hold);
      module.start(early);
      scope.postMessage({ calmWorker: 'started' } satisfies WorkerStartMessage);
    },
    (e: unknown) => {
      scope.removeEventListener('message', hold);
      scope.postMessage({ calmWorker: 'failed', message: startFailure(e) } satisfies WorkerStartMessage);
    },
  );
}

/** The load error as one line: its name and message (a SyntaxError names the module it could not link). */
export function startFailure(e: unknown): string {
  const text = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return text.replace(/\s*\n\s*/g, ' ').trim() || 'the worker module could not be loaded';
}

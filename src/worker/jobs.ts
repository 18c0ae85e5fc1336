// The worker's jobs: one long job at a time (init, compose, import, training, evaluation,
// generation); a second one is refused with a one-line message rather than queued, so the UI
// always knows what runs. Every call's error reaches the page as one line, the name kept
// (Comlink carries name and message); a lost WebGPU device is said on every later call.
import { errorMessage } from '../io/errors';

export type JobKind = 'init' | 'compose' | 'import' | 'training' | 'evaluation' | 'generation';
const ACTION: Record<JobKind, string> = {
  init: 'start the backend',
  compose: 'compose',
  import: 'import a composition',
  training: 'train',
  evaluation: 'evaluate',
  generation: 'generate',
};
const ACTIVITY: Record<JobKind, string> = {
  init: 'starting the backend',
  compose: 'composing',
  import: 'importing a composition',
  training: 'training',
  evaluation: 'evaluation',
  generation: 'generation',
};

export function isAbort(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { name?: unknown }).name === 'AbortError';
}

/** The error as the UI shows it: one line, the name kept. */
function oneLineError(e: unknown): Error {
  const message = errorMessage(e).replace(/\s*\n\s*/g, ' ').trim() || 'unknown error';
  if (e instanceof Error && e.message === message) return e;
  const out = new Error(message, { cause: e });
  if (e instanceof Error) out.name = e.name;
  return out;
}

/** Calls a callback that may be a Comlink proxy (its result a promise that may reject). */
export function notify<T>(cb: ((v: T) => unknown) | undefined, value: T): void {
  if (!cb) return;
  try {
    const r = cb(value);
    if (r instanceof Promise) r.catch(() => {});
  } catch {
    // a listener's failure must not stop the work it listens to
  }
}

export function requireInteger(name: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer from ${min} to ${max}`;
    throw new Error(`${name} must be ${range}, found ${JSON.stringify(v)}`);
  }
  return v;
}

export class Jobs {
  private job: { kind: JobKind; abort: AbortController } | null = null;
  /** Set once the WebGPU device in use is lost: every later call says so. */
  deviceLost: string | null = null;

  /** The kind of the job running now, or null. */
  get running(): JobKind | null {
    return this.job?.kind ?? null;
  }

  /** Runs fn with one-line errors. */
  async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      if (this.deviceLost) throw new Error(this.deviceLost);
      return await fn();
    } catch (e) {
      throw oneLineError(this.deviceLost ? new Error(`${this.deviceLost} [${errorMessage(e)}]`) : e);
    }
  }

  /** Runs fn as the one long job; refuses when another is running. */
  run<T>(kind: JobKind, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    return this.guard(async () => {
      const busy = this.job;
      if (busy) {
        if (busy.kind === kind && kind === 'training') throw new Error('training is already running');
        throw new Error(`cannot ${ACTION[kind]} while ${ACTIVITY[busy.kind]} is in progress${busy.kind === 'training' ? '; stop it first' : ''}`);
      }
      const job = { kind, abort: new AbortController() };
      this.job = job;
      try {
        return await fn(job.abort.signal);
      } finally {
        this.job = null;
      }
    });
  }

  /** Stops training, evaluation or generation (the others run to their end). */
  stop(): void {
    const job = this.job;
    if (job && (job.kind === 'training' || job.kind === 'evaluation' || job.kind === 'generation')) job.abort.abort();
  }
}

// What the command line writes: results on stdout (one JSON document with --json), progress
// and errors on stderr, each error one line and never a stack trace.
import { errorMessage } from '../io/errors';

let quiet = false;

/** `--quiet` turns progress off; results and errors are always written. */
export function setQuiet(q: boolean): void {
  quiet = q;
}

/** One progress line on stderr (never on stdout, so `--json` output stays one document). */
export function progress(message: string): void {
  if (!quiet) process.stderr.write(`${oneLine(message)}\n`);
}

/** Exactly one JSON document on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** Plain text on stdout. */
export function printText(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/**
 * The shortest decimal that reads back as the same float32 (as tests/golden/calm_ref.py
 * prints), so logits in JSON are exact but not padded to 17 digits.
 */
export function f32(x: number): number {
  if (!Number.isFinite(x)) return x;
  const target = Math.fround(x);
  for (let p = 1; p <= 9; p++) {
    const y = Number(target.toPrecision(p));
    if (Math.fround(y) === target) return y;
  }
  return target;
}

/** A number rounded to `digits` decimals, for human-facing figures (accuracy, probabilities). */
export function round(x: number, digits = 4): number {
  const k = 10 ** digits;
  return Math.round(x * k) / k;
}

/** `0.953` → `95.3 %`. */
export function percent(x: number): string {
  return `${(100 * x).toFixed(1)} %`;
}

/** `12345` → `12.3k`, `1234567` → `1.23M`. */
export function compactCount(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toPrecision(3)}M`;
  if (n >= 1e3) return `${(n / 1e3).toPrecision(3)}k`;
  return String(n);
}

export function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}

/** Wrong invocation (unknown command or option, a bad option value): exit status 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The exit status for an error: 2 for usage errors, 1 for everything else. */
export function exitCodeFor(e: unknown): number {
  return e instanceof UsageError ? 2 : 1;
}

/** Writes `calm: <message>` on one line; `CALM_DEBUG=1` adds the stack for developers. */
export function reportError(e: unknown): void {
  process.stderr.write(`calm: ${oneLine(errorMessage(e))}\n`);
  if (process.env.CALM_DEBUG && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
}

function onFatal(e: unknown): void {
  reportError(e);
  process.exit(exitCodeFor(e));
}

/**
 * Makes our handlers the only ones for uncaught exceptions and unhandled rejections.
 * The tfjs wasm module (Emscripten) installs handlers that rethrow, and Node then prints the
 * offending line of its one-line JS source — hundreds of kB on the terminal. Called at start
 * and again after a backend has been initialised.
 */
export function installCrashHandlers(): void {
  for (const event of ['uncaughtException', 'unhandledRejection'] as const) {
    process.removeAllListeners(event);
    process.on(event, onFatal);
  }
  // `calm ... | head` closes the pipe early; that is not an error worth a message.
  process.stdout.removeAllListeners('error');
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    onFatal(e);
  });
}

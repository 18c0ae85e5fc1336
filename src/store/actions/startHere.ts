// User action: Start here. Opens the composition shipped with the app (bridges trained ahead
// by `calm repro kv`) unless it is open already, puts a prompt over held-out keys (keys the
// bridges never saw) in Compare, and compares: the three answers side by side, each judged
// against its own right answer (answers.ts).
import { getState, setState } from '../app';
import { requestChange } from '../change';
import { heldOutExamples } from '../examples';
import { isTraining } from '../training';
import { compare, setPrompt } from './compare';

/** Whether the open composition is the shipped one `title`, with its bridges in the worker. */
export function shippedIsOpen(title: string, s = getState()): boolean {
  return s.composition.status === 'ready' && s.composition.source?.kind === 'bundle' && s.composition.source.title === title;
}

/**
 * The `n`-th prompt over held-out keys (0: the page's default Compare prompt), as the held-out
 * examples draw them.
 */
export function heldOutPrompt(n: number): string {
  return heldOutExamples(n + 1)[n]?.prompt ?? '';
}

/** Runs Start here with the `n`-th held-out prompt. */
export async function startHere(n = 0): Promise<void> {
  const s = getState();
  const shipped = s.builtinCompositions[0];
  if (!shipped || isTraining(s.training) || s.compare.running) return;
  setState((st) => ({ compare: { ...st.compare, startRound: n } }));
  setPrompt(heldOutPrompt(n));
  if (shippedIsOpen(shipped.title)) {
    await compare();
    return;
  }
  // Opened, then compared (change.ts); trained bridges of the person's own are asked about first.
  setState((st) => ({ compare: { ...st.compare, starting: true } }));
  if (requestChange({ kind: 'bundle', composition: shipped, what: `open ${shipped.title}`, then: 'compare' }) === 'refused') {
    setState((st) => ({ compare: { ...st.compare, starting: false } }));
  }
}

// User action: Compare. The prompt goes to the anchor alone, the augmenting model alone and
// the composition, one after the other (one worker), each streaming its tokens.
import type { Column, TokenEvent } from '../../worker/protocol';
import { beginActivity } from '../activity';
import { getState, setState, type AppState } from '../app';
import { fieldProblem } from '../fields';
import { NO_LINKS } from './train';
import { COLUMNS, idleOutputs, type ColumnOutput } from '../compare';
import { ensureComposed } from '../compose';
import { isTraining } from '../training';
import { refreshKernelUsage } from '../kernels';
import { api, messageOf, proxyCallback, serial } from '../worker';

/** A new prompt: the outputs shown answered the old one, so they go. */
export function setPrompt(prompt: string): void {
  setState((s) => (s.compare.prompt === prompt ? s : { compare: { ...s.compare, prompt, outputs: idleOutputs(), run: s.compare.run + 1 } }));
}

/** Why Compare cannot run now, or null. */
export function compareProblem(s: AppState = getState()): string | null {
  if (s.compare.prompt === '') return 'Write a prompt first.';
  if (s.config.connections.length === 0) return NO_LINKS;
  return fieldProblem(s, 'compare');
}

/** Patches a column of run `run`; a later run or prompt edit has made it stale otherwise. */
function patchColumn(run: number, column: Column, patch: Partial<ColumnOutput>): void {
  setState((s) =>
    s.compare.run !== run ? s : { compare: { ...s.compare, outputs: { ...s.compare.outputs, [column]: { ...s.compare.outputs[column], ...patch } } } },
  );
}

export async function compare(): Promise<void> {
  const s = getState();
  if (s.compare.running || isTraining(s.training)) return;
  const prompt = s.compare.prompt;
  const outputs = idleOutputs();
  for (const c of COLUMNS) outputs[c] = { status: 'waiting', tokens: [] };
  const run = s.compare.run + 1;
  const problem = compareProblem(s);
  if (problem) {
    for (const c of COLUMNS) outputs[c] = { status: 'error', tokens: [], error: problem };
    setState({ compare: { ...s.compare, outputs, run } });
    return;
  }
  setState({ compare: { ...s.compare, running: true, outputs, run } });
  const activity = beginActivity('Generating');
  try {
    try {
      await ensureComposed();
    } catch (e) {
      for (const c of COLUMNS) patchColumn(run, c, { status: 'error', error: messageOf(e) });
      return;
    }
    for (const [i, column] of COLUMNS.entries()) {
      if (getState().compare.run !== run) break; // the prompt changed: these answers are not wanted any more
      activity.update(i, COLUMNS.length, `Generating: ${column === 'composed' ? 'composition' : column === 'anchor' ? 'anchor' : 'augmenting model'}`);
      const disabled = column === 'composed' ? getState().composition.disabled : undefined;
      patchColumn(run, column, { status: 'streaming', disabled });
      const onToken = (t: TokenEvent) =>
        setState((st) => {
          if (st.compare.run !== run) return st;
          const o = st.compare.outputs[column];
          return { compare: { ...st.compare, outputs: { ...st.compare.outputs, [column]: { ...o, tokens: [...o.tokens, t] } } } };
        });
      try {
        const settings = { prompt, column, maxTokens: getState().config.maxTokens, temperature: 0 };
        await serial(() => api().generate(settings, proxyCallback(onToken)));
        patchColumn(run, column, { status: 'done' });
      } catch (e) {
        patchColumn(run, column, { status: 'error', error: messageOf(e) });
      }
    }
  } finally {
    activity.end();
    setState((st) => ({ compare: { ...st.compare, running: false } }));
  }
  await refreshKernelUsage();
}

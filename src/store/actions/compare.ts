// User action: Compare. The prompt goes to the anchor alone, the augmenting model alone and
// the composition, one after the other (one worker), each streaming its tokens.
import type { Column, TokenEvent } from '../../worker/protocol';
import { beginActivity } from '../activity';
import { getState, setState } from '../app';
import { COLUMNS, idleOutputs, type ColumnOutput } from '../compare';
import { ensureComposed, serial } from '../compose';
import { isTraining } from '../training';
import { api, messageOf, proxyCallback } from '../worker';

export function setPrompt(prompt: string): void {
  setState((s) => ({ compare: { ...s.compare, prompt } }));
}

function patchColumn(column: Column, patch: Partial<ColumnOutput>): void {
  setState((s) => ({
    compare: { ...s.compare, outputs: { ...s.compare.outputs, [column]: { ...s.compare.outputs[column], ...patch } } },
  }));
}

export async function compare(): Promise<void> {
  const s = getState();
  if (s.compare.running || isTraining(s.training)) return;
  const prompt = s.compare.prompt;
  const outputs = idleOutputs();
  for (const c of COLUMNS) outputs[c] = { status: 'waiting', tokens: [] };
  if (prompt === '') {
    for (const c of COLUMNS) outputs[c] = { status: 'error', tokens: [], error: 'Write a prompt first.' };
    setState({ compare: { ...s.compare, outputs } });
    return;
  }
  setState({ compare: { ...s.compare, running: true, outputs } });
  const activity = beginActivity('Generating');
  try {
    try {
      await ensureComposed();
    } catch (e) {
      for (const c of COLUMNS) patchColumn(c, { status: 'error', error: messageOf(e) });
      return;
    }
    for (const [i, column] of COLUMNS.entries()) {
      activity.update(i, COLUMNS.length, `Generating: ${column === 'composed' ? 'composition' : column === 'anchor' ? 'anchor' : 'augmenting model'}`);
      const disabled = column === 'composed' ? getState().composition.disabled : undefined;
      patchColumn(column, { status: 'streaming', disabled });
      const onToken = (t: TokenEvent) =>
        setState((st) => {
          const o = st.compare.outputs[column];
          return { compare: { ...st.compare, outputs: { ...st.compare.outputs, [column]: { ...o, tokens: [...o.tokens, t] } } } };
        });
      try {
        const settings = { prompt, column, maxTokens: getState().config.maxTokens, temperature: 0 };
        await serial(() => api().generate(settings, proxyCallback(onToken)));
        patchColumn(column, { status: 'done' });
      } catch (e) {
        patchColumn(column, { status: 'error', error: messageOf(e) });
      }
    }
  } finally {
    activity.end();
    setState((st) => ({ compare: { ...st.compare, running: false } }));
  }
}

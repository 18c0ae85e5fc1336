// User action: show which augmenting positions each anchor position reads through one bridge.
import { beginActivity } from '../activity';
import { getState, setState } from '../app';
import type { AttentionState } from '../attention';
import { ensureComposed } from '../compose';
import { isTraining } from '../training';
import { api, messageOf } from '../worker';

function patch(p: Partial<AttentionState>): void {
  setState((s) => ({ attention: { ...s.attention, ...p } }));
}

export function chooseAttentionConnection(connection: number): void {
  patch({ connection });
}

export function chooseAttentionHead(head: number | 'mean'): void {
  patch({ head });
}

export async function showAttention(): Promise<void> {
  const s = getState();
  if (s.attention.status === 'running' || isTraining(s.training)) return;
  const prompt = s.compare.prompt;
  const connection = s.attention.connection;
  if (prompt === '') {
    patch({ status: 'error', error: 'Write a prompt first (above, under Compare).' });
    return;
  }
  patch({ status: 'running', error: undefined });
  const activity = beginActivity('Reading the bridge\'s attention');
  try {
    await ensureComposed();
    const map = await api().attention({ prompt, connection });
    const head = getState().attention.head;
    patch({ status: 'done', map, shown: { prompt, connection }, head: head !== 'mean' && head >= map.heads ? 'mean' : head });
  } catch (e) {
    patch({ status: 'error', error: messageOf(e) });
  } finally {
    activity.end();
  }
}

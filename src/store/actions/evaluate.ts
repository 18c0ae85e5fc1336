// User action: Evaluate. Fills the table (tasks × anchor / augmenting / composition) with
// exact-match accuracy on n fresh examples per task.
import { beginActivity } from '../activity';
import { getState, setState, type AppState } from '../app';
import { fieldProblem } from '../fields';
import { NO_LINKS } from './train';
import { ensureComposed } from '../compose';
import type { EvaluationState } from '../evaluation';
import { isTraining } from '../training';
import { api, messageOf, proxyCallback, serial } from '../worker';

function patch(p: Partial<EvaluationState>): void {
  setState((s) => ({ evaluation: { ...s.evaluation, ...p } }));
}

/** Why Evaluate cannot run now, or null. */
export function evaluateProblem(s: AppState = getState()): string | null {
  if (s.config.connections.length === 0) return NO_LINKS;
  return fieldProblem(s, 'evaluate');
}

export async function evaluate(): Promise<void> {
  const s = getState();
  if (s.evaluation.status === 'running' || isTraining(s.training) || evaluateProblem(s)) return;
  const { evalN: n, seed } = s.config;
  setState({ evaluation: { status: 'running', done: 0, total: 0 } });
  const activity = beginActivity('Evaluating');
  try {
    await ensureComposed();
    const onProgress = proxyCallback((done: number, total: number) => {
      activity.update(done, total);
      patch({ done, total });
    });
    const result = await serial(() => api().evaluate({ n, seed }, onProgress));
    patch({ status: 'done', result, done: result.n, total: result.n });
  } catch (e) {
    patch({ status: 'error', error: messageOf(e) });
  } finally {
    activity.end();
  }
}

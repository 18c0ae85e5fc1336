// The session controller's start and the worker's faults: installSession() puts a fresh
// controller in the store and listens for crashes; a worker whose modules do not load is
// reported, one that dies is restarted (at most MAX_RESTARTS times a page) and its bridges
// rebuilt or reopened from the last checkpoint, interrupted training resumed.
import { clearActivities } from './activity';
import { controller, getState, setState } from './app';
import { cancelScheduledCompose, scheduleCompose } from './compose';
import { createSessionController, MAX_RESTARTS, type SessionController, type SessionOptions } from './controller';
import { interruptedHere, restoreAfterRestart } from './library';
import { resumeTraining } from './actions/train';
import { startSession } from './session-start';
import { isTraining } from './training';
import { messageOf } from './worker';

/**
 * Creates the page's session controller, hands it to the store and listens for the worker's
 * crashes. Called once at start-up (main.tsx); each test calls it for a fresh page.
 */
export function installSession(options: SessionOptions): SessionController {
  const c = createSessionController(options);
  setState({ controller: c });
  c.client.onCrash((message, kind) => {
    if (getState().controller !== c) return; // a page that has been replaced (tests)
    if (kind === 'start') startFailed(message);
    else crashReported(message);
  });
  return c;
}

/**
 * The worker's modules did not load: say why (the browser's message names the file). No
 * restart: a new worker would load the same files and fail the same way.
 */
function startFailed(message: string): void {
  cancelScheduledCompose();
  clearActivities();
  setState((s) => ({
    session: { ...s.session, phase: 'error', backend: undefined, error: `The worker could not start: ${message}` },
    composition: s.composition.status === 'building' ? { ...s.composition, status: 'idle' } : s.composition,
    compare: { ...s.compare, running: false },
  }));
}

/** Gathers the burst of errors one crash reports (a worker and its own threads) into one restart. */
function crashReported(message: string): void {
  const c = controller();
  const { worker, timing } = c;
  if (worker.crashTimer !== undefined) return;
  worker.crashTimer = setTimeout(() => {
    worker.crashTimer = undefined;
    if (getState().controller === c) void restartAfterCrash(message); // else the page was replaced (tests)
  }, timing.crashSettleMs);
}

/**
 * The worker died (out of memory, a GPU loss, a bug): say so, start a new one and rebuild the
 * bridges — at most MAX_RESTARTS times a page, so a worker that cannot start does not loop.
 */
export async function restartAfterCrash(e?: unknown): Promise<void> {
  const c = controller();
  const { worker } = c;
  if (worker.restarting) return; // one crash often reports several errors
  const why = e === undefined ? 'it stopped' : messageOf(e);
  const lost = 'The worker stopped';
  cancelScheduledCompose();
  clearActivities();
  const giveUp = worker.restarts >= MAX_RESTARTS;
  const { currentId } = getState().library;
  // Training that this fault interrupted (its call may have failed a moment before the crash report).
  const wasTraining = isTraining(getState().training) || interruptedHere(currentId);
  const saved = currentId !== undefined;
  const lostBridges = saved
    ? ' The bridges come back from their last saved checkpoint.'
    : getState().composition.trained
      ? ' The trained bridges were lost.'
      : '';
  setState((s) => ({
    session: {
      ...s.session,
      phase: giveUp ? 'error' : 'starting',
      backend: undefined,
      error: giveUp
        ? `${lost} again (${why}). Reload the page to try once more.`
        : `${lost} (${why}); starting a new one.${lostBridges}`,
    },
    composition: { status: 'idle', trained: false, disabled: [] },
    training: isTraining(s.training) ? { ...s.training, status: 'error', error: `${lost} while training (${why}).` } : s.training,
    compare: { ...s.compare, running: false },
    evaluation: s.evaluation.status === 'running' ? { ...s.evaluation, status: 'error', error: `${lost} (${why}).` } : s.evaluation,
  }));
  worker.started = null;
  worker.generation++;
  if (giveUp) {
    c.client.terminate();
    return;
  }
  worker.restarts++;
  worker.restarting = true;
  let mine = -1;
  try {
    c.client.restart();
    const note = getState().session.error;
    worker.restarting = false; // crashes of the new worker count again
    const started = startSession();
    mine = worker.generation;
    await started;
    setState((s) => ({ session: { ...s.session, error: note } }));
    // The last checkpoint of the saved composition back, when there is one; else fresh bridges.
    const restored = await restoreAfterRestart().catch(() => false);
    if (!restored) scheduleCompose(0);
    // Training that the crash interrupted goes on from the checkpoint's step.
    else if (wasTraining && getState().library.resume) void resumeTraining();
  } catch (err) {
    worker.restarting = false;
    // A newer crash has taken over when the generation moved on.
    if (mine === -1 || mine === worker.generation) {
      setState((s) => ({ session: { ...s.session, phase: 'error', error: `The worker could not be restarted: ${messageOf(err)}` } }));
    }
  }
}

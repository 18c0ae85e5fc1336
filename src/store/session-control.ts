// Starting the page's work: the built-in model list (plain JSON, read here) and the worker
// session (backend choice), and starting over when the worker dies.
import { beginActivity, clearActivities } from './activity';
import { chooseBackendInBackground } from './backend-background';
import { getState, setState, useAppStore } from './app';
import { cancelScheduledCompose, scheduleCompose, serial } from './compose';
import { fitConfig } from './fit';
import { mergeImported, registerImportedModels, resetImportedForTests } from './imported';
import { interruptedHere, restoreAfterRestart } from './library';
import { resumeTraining } from './actions/train';
import { fetchBuiltinModels } from './models';
import { IDLE_TRAINING, isTraining } from './training';
import { defaultModelsUrl, getClient, messageOf } from './worker';
import { forgetLinkForTests } from './url';

let models: Promise<void> | null = null;

/** Loads models/index.json and every model's config.json and card, then fits the configuration to them. */
export function loadBuiltinModels(options: { baseUrl?: string; fetch?: typeof fetch } = {}): Promise<void> {
  const activity = beginActivity('Reading the built-in model list');
  models = fetchBuiltinModels(useAppStore, options).then(() => {
    activity.end();
    mergeImported();
    const { config, dropped } = fitConfig(getState().config, getState());
    if (dropped.length > 0 || config !== getState().config) {
      setState((s) => ({ config, linkErrors: [...s.linkErrors, ...dropped] }));
    }
  });
  return models;
}

export function whenModelsLoaded(): Promise<void> {
  return models ?? loadBuiltinModels();
}

let session: Promise<void> | null = null;
let crashHooked = false;
/** Bumped by each worker start, so a call to a worker that is gone cannot touch the state. */
let generation = 0;
let restarts = 0;
let restarting = false;
/** Automatic restarts per page; past them a worker that keeps dying is left for a reload. */
export const MAX_RESTARTS = 2;

/** Starts the worker and picks the backend (once); composing waits for it. */
export function startSession(): Promise<void> {
  if (!crashHooked) {
    crashHooked = true;
    getClient().onCrash((message, kind) => (kind === 'start' ? startFailed(message) : crashReported(message)));
  }
  return (session ??= initWorker(++generation));
}

export function whenSessionReady(): Promise<void> {
  return startSession();
}

async function initWorker(gen: number): Promise<void> {
  setState((s) => ({ session: { ...s.session, phase: 'starting' } }));
  const activity = beginActivity('Starting the worker and choosing a backend (WebGPU or WebAssembly)');
  try {
    const backend = await serial(() => getClient().api.init({ backend: getState().config.backend, modelsUrl: defaultModelsUrl() }));
    // The person's own models, into this worker (kept across visits and restarts).
    if (gen === generation) await registerImportedModels();
    if (gen === generation) setState((s) => ({ session: { ...s.session, phase: 'ready', backend } }));
    if (gen === generation && backend.pending) void chooseBackendInBackground(() => gen === generation);
  } catch (e) {
    const error = `The worker could not start: ${messageOf(e)}`;
    if (gen === generation) {
      setState((s) => ({ session: { ...s.session, phase: 'error', error } }));
      session = null; // the next action tries again
    }
    throw new Error(error, { cause: e });
  } finally {
    activity.end();
  }
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

let crashTimer: ReturnType<typeof setTimeout> | undefined;
/** Gathers the burst of errors one crash reports (a worker and its own threads) into one restart. */
export const CRASH_SETTLE_MS = 250;

function crashReported(message: string): void {
  if (crashTimer !== undefined) return;
  crashTimer = setTimeout(() => {
    crashTimer = undefined;
    void restartAfterCrash(message);
  }, CRASH_SETTLE_MS);
}

/**
 * The worker died (out of memory, a GPU loss, a bug): say so, start a new one and rebuild the
 * bridges — at most MAX_RESTARTS times a page, so a worker that cannot start does not loop.
 */
export async function restartAfterCrash(e?: unknown): Promise<void> {
  if (restarting) return; // one crash often reports several errors
  const why = e === undefined ? 'it stopped' : messageOf(e);
  const lost = 'The worker stopped';
  cancelScheduledCompose();
  clearActivities();
  const giveUp = restarts >= MAX_RESTARTS;
  // Training that this fault interrupted (its call may have failed a moment before the crash report).
  const wasTraining = isTraining(getState().training) || interruptedHere(getState().library.currentId);
  const saved = getState().library.currentId !== undefined;
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
  session = null;
  generation++;
  if (giveUp) {
    getClient().terminate();
    return;
  }
  restarts++;
  restarting = true;
  let mine = -1;
  try {
    getClient().restart();
    const note = getState().session.error;
    restarting = false; // crashes of the new worker count again
    const started = startSession();
    mine = generation;
    await started;
    setState((s) => ({ session: { ...s.session, error: note } }));
    // The last checkpoint of the saved composition back, when there is one; else fresh bridges.
    const restored = await restoreAfterRestart().catch(() => false);
    if (!restored) scheduleCompose(0);
    // Training that the crash interrupted goes on from the checkpoint's step.
    else if (wasTraining && getState().library.resume) void resumeTraining();
  } catch (err) {
    restarting = false;
    // A newer crash has taken over when the generation moved on.
    if (mine === -1 || mine === generation) {
      setState((s) => ({ session: { ...s.session, phase: 'error', error: `The worker could not be restarted: ${messageOf(err)}` } }));
    }
  }
}

/** Forgets started work (tests only: each starts from a clean page). */
export function resetSessionForTests(): void {
  resetImportedForTests();
  forgetLinkForTests();
  models = null;
  session = null;
  crashHooked = false;
  restarts = 0;
  restarting = false;
  clearTimeout(crashTimer);
  crashTimer = undefined;
  clearActivities();
  cancelScheduledCompose();
  setState({ training: IDLE_TRAINING });
}

// Starting the page's work: the built-in model list (plain JSON, read here) and the worker
// session (backend choice), and starting over when the worker dies.
import { beginActivity, clearActivities } from './activity';
import { getState, setState, useAppStore } from './app';
import { cancelScheduledCompose, scheduleCompose, serial } from './compose';
import { fitConfig } from './fit';
import { fetchBuiltinModels } from './models';
import { IDLE_TRAINING, isTraining } from './training';
import { defaultModelsUrl, getClient, messageOf } from './worker';

let models: Promise<void> | null = null;

/** Loads models/index.json and every model's config.json and card, then fits the configuration to them. */
export function loadBuiltinModels(options: { baseUrl?: string; fetch?: typeof fetch } = {}): Promise<void> {
  const activity = beginActivity('Reading the built-in model list');
  models = fetchBuiltinModels(useAppStore, options).then(() => {
    activity.end();
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

/** Starts the worker and picks the backend (once); composing waits for it. */
export function startSession(): Promise<void> {
  if (!crashHooked) {
    crashHooked = true;
    getClient().onCrash((e?: unknown) => void restartAfterCrash(e));
  }
  return (session ??= initWorker());
}

export function whenSessionReady(): Promise<void> {
  return startSession();
}

async function initWorker(): Promise<void> {
  setState((s) => ({ session: { ...s.session, phase: 'starting', error: undefined } }));
  const activity = beginActivity('Starting the worker and choosing a backend (WebGPU or WebAssembly)');
  try {
    const backend = await serial(() => getClient().api.init({ backend: getState().config.backend, modelsUrl: defaultModelsUrl() }));
    setState((s) => ({ session: { ...s.session, phase: 'ready', backend } }));
  } catch (e) {
    const error = `The worker could not start: ${messageOf(e)}`;
    setState((s) => ({ session: { ...s.session, phase: 'error', error } }));
    session = null; // the next action tries again
    throw new Error(error, { cause: e });
  } finally {
    activity.end();
  }
}

/** The worker died (out of memory, a GPU loss, a bug): say so, start a new one, rebuild the bridges. */
export async function restartAfterCrash(e?: unknown): Promise<void> {
  cancelScheduledCompose();
  clearActivities();
  const why = e === undefined ? 'it stopped' : messageOf(e);
  const lost = 'The worker stopped';
  setState((s) => ({
    session: { ...s.session, phase: 'starting', error: `${lost} (${why}); starting a new one. Trained bridges were lost.` },
    composition: { status: 'idle', trained: false, disabled: [] },
    training: isTraining(s.training) ? { ...s.training, status: 'error', error: `${lost} while training (${why}).` } : s.training,
    compare: { ...s.compare, running: false },
    evaluation: s.evaluation.status === 'running' ? { ...s.evaluation, status: 'error', error: `${lost} (${why}).` } : s.evaluation,
  }));
  session = null;
  try {
    await getClient().restart();
    const note = getState().session.error;
    await startSession();
    setState((s) => ({ session: { ...s.session, error: note } }));
    scheduleCompose(0);
  } catch (err) {
    setState((s) => ({ session: { ...s.session, phase: 'error', error: `The worker could not be restarted: ${messageOf(err)}` } }));
  }
}

/** Forgets started work (tests only: each starts from a clean page). */
export function resetSessionForTests(): void {
  models = null;
  session = null;
  crashHooked = false;
  clearActivities();
  cancelScheduledCompose();
  setState({ training: IDLE_TRAINING });
}

// Starting the page's work: the built-in model list (plain JSON, read here) and the worker
// (backend choice, the person's imported models). Actions await both; a failed start is
// tried again by the next action. Crashes and restarts: session-control.ts.
import { beginActivity } from './activity';
import { chooseBackendInBackground } from './backend-background';
import { controller, getState, setState, useAppStore } from './app';
import { fitConfig } from './fit';
import { mergeImported, registerImportedModels } from './imported';
import { fetchBuiltinModels } from './models';
import { fetchRealConfigs } from './real-models';
import { api, defaultModelsUrl, messageOf, serial } from './worker';

/** Loads models/index.json and every model's config.json and card, then fits the configuration to them. */
export function loadBuiltinModels(options: { baseUrl?: string; fetch?: typeof fetch } = {}): Promise<void> {
  const c = controller();
  const load = ++c.modelsLoad;
  const activity = beginActivity('Reading the built-in model list');
  // The real models' published config.json files, summarised for the Real models section.
  void fetchRealConfigs(useAppStore, options);
  c.models = fetchBuiltinModels(useAppStore, { ...options, current: () => load === c.modelsLoad }).then(() => {
    activity.end();
    mergeImported();
    const { config, dropped } = fitConfig(getState().config, getState());
    if (dropped.length > 0 || config !== getState().config) {
      setState((s) => ({ config, linkErrors: [...s.linkErrors, ...dropped] }));
    }
  });
  return c.models;
}

export function whenModelsLoaded(): Promise<void> {
  return controller().models ?? loadBuiltinModels();
}

/** Starts the worker and picks the backend (once); composing waits for it. */
export function startSession(): Promise<void> {
  const { worker } = controller();
  return (worker.started ??= initWorker(++worker.generation));
}

export function whenSessionReady(): Promise<void> {
  return startSession();
}

async function initWorker(gen: number): Promise<void> {
  const { worker } = controller();
  const current = () => gen === worker.generation;
  setState((s) => ({ session: { ...s.session, phase: 'starting' } }));
  const activity = beginActivity('Starting the worker and choosing a backend (WebGPU or WebAssembly)');
  try {
    const backend = await serial(() => api().init({ backend: getState().config.backend, modelsUrl: defaultModelsUrl() }));
    // The person's own models, into this worker (kept across visits and restarts).
    if (current()) await registerImportedModels();
    if (current()) setState((s) => ({ session: { ...s.session, phase: 'ready', backend } }));
    if (current() && backend.pending) void chooseBackendInBackground(current);
  } catch (e) {
    const error = `The worker could not start: ${messageOf(e)}`;
    if (current()) {
      setState((s) => ({ session: { ...s.session, phase: 'error', error } }));
      worker.started = null; // the next action tries again
    }
    throw new Error(error, { cause: e });
  } finally {
    activity.end();
  }
}

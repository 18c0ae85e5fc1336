// Keeping the worker's composition in step with the configuration: the settings the
// configuration means, and compose on demand (actions await it) or shortly after an edit (so
// sizes and errors show early), through the queue of calls that replace the bridges (worker.ts).
import type { CompositionSettings } from '../worker/protocol';
import type { CompositionSpec } from '../calm/spec';
import type { Config } from './config';
import { beginActivity } from './activity';
import { controller, getState, setState, type AppState } from './app';
import { settingsKey, type CompositionState } from './composition';
import type { ModelConfigSummary } from './models';
import { withoutOpenRecord } from './replaced';
import { whenModelsLoaded, whenSessionReady } from './session-start';
import { api, messageOf, serial } from './worker';

/** A model's config.json summary when it has loaded. */
export function modelSizes(s: Pick<AppState, 'builtinConfigs'>, id: string): ModelConfigSummary | undefined {
  const c = s.builtinConfigs[id];
  return c?.status === 'ready' ? c.value : undefined;
}

/** The spec the configuration means for an anchor of these sizes (numHeads 0: the anchor's). */
export function configSpec(config: Config, anchor: Pick<ModelConfigSummary, 'nHead'>): CompositionSpec {
  return {
    connections: config.connections.map(([a, g]) => [a, g]),
    numHeads: config.numHeads || anchor.nHead,
    output: config.output,
    positionBias: config.positionBias,
    inputNorm: config.inputNorm,
    queryNorm: config.queryNorm,
    valueGate: config.valueGate,
  };
}

/** What the configuration asks the worker to build, or why it cannot. */
export function compositionSettings(s: AppState): { settings: CompositionSettings } | { error: string } {
  const { config } = s;
  for (const id of [config.anchor, config.augment]) {
    const c = s.builtinConfigs[id];
    if (s.builtinModels.status === 'ready' && !s.builtinModels.value.some((m) => m.id === id)) {
      return { error: `there is no built-in model "${id}"` };
    }
    if (c?.status === 'error') return { error: c.error };
  }
  const anchor = modelSizes(s, config.anchor);
  if (!anchor || !modelSizes(s, config.augment)) return { error: 'the models are still loading' };
  if (config.connections.length === 0) return { error: 'add at least one connection on the map' };
  return {
    settings: { anchor: config.anchor, augment: config.augment, ...configSpec(config, anchor), positionInit: config.positionInit, seed: config.seed },
  };
}

/** Whether the worker holds fresh or trained bridges for exactly this configuration. */
export function isComposedNow(s: AppState): boolean {
  const r = compositionSettings(s);
  return 'settings' in r && s.composition.status === 'ready' && s.composition.key === settingsKey(r.settings);
}

export function patchComposition(patch: Partial<CompositionState>): void {
  setState((s) => ({ composition: { ...s.composition, ...patch } }));
}

/**
 * Makes the worker hold bridges for the current configuration and returns its settings.
 * `fresh` builds new bridges even when the current ones match (Train starts from scratch).
 * Rejects with a message for people.
 */
export async function ensureComposed(opts: { fresh?: boolean } = {}): Promise<CompositionSettings> {
  await whenSessionReady();
  await whenModelsLoaded();
  const r = compositionSettings(getState());
  if ('error' in r) {
    patchComposition({ status: 'error', error: r.error, key: undefined, info: undefined });
    throw new Error(r.error);
  }
  const { settings } = r;
  const key = settingsKey(settings);
  const ctl = controller();
  if (!opts.fresh) {
    const c = getState().composition;
    if (c.status === 'ready' && c.key === key) return settings;
    if (ctl.composing?.key === key) {
      await ctl.composing.promise;
      return settings;
    }
  }
  const promise = serial(async () => {
    // Fresh bridges: they belong to no saved record.
    setState((s) => ({
      composition: { ...s.composition, status: 'building', key, error: undefined, info: undefined, trained: false, source: undefined, disabled: [] },
      library: withoutOpenRecord(s.library),
    }));
    const n = settings.connections.length;
    const activity = beginActivity(`Loading ${settings.anchor} and ${settings.augment}, building ${n} bridge${n === 1 ? '' : 's'}`);
    try {
      const info = await api().compose(settings);
      if (getState().composition.key === key) patchComposition({ status: 'ready', info });
      void measureParameters();
    } catch (e) {
      if (getState().composition.key === key) patchComposition({ status: 'error', error: messageOf(e) });
      throw e;
    } finally {
      activity.end();
    }
  });
  ctl.composing = { key, promise };
  try {
    await promise;
  } finally {
    if (ctl.composing?.promise === promise) ctl.composing = null;
  }
  return settings;
}

/** The worker's model cards, once it has loaded the weights: their exact parameter counts. */
async function measureParameters(): Promise<void> {
  try {
    const cards = await api().listModels();
    if (cards.length === 0) return;
    setState((s) => ({ measuredParameters: { ...s.measuredParameters, ...Object.fromEntries(cards.map((c) => [c.id, c.parameters])) } }));
  } catch {
    // Only a refinement: the config.json count stays.
  }
}

/** Composes shortly (the controller's composeDelayMs by default), once edits settle; errors land in the store. */
export function scheduleCompose(delay = controller().timing.composeDelayMs): void {
  const c = controller();
  clearTimeout(c.composeTimer);
  c.composeTimer = setTimeout(() => {
    if (getState().controller === c) void ensureComposed().catch(() => undefined); // else the page was replaced (tests)
  }, delay);
}

/** Cancels a scheduled compose (a worker restart, or one that cannot start). */
export function cancelScheduledCompose(): void {
  clearTimeout(controller().composeTimer);
}

/** The page's first compose: the default (or linked) pair, as soon as the worker is up. */
export function scheduleFirstCompose(): void {
  scheduleCompose(0);
}

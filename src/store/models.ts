// The built-in models: the list in public/models/index.json and, per model, the
// sizes from its config.json. Only JSON is read here; weights stay with the worker.
import type { StateCreator, StoreApi } from 'zustand';
import { parseBuiltinIndex, type BuiltinComposition, type BuiltinIndex, type BuiltinModel } from '../io/builtin';
import { summarizeModelConfig, type ModelSummary } from '../io/model-summary';
import { readSafetensorsHeader, safetensorsHeaderLength } from '../io/safetensors';

export type { BuiltinComposition, BuiltinModel, ModelRole } from '../io/builtin';
export type { ModelSummary } from '../io/model-summary';

/**
 * What the page shows of a model before the worker loads it: the summary of its config.json
 * for every architecture, with the parameter count from the architecture's tensor table
 * (docs/design.md § Models); an imported model's comes from the worker's card.
 */
export type ModelConfigSummary = Pick<ModelSummary, 'nLayer' | 'nEmbd' | 'nHead' | 'nPositions' | 'vocabSize' | 'parameters'> &
  Partial<Pick<ModelSummary, 'architecture' | 'untiedHead'>>;

/** Something fetched: not asked for yet, on its way, here, or failed with a message for people. */
export type Loadable<T> =
  | { status: 'idle' }
  | { status: 'loading' }
  | { status: 'ready'; value: T }
  | { status: 'error'; error: string };

export interface ModelsSlice {
  /** The models listed in models/index.json, in file order. */
  builtinModels: Loadable<BuiltinModel[]>;
  /** config.json summaries by model id. */
  builtinConfigs: Record<string, Loadable<ModelConfigSummary>>;
  /** Compositions trained ahead and shipped with the app (index.json `compositions`). */
  builtinCompositions: BuiltinComposition[];
  /** README.md model cards by model id; a missing card is not an error, just absent. */
  modelCards: Record<string, string>;
  /**
   * Parameter counts the worker measured on loaded weights, by model id: exact where the
   * config.json formula cannot know (an untied LM head).
   */
  measuredParameters: Record<string, number>;
  /**
   * The summaries of the real models the page offers (real-models.ts), by Hugging Face repo id,
   * from the published config.json shipped under models/real/.
   */
  realConfigs: Record<string, Loadable<ModelSummary>>;
  /** A ready pair of real models being brought (real-models.ts): its id, and which of its two models (0 anchor, 1 augmenting) is coming. */
  realDownload: { pair: string; model: number } | null;
}

export const createModelsSlice: StateCreator<ModelsSlice, [], [], ModelsSlice> = () => ({
  builtinModels: { status: 'idle' },
  builtinConfigs: {},
  builtinCompositions: [],
  modelCards: {},
  measuredParameters: {},
  realConfigs: {},
  realDownload: null,
});

export const BUILTIN_INDEX_PATH = 'models/index.json';

export function builtinConfigPath(model: BuiltinModel): string {
  return builtinFilePath(model, 'config.json');
}

/** `models/<folder>/<file>` for a model's or a shipped composition's folder. */
export function builtinFilePath(entry: { path: string }, file: string): string {
  return `models/${entry.path.replace(/^\/+|\/+$/g, '')}/${file}`;
}

export interface FetchOptions {
  /** Where models/ lives; the app's base URL (Vite's BASE_URL) by default. */
  baseUrl?: string;
  fetch?: typeof fetch;
  /** Whether this load is still the newest (a later one started meanwhile: this one writes nothing more). */
  current?: () => boolean;
}

/**
 * Fetches models/index.json, then every listed model's config.json, into `store`.
 * Never throws: failures land in the store as messages that name the file.
 */
export async function fetchBuiltinModels(store: StoreApi<ModelsSlice>, options: FetchOptions = {}): Promise<void> {
  const baseUrl = options.baseUrl ?? import.meta.env.BASE_URL;
  const doFetch = options.fetch ?? fetch;
  const current = options.current ?? (() => true);

  store.setState({ builtinModels: { status: 'loading' }, builtinConfigs: {}, builtinCompositions: [], modelCards: {} });
  let index: BuiltinIndex;
  try {
    index = parseBuiltinIndex(await fetchJson(doFetch, baseUrl, BUILTIN_INDEX_PATH), BUILTIN_INDEX_PATH);
  } catch (e) {
    if (current()) {
      const error = `Could not load the built-in model list (${BUILTIN_INDEX_PATH}): ${messageOf(e, BUILTIN_INDEX_PATH)}`;
      store.setState({ builtinModels: { status: 'error', error } });
    }
    return;
  }
  if (!current()) return;
  store.setState({
    builtinModels: { status: 'ready', value: index.models },
    builtinCompositions: index.compositions ?? [],
    builtinConfigs: Object.fromEntries(index.models.map((m) => [m.id, { status: 'loading' } as const])),
  });

  // Model cards are extra: fetched beside the configs, silently absent when missing.
  const cards = Promise.all(
    index.models.map(async (model) => {
      const card = await fetchText(doFetch, baseUrl, builtinFilePath(model, 'README.md')).catch(() => null);
      if (card !== null && current()) store.setState((s) => ({ modelCards: { ...s.modelCards, [model.id]: card } }));
    }),
  );

  await Promise.all(
    index.models.map(async (model) => {
      const path = builtinConfigPath(model);
      let entry: Loadable<ModelConfigSummary>;
      try {
        const [config, names] = await Promise.all([
          fetchJson(doFetch, baseUrl, path),
          // Only a refinement of the parameter count: a missing or unreadable file is the loader's to report.
          tensorNames(doFetch, baseUrl, builtinFilePath(model, 'model.safetensors')).catch(() => null),
        ]);
        // Without the header's names an optional LM head counts as tied (the worker's card corrects it).
        entry = { status: 'ready', value: summarizeModelConfig(config, path, names ?? []) };
      } catch (e) {
        entry = { status: 'error', error: `Could not load ${path}: ${messageOf(e, path)}` };
      }
      if (current()) {
        store.setState((s) => ({ builtinConfigs: { ...s.builtinConfigs, [model.id]: entry } }));
      }
    }),
  );
  await cards;
}

/** The tensor names of a safetensors file, read from its header alone (8 bytes, then N more), not its data. */
async function tensorNames(doFetch: typeof fetch, baseUrl: string, path: string): Promise<string[]> {
  const url = joinUrl(baseUrl, path);
  const n = safetensorsHeaderLength(await fetchPrefix(doFetch, url, 8), path);
  const header = readSafetensorsHeader(await fetchPrefix(doFetch, url, 8 + n), path);
  return Object.keys(header).filter((k) => k !== '__metadata__');
}

/**
 * The first `length` bytes of a file: a Range request, and a server that ignores Range is read no
 * further. Past the HTTP cache (`no-store`): a partial response kept there was seen to hand the
 * worker's full download of the same file back truncated.
 */
async function fetchPrefix(doFetch: typeof fetch, url: string, length: number): Promise<Uint8Array> {
  const response = await doFetch(url, { headers: { Range: `bytes=0-${length - 1}` }, cache: 'no-store' });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const reader = response.body?.getReader();
  if (!reader) return new Uint8Array(await response.arrayBuffer()).subarray(0, length);
  const out = new Uint8Array(length);
  let got = 0;
  while (got < length) {
    const { done, value } = await reader.read();
    if (done) break;
    const take = Math.min(value.length, length - got);
    out.set(value.subarray(0, take), got);
    got += take;
  }
  await reader.cancel().catch(() => undefined);
  return out.subarray(0, got);
}

export async function fetchJson(doFetch: typeof fetch, baseUrl: string, path: string): Promise<unknown> {
  const text = await fetchText(doFetch, baseUrl, path);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`not valid JSON (${e instanceof Error ? e.message : String(e)})`, { cause: e });
  }
}

/** The response of a file that must exist; throws `HTTP 404`, `not found (...)`, ... */
export async function fetchFile(doFetch: typeof fetch, baseUrl: string, path: string): Promise<Response> {
  const response = await doFetch(joinUrl(baseUrl, path));
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  // Servers with an SPA fallback (vite preview among them) answer a missing file with the
  // app's own index.html and status 200.
  if (response.headers.get('content-type')?.includes('text/html')) {
    throw new Error('not found (the server sent an HTML page instead)');
  }
  return response;
}

async function fetchText(doFetch: typeof fetch, baseUrl: string, path: string): Promise<string> {
  return (await fetchFile(doFetch, baseUrl, path)).text();
}

export function joinUrl(baseUrl: string, path: string): string {
  return baseUrl.endsWith('/') ? baseUrl + path : `${baseUrl}/${path}`;
}

/** The error's message, without a leading `file: ` that the caller already shows. */
function messageOf(e: unknown, file: string): string {
  const message = e instanceof Error ? e.message : String(e);
  return message.startsWith(`${file}: `) ? message.slice(file.length + 2) : message;
}

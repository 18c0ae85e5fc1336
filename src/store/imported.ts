// Models the person brings: a folder in Hugging Face layout (any architecture of
// src/model/architectures.ts, model.safetensors or its shards), picked, dropped or downloaded. The
// worker checks every file and registers it; the store lists it beside the built-in models
// (both pickers, with its card) and keeps its files in IndexedDB so the next visit, and a
// restarted worker, have it again.
import type { ModelCard, ModelFile } from '../worker/protocol';
import { beginActivity } from './activity';
import { controller, getState, setState } from './app';
import type { ImportedModel } from './controller';
import { storageAvailable, type SavedModel } from './saved';
import { api, messageOf, serial } from './worker';
import { pickModelFiles } from '../io/folder-files';
import { downloadModel, ModelRefusedError, parseModelSource, type DownloadOptions } from './model-url';

function copy(files: ModelFile[]): ModelFile[] {
  return files.map((f) => ({ name: f.name, bytes: f.bytes.slice(0) }));
}

function fromCard(card: ModelCard, files: ModelFile[], origin: string): ImportedModel {
  return {
    entry: { id: card.id, role: card.role, title: card.title, description: card.description, path: `imported/${card.id}` },
    summary: { nLayer: card.layers, nEmbd: card.width, nHead: card.heads, nPositions: card.context, vocabSize: card.vocabSize, parameters: card.parameters },
    card: card.card,
    parameters: card.parameters,
    files,
    origin,
  };
}

/** Adds the imported models to the lists the pickers read (after the built-in list has loaded). */
export function mergeImported(): void {
  const { imported } = controller();
  setState((s) => {
    if (s.builtinModels.status !== 'ready' || imported.size === 0) return {};
    const entries = [...imported.values()];
    const ids = new Set(entries.map((m) => m.entry.id));
    return {
      builtinModels: { status: 'ready', value: [...s.builtinModels.value.filter((m) => !ids.has(m.id)), ...entries.map((m) => m.entry)] },
      builtinConfigs: { ...s.builtinConfigs, ...Object.fromEntries(entries.map((m) => [m.entry.id, { status: 'ready', value: m.summary } as const])) },
      modelCards: { ...s.modelCards, ...Object.fromEntries(entries.filter((m) => m.card).map((m) => [m.entry.id, m.card!])) },
      measuredParameters: { ...s.measuredParameters, ...Object.fromEntries(entries.map((m) => [m.entry.id, m.parameters])) },
    };
  });
}

/**
 * Registers every imported model with a freshly started worker: those of this visit, and on
 * the first start those kept in IndexedDB. A kept model that no longer loads is reported, not fatal.
 */
export async function registerImportedModels(): Promise<void> {
  const c = controller();
  const { imported } = c;
  let fromStorage: SavedModel[] = [];
  if (!c.importedFromStorage && storageAvailable()) {
    c.importedFromStorage = c.saved.listModels()
      .then((saved) => {
        fromStorage = saved.filter((m) => !imported.has(m.id));
      })
      .catch(() => undefined);
  }
  await c.importedFromStorage;
  const todo = [
    ...[...imported.values()].map((m) => ({ id: m.entry.id, title: m.entry.title, files: m.files, origin: m.origin })),
    ...fromStorage.map((m) => ({ id: m.id, title: m.title, files: m.files, origin: m.origin })),
  ];
  for (const m of todo) {
    try {
      const card = await api().importModel(copy(m.files), { id: m.id, title: m.title, description: 'Imported by you' });
      imported.set(card.id, fromCard(card, m.files, m.origin));
    } catch (e) {
      imported.delete(m.id);
      setState({ modelImport: { status: 'idle', error: `Your imported model “${m.title}” could not be loaded again: ${messageOf(e)}` } });
    }
  }
  mergeImported();
}

/** A folder's name from its files (webkitRelativePath `folder/config.json`), or null. */
export function folderName(paths: string[]): string | null {
  const first = paths.find((p) => p.includes('/'));
  return first ? first.split('/')[0] : null;
}

/** Imports a model folder from picked or dropped files. Errors land in the store as messages for people. */
export async function importModelFiles(files: (ModelFile & { path?: string })[], name?: string, how?: string): Promise<string | null> {
  const title = (name ?? folderName(files.map((f) => f.path ?? f.name)) ?? 'imported-model').trim();
  setState({ modelImport: { status: 'loading', error: undefined, notice: undefined } });
  const activity = beginActivity(`Checking and loading the model ${title}`);
  try {
    const byName = files.map((f) => ({ name: (f.path ?? f.name).split('/').at(-1)!, bytes: f.bytes }));
    // A sharded checkpoint keeps its index and the shards it names (docs/design.md § Models).
    const kept = pickModelFiles(byName, title, (f) => new TextDecoder().decode(f.bytes));
    const card = await serial(() => api().importModel(copy(kept), { id: title, title, description: 'Imported by you' }));
    controller().imported.set(card.id, fromCard(card, kept, title));
    mergeImported();
    let notice = `Imported the model “${card.id}” (${card.layers} layers, width ${card.width})${how ? ` ${how}` : ''}: it is in both model lists.`;
    if (storageAvailable()) {
      try {
        await controller().saved.putModel({ id: card.id, title: card.title, added: Date.now(), origin: title, files: kept });
      } catch (e) {
        notice += ` ${messageOf(e)}`;
      }
    }
    setState({ modelImport: { status: 'idle', notice } });
    return card.id;
  } catch (e) {
    setState({ modelImport: { status: 'idle', error: `Could not import the model ${title}: ${messageOf(e)}` } });
    return null;
  } finally {
    activity.end();
  }
}

/**
 * Downloads a model by Hugging Face repo id or folder URL (whole-download progress in the
 * store, files kept in Cache Storage), then imports it as a picked folder would be.
 */
export async function importModelFromUrl(text: string, opts: Pick<DownloadOptions, 'fetch' | 'caches'> = {}): Promise<string | null> {
  const c = controller();
  if (c.downloading || getState().modelImport.status !== 'idle') return null;
  let source;
  try {
    source = parseModelSource(text);
  } catch (e) {
    setState({ modelImport: { status: 'idle', error: `Could not download a model: ${messageOf(e)}` } });
    return null;
  }
  const abort = new AbortController();
  c.downloading = abort;
  setState({ modelImport: { status: 'downloading', download: { source: source.input, loaded: 0, file: 'config.json', cached: 0 } } });
  const activity = beginActivity(`Downloading the model ${source.id}`);
  let files;
  let last: { loaded: number; cached: number } = { loaded: 0, cached: 0 };
  try {
    files = await downloadModel(source, {
      fetch: opts.fetch,
      caches: opts.caches ?? (typeof caches === 'undefined' ? undefined : caches),
      signal: abort.signal,
      onProgress: (p) => {
        last = p;
        activity.update(p.loaded, p.total ?? 0);
        setState({ modelImport: { status: 'downloading', download: { source: source.input, ...p } } });
      },
    });
  } catch (e) {
    const cancelled = abort.signal.aborted;
    setState({
      modelImport: cancelled
        ? { status: 'idle', notice: `Cancelled the download of ${source.input}; nothing was imported.` }
        : { status: 'idle', error: e instanceof ModelRefusedError && e.tooBig ? e.message : `Could not download the model ${source.input}: ${messageOf(e)}` },
    });
    return null;
  } finally {
    c.downloading = null;
    activity.end();
  }
  setState({ modelImport: { status: 'idle' } });
  const all = last.cached === files.length;
  const how = all
    ? `from ${source.input}, all ${files.length} files from this browser's cache (no download)`
    : `from ${source.input}${last.cached > 0 ? `, ${last.cached} of ${files.length} files from this browser's cache` : ''}`;
  return importModelFiles(files, source.id, how);
}

/** Stops a download by URL; nothing is imported. */
export function cancelModelDownload(): void {
  controller().downloading?.abort(new DOMException('The download was cancelled', 'AbortError'));
}

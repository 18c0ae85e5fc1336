// The person's saved work in IndexedDB (through idb): one record per composition they
// trained or imported — its settings, hyperparameters, examples, metrics and the bundle files
// (docs/design.md § Files) — written in one transaction, so a record is there whole or not at
// all; and which record the page showed last, so a reload restores it. No tensors here: the
// bundle files come from and go to the worker as bytes.
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { CompositionSettings, TrainSummary } from '../worker/protocol';

export interface SavedHyperparameters {
  steps: number;
  lr: number;
  batch: number;
  seed: number;
  heldOut: number;
}

export interface SavedComposition {
  id: string;
  name: string;
  created: number;
  updated: number;
  settings: CompositionSettings;
  hyperparameters: SavedHyperparameters;
  /** The Examples box's text; null = the default examples. */
  examplesText: string | null;
  /** The chart's history and the run's summary. */
  metrics: { losses: [number, number][]; accuracy: [number, number][]; summary?: TrainSummary };
  /**
   * `training`: a checkpoint of a run that has not finished (a crash or a reload interrupted
   * it: it can resume from `step`); `done`: training ended (finished, stopped or non-finite);
   * `imported`: from a bundle file.
   */
  state: 'training' | 'done' | 'imported';
  step: number;
  steps: number;
  /** composition.json and bridge.safetensors, as the worker's exportBundle gives them. */
  bundle: { composition: string; bridge: ArrayBuffer };
}

/** What the list shows: a record without its bytes. */
export type SavedSummary = Omit<SavedComposition, 'bundle' | 'examplesText'> & { bytes: number };

/** A model folder the person imported, kept so the next visit has it without asking again. */
export interface SavedModel {
  id: string;
  title: string;
  added: number;
  /** Where it came from: a folder name, or the URL it was downloaded from. */
  origin: string;
  files: { name: string; bytes: ArrayBuffer }[];
}

interface SavedSchema extends DBSchema {
  compositions: { key: string; value: SavedComposition };
  meta: { key: string; value: string };
  models: { key: string; value: SavedModel };
}

export const DB_NAME = 'calm-playground';
const LAST = 'last';

/** Storage refused the write: the browser's quota is full. The message says what to delete. */
export class StorageFullError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StorageFullError';
  }
}

/** IndexedDB is missing (Node, a private window that forbids it): saving is off. */
export class StorageUnavailableError extends Error {
  constructor() {
    super('this browser does not let the page store data (IndexedDB is unavailable), so work is not saved');
    this.name = 'StorageUnavailableError';
  }
}

/** Whether saving can work here at all. */
export function storageAvailable(): boolean {
  return typeof indexedDB !== 'undefined';
}

export function recordBytes(r: Pick<SavedComposition, 'bundle' | 'examplesText'>): number {
  return r.bundle.bridge.byteLength + r.bundle.composition.length + (r.examplesText?.length ?? 0);
}

function summary(r: SavedComposition): SavedSummary {
  const { bundle: _b, examplesText: _e, ...rest } = r;
  return { ...rest, bytes: recordBytes(r) };
}

function isQuota(e: unknown): boolean {
  const name = (e as { name?: string } | null)?.name;
  return name === 'QuotaExceededError' || (e instanceof Error && /quota/i.test(e.message));
}

/** Bytes in words: B, kB, MB, GB (powers of 1024). */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} kB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

export function newSavedId(): string {
  return `c${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * The saved-work database of one page (its session controller holds it): opened on first use,
 * opened again after a failed open.
 */
export class SavedDb {
  private db: Promise<IDBPDatabase<SavedSchema>> | null = null;

  private open(): Promise<IDBPDatabase<SavedSchema>> {
    if (typeof indexedDB === 'undefined') return Promise.reject(new StorageUnavailableError());
    return (this.db ??= openDB<SavedSchema>(DB_NAME, 2, {
      upgrade(d, oldVersion) {
        if (oldVersion < 1) {
          d.createObjectStore('compositions', { keyPath: 'id' });
          d.createObjectStore('meta');
        }
        if (oldVersion < 2) d.createObjectStore('models', { keyPath: 'id' });
      },
    }).catch((e: unknown) => {
      this.db = null;
      throw e;
    }));
  }

  /** Closes the connection (a page that ends); the next call opens it again. */
  async close(): Promise<void> {
    const d = await this.db?.catch(() => null);
    d?.close();
    this.db = null;
  }

  /**
   * Writes `record` and marks it as the one to restore, in one transaction: on any failure
   * neither lands. A full quota throws a StorageFullError naming the largest other records.
   */
  async put(record: SavedComposition): Promise<void> {
    const d = await this.open();
    try {
      const tx = d.transaction(['compositions', 'meta'], 'readwrite');
      const requests: Promise<unknown>[] = [tx.done];
      try {
        requests.push(tx.objectStore('compositions').put(record));
        requests.push(tx.objectStore('meta').put(record.id, LAST));
        await Promise.all(requests);
      } catch (e) {
        for (const r of requests) r.catch(() => undefined); // each rejects with the abort too
        // A request that failed: nothing of this record may land (the browser aborts on a full
        // quota by itself; abort() covers every other failure).
        try {
          tx.abort();
        } catch {
          // already finished or aborted
        }
        throw e;
      }
    } catch (e) {
      if (!isQuota(e)) throw e;
      const others = (await this.list().catch(() => [] as SavedSummary[])).filter((s) => s.id !== record.id).sort((a, b) => b.bytes - a.bytes);
      const hint =
        others.length > 0
          ? `Delete saved compositions you no longer need, e.g. ${others
              .slice(0, 3)
              .map((s) => `“${s.name}” (${formatBytes(s.bytes)})`)
              .join(', ')}, then try again.`
          : 'Free space for this site in the browser settings, then try again.';
      throw new StorageFullError(`The browser's storage is full: “${record.name}” (${formatBytes(recordBytes(record))}) was not saved. ${hint}`);
    }
  }

  /** Every saved composition, newest first, without its bytes. */
  async list(): Promise<SavedSummary[]> {
    const d = await this.open();
    const all = await d.getAll('compositions');
    return all.map(summary).sort((a, b) => b.updated - a.updated);
  }

  async get(id: string): Promise<SavedComposition | undefined> {
    return (await this.open()).get('compositions', id);
  }

  async rename(id: string, name: string): Promise<void> {
    const d = await this.open();
    const tx = d.transaction('compositions', 'readwrite');
    const r = await tx.store.get(id);
    if (!r) throw new Error('that saved composition is gone');
    await Promise.all([tx.store.put({ ...r, name }), tx.done]);
  }

  async delete(id: string): Promise<void> {
    const d = await this.open();
    const tx = d.transaction(['compositions', 'meta'], 'readwrite');
    const meta = tx.objectStore('meta');
    const last = await meta.get(LAST);
    await Promise.all([tx.objectStore('compositions').delete(id), last === id ? meta.delete(LAST) : Promise.resolve(), tx.done]);
  }

  /** The record the page showed last, if it still exists. */
  async last(): Promise<SavedComposition | undefined> {
    const d = await this.open();
    const id = await d.get('meta', LAST);
    return id === undefined ? undefined : d.get('compositions', id);
  }

  /** Marks `id` as the one to restore (or none). */
  async setLast(id: string | null): Promise<void> {
    const d = await this.open();
    if (id === null) await d.delete('meta', LAST);
    else await d.put('meta', id, LAST);
  }

  /** Keeps an imported model folder; a full quota throws a StorageFullError. */
  async putModel(model: SavedModel): Promise<void> {
    const d = await this.open();
    try {
      await d.put('models', model);
    } catch (e) {
      if (!isQuota(e)) throw e;
      const bytes = model.files.reduce((n, f) => n + f.bytes.byteLength, 0);
      throw new StorageFullError(
        `The browser's storage is full: the model “${model.title}” (${formatBytes(bytes)}) is loaded for this visit but not kept for the next. Delete saved compositions you no longer need, then import it again.`,
      );
    }
  }

  async listModels(): Promise<SavedModel[]> {
    return (await (await this.open()).getAll('models')).sort((a, b) => a.added - b.added);
  }

  async deleteModel(id: string): Promise<void> {
    await (await this.open()).delete('models', id);
  }
}

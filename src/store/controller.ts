// The page's session controller: everything the store's actions keep between calls that is
// not state people see (the worker client, the queue of calls that replace the bridges, the
// start-up promises, the restart counters, the imported models' files, the saved-work
// database, timers). main.tsx creates it at start-up with the page's worker and hands it to
// the store (session-control.ts installSession), which keeps it in its state: the worker is a
// browser resource that the page's entry makes, so no store module creates one, and a test
// hands over a fresh controller on a fake worker the same way. No module of src/store keeps
// state of its own (docs/design.md § Store).
import type { createCalmClient } from '../worker/client';
import type { ModelFile } from '../worker/protocol';
import type { Activity } from './session';
import type { BuiltinModel, ModelConfigSummary } from './models';
import { SavedDb } from './saved';

export type CalmClient = ReturnType<typeof createCalmClient>;
export type CalmApi = CalmClient['api'];

/** A model the person imported: what the pickers list and what a restarted worker must get again. */
export interface ImportedModel {
  entry: BuiltinModel;
  summary: ModelConfigSummary;
  card?: string;
  parameters: number;
  files: ModelFile[];
  origin: string;
}

export interface Timing {
  /** Milliseconds between two checkpoints while training. */
  checkpointMs: number;
  /** How long the page must be idle before the background backend timing starts. */
  backgroundIdleMs: number;
  /** How often the background timing is tried before WebAssembly stays. */
  backgroundAttempts: number;
  /** Delay between an edit and the compose it causes, so a burst of edits composes once. */
  composeDelayMs: number;
  /** Gathers the burst of errors one crash reports (a worker and its own threads) into one restart. */
  crashSettleMs: number;
}

export const DEFAULT_TIMING: Readonly<Timing> = Object.freeze({ checkpointMs: 3000, backgroundIdleMs: 1500, backgroundAttempts: 5, composeDelayMs: 300, crashSettleMs: 250 });

/** Automatic worker restarts per page; past them a worker that keeps dying is left for a reload. */
export const MAX_RESTARTS = 2;

export interface SessionController {
  readonly client: CalmClient;
  /** Makes a throwaway worker of the same code (timing backends without holding up the page's). */
  readonly probeClient: () => CalmClient;
  readonly timing: Timing;
  /** The person's saved work (IndexedDB). */
  readonly saved: SavedDb;
  /** The last call queued by serial(): compose, train and import replace the bridges one at a time. */
  queue: Promise<unknown>;
  /** The compose under way, so that a second caller for the same settings waits for it. */
  composing: { key: string; promise: Promise<void> } | null;
  composeTimer?: ReturnType<typeof setTimeout>;
  /** The built-in model list's load, and its number (a late older load must not win). */
  models: Promise<void> | null;
  modelsLoad: number;
  worker: {
    /** The worker's start (null: not started, or failed: the next action tries again). */
    started: Promise<void> | null;
    /** Bumped by each start, so a call to a worker that is gone cannot touch the state. */
    generation: number;
    restarts: number;
    restarting: boolean;
    crashTimer?: ReturnType<typeof setTimeout>;
  };
  /** The status line's work in progress, oldest first (activity.ts). */
  activities: Activity[];
  training: {
    /** The saved record of a run that started on this page and has not ended well (a crash, a lost GPU). */
    unfinished?: string;
    /** The person pressed Stop: a cancelled run then ends as they asked (not as a fault). */
    stoppedByUser: boolean;
  };
  /** Imported models by id, in import order; what the worker must hold after each start. */
  imported: Map<string, ImportedModel>;
  /** The read of the models kept in IndexedDB (once per page). */
  importedFromStorage: Promise<void> | null;
  /** A model download by URL under way. */
  downloading: AbortController | null;
  /** Whether the page opened with a link (hash) that names a composition: models or mapping. */
  openedWithLink: boolean;
}

export interface SessionOptions {
  client: CalmClient;
  /** Throwaway workers for backend timing; by default none can be made (the timing then fails and says so). */
  probeClient?: () => CalmClient;
  timing?: Partial<Timing>;
}

export function createSessionController(options: SessionOptions): SessionController {
  return {
    client: options.client,
    probeClient:
      options.probeClient ??
      (() => {
        throw new Error('this page makes no throwaway workers');
      }),
    timing: { ...DEFAULT_TIMING, ...options.timing },
    saved: new SavedDb(),
    queue: Promise.resolve(),
    composing: null,
    models: null,
    modelsLoad: 0,
    worker: { started: null, generation: 0, restarts: 0, restarting: false },
    activities: [],
    training: { stoppedByUser: false },
    imported: new Map(),
    importedFromStorage: null,
    downloading: null,
    openedWithLink: false,
  };
}

// Other bridges replace the worker's: what every path that replaces them (an edit of the
// composition, Train's fresh bridges, a saved, imported or shipped bundle) does to the rest
// of the state, as pure functions of the state (docs/design.md § Store).
import type { CompositionSettings } from '../worker/protocol';
import type { AppState } from './app';
import { COLUMNS, withoutOutputs } from './compare';
import type { CompositionState } from './composition';
import type { Config } from './config';
import type { LibraryState } from './library-slice';
import { bridgeOptionsOf, settingsKey } from './composition';
import type { Column } from '../worker/protocol';

/**
 * What the old bridges produced goes: the answers of `columns` (the composition's always; a
 * model's own when that model changed too), the evaluation, the attention map. The attention
 * view moves to `connection`.
 */
export function bridgesReplaced(
  s: AppState,
  opts: { columns: readonly Column[]; connection: number },
): Pick<AppState, 'compare' | 'evaluation' | 'attention'> {
  return {
    compare: withoutOutputs(s.compare, opts.columns),
    evaluation: { status: 'idle', done: 0, total: 0 },
    attention: { ...s.attention, connection: opts.connection, status: 'idle', map: undefined, shown: undefined, error: undefined },
  };
}

/**
 * The library once the worker's bridges belong to no saved record (Saved's "open now" and
 * Export follow): an interrupted run can no longer resume on them, and a notice about the old
 * record is out of date. The same object when nothing changes.
 */
export function withoutOpenRecord(l: LibraryState): LibraryState {
  if (l.currentId === undefined && l.resume === undefined && l.noticeFor === undefined) return l;
  const stale = l.noticeFor !== undefined;
  return { ...l, currentId: undefined, resume: undefined, ...(stale ? { notice: undefined, noticeFor: undefined } : {}) };
}

/**
 * Trained bridges from a bundle (saved, imported or shipped) are in the worker: the
 * configuration takes their settings (and `recorded`: the hyperparameters they were trained
 * with), the composition is ready and trained, a change waiting for confirmation is dropped,
 * and what the old bridges produced goes.
 */
export function bundleOpened(
  s: AppState,
  opts: { settings: CompositionSettings; source: Extract<CompositionState['source'], { kind: 'bundle' }>; recorded?: Partial<Config> },
): Partial<AppState> {
  const { settings } = opts;
  return {
    config: {
      ...s.config,
      ...opts.recorded,
      anchor: settings.anchor,
      augment: settings.augment,
      connections: settings.connections.map(([a, g]) => [a, g]),
      numHeads: settings.numHeads,
      ...bridgeOptionsOf(settings),
      positionInit: settings.positionInit ?? s.config.positionInit,
    },
    composition: { status: 'ready', key: settingsKey(settings), trained: true, source: opts.source, disabled: [] },
    pendingChange: null,
    library: withoutOpenRecord(s.library),
    ...bridgesReplaced(s, { columns: COLUMNS, connection: 0 }),
  };
}

// Changes that mean fresh bridges (models, mapping, heads, output, a shipped composition).
// When the bridges are trained, the change waits for the person's answer (ConfirmDialog).
import { compare } from './actions/compare';
import { getState, setState } from './app';
import { scheduleCompose } from './compose';
import type { CompositionPatch, PendingChange } from './composition';
import { fitConfig } from './fit';
import { bridgesReplaced } from './replaced';
import { openCompositionNow } from './shipped';
import { isTraining } from './training';

/** Applies `change` now, or holds it for confirmation when trained bridges would be lost. */
export function requestChange(change: PendingChange): 'applied' | 'asked' | 'refused' {
  const s = getState();
  if (isTraining(s.training)) return 'refused'; // the controls are disabled meanwhile
  if (s.composition.trained) {
    setState({ pendingChange: change });
    return 'asked';
  }
  void performChange(change);
  return 'applied';
}

export function confirmPendingChange(): void {
  const change = getState().pendingChange;
  setState({ pendingChange: null });
  if (change) void performChange(change);
}

export function cancelPendingChange(): void {
  setState((s) => ({ pendingChange: null, compare: { ...s.compare, starting: false } }));
}

async function performChange(change: PendingChange): Promise<void> {
  if (change.kind === 'config') applyConfigPatch(change.patch);
  else {
    try {
      await openCompositionNow(change.composition);
    } finally {
      setState((s) => ({ compare: { ...s.compare, starting: false } }));
    }
    if (change.then === 'compare' && getState().composition.status === 'ready') await compare();
  }
}

/** Sets the composition part of the configuration, forgets what the old bridges produced, recomposes soon. */
export function applyConfigPatch(patch: CompositionPatch): void {
  setState((s) => {
    const { config, dropped } = fitConfig({ ...s.config, ...patch }, s);
    return {
      config,
      linkErrors: dropped.length > 0 ? dropped : s.linkErrors,
      composition: { ...s.composition, trained: false, source: undefined, disabled: [] },
      // The composition's answers go; a model's own go when that model is replaced.
      ...bridgesReplaced(s, {
        columns: [
          'composed',
          ...(config.anchor !== s.config.anchor ? (['anchor'] as const) : []),
          ...(config.augment !== s.config.augment ? (['augment'] as const) : []),
        ],
        connection: Math.min(s.attention.connection, Math.max(0, config.connections.length - 1)),
      }),
    };
  });
  scheduleCompose();
}

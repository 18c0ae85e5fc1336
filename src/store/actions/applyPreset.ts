// User action: replace the mapping with a preset, `uniform N` or `every K` (docs/design.md § CALM).
import { getState } from '../app';
import { requestChange } from '../change';
import { modelSizes } from '../compose';
import { everyConnections, uniformConnections } from '../../calm/spec';
import { presetLimits } from '../mapping';

export type Preset = 'uniform' | 'every';

/** Applies the preset; returns a message when `n` is out of range for these models. */
export function applyPreset(preset: Preset, n: number): string | null {
  const s = getState();
  const a = modelSizes(s, s.config.anchor);
  const g = modelSizes(s, s.config.augment);
  if (!a || !g) return 'the models are still loading';
  const most = presetLimits(a.nLayer, g.nLayer)[preset];
  if (!Number.isInteger(n) || n < 1 || n > most) return `${preset} needs a whole number from 1 to ${most} for these models`;
  const connections = preset === 'uniform' ? uniformConnections(n, a.nLayer, g.nLayer) : everyConnections(n, a.nLayer, g.nLayer);
  requestChange({ kind: 'config', patch: { connections }, what: `apply ${preset} ${n}` });
  return null;
}

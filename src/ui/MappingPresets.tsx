// Presets for the mapping: `uniform N` (N links spread evenly, first and last blocks included,
// as the official code) and `every K` (every K-th block on both sides). A number out of range
// for these models says so and keeps its Apply button disabled.
import { useState } from 'react';
import { applyPreset, fieldProblem, isTraining, modelSizes, useAppStore, type Preset } from '../store';
import { presetLimits } from '../store/mapping';
import { NumberField } from './NumberField';

export function MappingPresets() {
  const anchor = useAppStore((s) => modelSizes(s, s.config.anchor));
  const augment = useAppStore((s) => modelSizes(s, s.config.augment));
  const busy = useAppStore((s) => isTraining(s.training));
  const uniformProblem = useAppStore((s) => fieldProblem(s, 'uniform'));
  const everyProblem = useAppStore((s) => fieldProblem(s, 'every'));
  const problems: Record<Preset, string | null> = { uniform: uniformProblem, every: everyProblem };
  const [n, setN] = useState<Record<Preset, number>>({ uniform: 2, every: 1 });
  const [error, setError] = useState<string | null>(null);
  if (!anchor || !augment) return null;
  const limits = presetLimits(anchor.nLayer, augment.nLayer);

  const preset = (p: Preset, label: string, hint: string) => (
    <div className="preset">
      <NumberField label={label} value={n[p]} min={1} max={limits[p]} hint={hint} use={p} onCommit={(v) => setN((o) => ({ ...o, [p]: v }))} disabled={busy} />
      <button type="button" disabled={busy || problems[p] !== null} title={problems[p] ?? undefined} onClick={() => setError(applyPreset(p, n[p]))}>
        Apply {p} {n[p]}
      </button>
    </div>
  );

  return (
    <div className="presets" role="group" aria-label="Presets">
      {preset('uniform', 'Uniform N', 'N links spread evenly over both models, first and last blocks included')}
      {preset('every', 'Every K', 'the output of every K-th block on both sides, paired in order')}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
    </div>
  );
}

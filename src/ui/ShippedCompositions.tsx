// Compositions trained ahead by the project's own script (`repro kv`) and shipped with the
// app: open one to compare at once instead of waiting for training.
import { isTraining, openComposition, useAppStore } from '../store';
import { formatPercent } from './format';

export function ShippedCompositions() {
  const shipped = useAppStore((s) => s.builtinCompositions);
  const source = useAppStore((s) => s.composition.source);
  const busy = useAppStore((s) => isTraining(s.training) || s.composition.status === 'building');
  if (shipped.length === 0) return null;

  return (
    <div className="shipped">
      <h3>Or open a trained composition</h3>
      <ul>
        {shipped.map((c) => (
          <li key={c.id}>
            <button type="button" disabled={busy} onClick={() => openComposition(c)}>
              Open {c.title}
            </button>
          </li>
        ))}
      </ul>
      {source?.kind === 'bundle' && (
        <p role="status" className="small">
          Opened <strong>{source.title}</strong>
          {describeTraining(source.training)}
          {describeMetrics(source.metrics)}. Compare and Evaluate use its bridges; Train starts again from scratch.
        </p>
      )}
    </div>
  );
}

function describeTraining(t: Record<string, unknown> | undefined): string {
  if (!t) return '';
  const parts = [typeof t.steps === 'number' ? `${t.steps} steps` : '', typeof t.lr === 'number' ? `lr ${t.lr}` : '', typeof t.batch === 'number' ? `batch ${t.batch}` : ''];
  const s = parts.filter(Boolean).join(', ');
  return s ? ` (trained ${s})` : '';
}

function describeMetrics(m: Record<string, unknown> | undefined): string {
  if (!m) return '';
  const parts = Object.entries(m)
    .filter((e): e is [string, number] => typeof e[1] === 'number')
    .slice(0, 4)
    .map(([k, v]) => `${k} ${v >= 0 && v <= 1 ? formatPercent(v) : v}`);
  return parts.length > 0 ? `: ${parts.join(', ')}` : '';
}

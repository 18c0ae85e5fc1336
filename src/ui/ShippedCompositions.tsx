// Compositions trained ahead by the project's own script (`repro kv`) and shipped with the
// app: open one to compare at once instead of waiting for training (Start here opens the first).
import { isTraining, openComposition, useAppStore } from '../store';
import { formatCount, formatNumber, formatPercent } from './format';

export function ShippedCompositions() {
  const shipped = useAppStore((s) => s.builtinCompositions);
  const source = useAppStore((s) => s.composition.source);
  const busy = useAppStore((s) => isTraining(s.training) || s.composition.status === 'building');
  if (shipped.length === 0) return null;

  return (
    <div className="shipped">
      <h3>Shipped with the app</h3>
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
          {describeMetrics(source.metrics)}. Compare and Evaluate use its bridges (Evaluate draws the same examples, with its seed and size); Train starts again from scratch.
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
  // `repro kv` records the Table-1 layout: { table: { task: { anchor, augment, composed } }, n }.
  const table = m.table;
  if (table && typeof table === 'object' && !Array.isArray(table)) {
    const rows = Object.entries(table as Record<string, unknown>)
      .map(([task, row]) => {
        const r = (row ?? {}) as Record<string, unknown>;
        const cell = (k: string) => {
          const v = r[k];
          return typeof v === 'number' ? formatPercent(v) : '?';
        };
        return `${task} ${cell('composed')} (anchor ${cell('anchor')}, augmenting ${cell('augment')})`;
      })
      .slice(0, 6);
    if (rows.length === 0) return '';
    const n = typeof m.n === 'number' ? ` on ${m.n} examples per task` : '';
    return `; its composition scored${n}: ${rows.join('; ')}`;
  }
  const parts = Object.entries(m)
    .filter((e): e is [string, number] => typeof e[1] === 'number')
    .slice(0, 4)
    .map(([k, v]) => metricWords(k, v));
  return parts.length > 0 ? `: ${parts.join(', ')}` : '';
}

/** A recorded metric in words: `final_loss 4.954…` → "final loss 4.95", fractions as percentages. */
export function metricWords(key: string, v: number): string {
  const KNOWN: Record<string, (v: number) => string> = {
    final_loss: (x) => `final loss ${formatNumber(x)}`,
    held_out_accuracy: (x) => `held-out accuracy ${formatPercent(x)}`,
    held_out_n: (x) => `on ${formatCount(x)} held-out examples`,
  };
  const known = KNOWN[key];
  if (known) return known(v);
  const words = key.replace(/[_-]+/g, ' ');
  return `${words} ${Number.isInteger(v) ? formatCount(v) : v >= 0 && v <= 1 ? formatPercent(v) : formatNumber(v)}`;
}

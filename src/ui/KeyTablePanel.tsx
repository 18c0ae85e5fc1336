// The key table of the key-value experiment (src/tasks/kv.ts): every key with its value, the
// held-out ones (the bridges never train on them) marked, a filter, and a click that puts a
// key into the Compare prompt.
import { useDeferredValue, useState } from 'react';
import { keyRows, setPrompt, useAppStore } from '../store';
import { keyTable } from '../store/examples';
import { formatCount, plural } from './format';

export function KeyTablePanel() {
  const [filter, setFilter] = useState('');
  const [heldOnly, setHeldOnly] = useState(false);
  const wanted = useDeferredValue(filter.trim().toLowerCase());
  const prompt = useAppStore((s) => s.compare.prompt);
  const table = keyTable();
  const rows = keyRows();
  const shown = rows.filter((r) => (!heldOnly || r.heldOut) && (wanted === '' || r.key.toLowerCase().includes(wanted) || String(r.value) === wanted));
  const { valueMin, valueMax } = table.spec;

  /** The key at the end of the prompt: after its last operator, or the whole prompt when it has none yet. */
  const use = (key: string) => {
    const ops = table.spec.operators as readonly string[];
    const body = prompt.replace(/=$/, '');
    const last = Math.max(...ops.map((op) => body.lastIndexOf(op)));
    const next = body === '' ? `${key}=` : last >= 0 ? `${body.slice(0, last + 1)}${key}=` : `${key}${ops[0]}`;
    setPrompt(next);
  };

  return (
    <section aria-labelledby="keys-heading" className="panel">
      <h2 id="keys-heading">Key table</h2>
      <p className="small">
        {plural(rows.length, 'key')} with values {valueMin}–{valueMax}. The bridges train on {formatCount(table.compositionKeys.length)} of them (
        {Math.round(table.spec.compositionShare * 100)} %); the other {formatCount(table.heldOutKeys.length)} are <span className="key-chip held-out">held out</span>: the
        composition is judged on them. Click a key to make it the last key of the Compare prompt.
      </p>
      <div className="prompt-row">
        <div className="field">
          <label htmlFor="key-filter">Find a key or value</label>
          <input id="key-filter" type="text" value={filter} spellCheck={false} autoComplete="off" onChange={(e) => setFilter(e.target.value)} />
        </div>
        <label className="check">
          <input type="checkbox" checked={heldOnly} onChange={(e) => setHeldOnly(e.target.checked)} /> Held-out keys only
        </label>
        <span className="muted small">{plural(shown.length, 'key')} shown</span>
      </div>
      <ul className="key-grid" aria-label="Keys and their values">
        {shown.map((r) => (
          <li key={r.key}>
            <button type="button" className={`key-chip${r.heldOut ? ' held-out' : ''}`} onClick={() => use(r.key)} title={r.heldOut ? 'held out: the bridges never train on it' : 'the bridges train on it'}>
              {r.key} = {r.value}
              {r.heldOut && <span className="visually-hidden"> (held out)</span>}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

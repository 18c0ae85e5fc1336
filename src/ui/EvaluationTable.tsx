// The evaluation table in the paper's Table 1 layout: tasks × anchor / augmenting /
// composition, exact-match accuracy on fresh examples, with each task's chance level.
import { evaluate, isTraining, setHyperparameter, useAppStore } from '../store';
import type { TableRow } from '../worker/protocol';
import { formatPercent } from './format';
import { NumberField } from './NumberField';

const ROWS: { row: TableRow; task: string; note: string }[] = [
  { row: 'kv-subs', task: 'Key-value substitution', note: "kv-subs, held-out keys: the augmenting model's skill" },
  { row: 'num-arith', task: 'Numeric arithmetic', note: "num-arith: the anchor's skill" },
  { row: 'kv-arith', task: 'Key-value arithmetic', note: 'kv-arith, held-out keys: needs both models' },
];

export function EvaluationTable() {
  const evaluation = useAppStore((s) => s.evaluation);
  const evalN = useAppStore((s) => s.config.evalN);
  const anchor = useAppStore((s) => s.config.anchor);
  const augment = useAppStore((s) => s.config.augment);
  const training = useAppStore((s) => isTraining(s.training));
  const running = evaluation.status === 'running';
  const result = evaluation.result;

  return (
    <section aria-labelledby="evaluate-heading" className="panel">
      <h2 id="evaluate-heading">6. Evaluate</h2>
      <div className="prompt-row">
        <NumberField label="Examples per task" value={evalN} min={1} max={10_000} onCommit={(v) => setHyperparameter('evalN', v)} disabled={running} />
        <button type="button" className="primary" onClick={() => void evaluate()} disabled={running || training}>
          Evaluate
        </button>
        {running && (
          <span className="small">
            <progress aria-label="Evaluation progress" max={evaluation.total || undefined} value={evaluation.total ? evaluation.done : undefined} />{' '}
            {evaluation.total ? `${evaluation.done} / ${evaluation.total}` : 'starting…'}
          </span>
        )}
      </div>
      <table aria-label="Evaluation" className="evaluation">
        <caption className="muted small">
          Exact-match accuracy, greedy decoding{result ? `, ${result.n} examples per task` : ''}. Chance: always giving the most common answer.
        </caption>
        <thead>
          <tr>
            <th scope="col">Task</th>
            <th scope="col">
              Anchor <code>{anchor}</code>
            </th>
            <th scope="col">
              Augmenting <code>{augment}</code>
            </th>
            <th scope="col">Composition</th>
            <th scope="col">Chance</th>
          </tr>
        </thead>
        <tbody>
          {ROWS.map(({ row, task, note }) => (
            <tr key={row}>
              <th scope="row" title={note}>
                {task} <span className="muted small">({row})</span>
              </th>
              <td>{result ? formatPercent(result.table[row].anchor) : '—'}</td>
              <td>{result ? formatPercent(result.table[row].augment) : '—'}</td>
              <td className="composed">{result ? formatPercent(result.table[row].composed) : '—'}</td>
              <td className="muted">{result ? formatPercent(result.chance[row]) : '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {evaluation.status === 'error' && (
        <p role="alert" className="error">
          {evaluation.error}
        </p>
      )}
    </section>
  );
}

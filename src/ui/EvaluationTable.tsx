// The evaluation table in the paper's Table 1 layout: tasks × anchor / augmenting /
// composition, exact-match accuracy on fresh examples, each task's chance level, and the
// paper's own figures beside ours; under it, one sentence that says what the numbers mean.
import { evaluate, evaluateProblem, isTraining, setHyperparameter, useAppStore } from '../store';
import { PAPER_TABLE_1 } from '../tasks/paper';
import type { Column, EvaluationTable as Result, TableRow } from '../worker/protocol';
import { formatPercent } from './format';
import { NumberField } from './NumberField';

const ROWS: { row: TableRow; task: string; note: string }[] = [
  { row: 'kv-subs', task: 'Key-value substitution', note: "kv-subs, held-out keys: the augmenting model's skill" },
  { row: 'num-arith', task: 'Numeric arithmetic', note: "num-arith: the anchor's skill" },
  { row: 'kv-arith', task: 'Key-value arithmetic', note: 'kv-arith, held-out keys: needs both models' },
];
const COLUMNS: Column[] = ['anchor', 'augment', 'composed'];

/** The columns with the row's best score (ties all win); none when every score is 0. */
export function winners(scores: Record<Column, number>): Set<Column> {
  const best = Math.max(...COLUMNS.map((c) => scores[c]));
  return new Set(best > 0 ? COLUMNS.filter((c) => scores[c] === best) : []);
}

/** What the table means, in one sentence: the composed task on held-out keys against each model alone and chance. */
export function tableSentence(r: Result): string {
  const kv = r.table['kv-arith'];
  const chance = r.chance['kv-arith'];
  const paper = PAPER_TABLE_1['kv-arith'];
  const figures = `On held-out keys the composition scores ${formatPercent(kv.composed)} on key-value arithmetic, the anchor alone ${formatPercent(kv.anchor)}, the augmenting model alone ${formatPercent(kv.augment)}, chance ${formatPercent(chance)}`;
  const verdict =
    kv.composed > Math.max(kv.anchor, kv.augment, chance)
      ? 'the composition does what neither model does alone'
      : kv.composed <= chance
        ? 'the composition is no better than always giving the most common answer: these bridges have not learned to compose'
        : 'the composition is above chance but not above the models alone';
  return `${figures}: ${verdict}. (The paper, at full scale: ${formatPercent(paper.composed)} for CALM, ${formatPercent(paper.anchor)} and ${formatPercent(paper.augment)} alone.)`;
}

export function EvaluationTable() {
  const evaluation = useAppStore((s) => s.evaluation);
  const evalN = useAppStore((s) => s.config.evalN);
  const anchor = useAppStore((s) => s.config.anchor);
  const augment = useAppStore((s) => s.config.augment);
  const training = useAppStore((s) => isTraining(s.training));
  const problem = useAppStore((s) => evaluateProblem(s));
  const running = evaluation.status === 'running';
  const result = evaluation.result;

  return (
    <section aria-labelledby="evaluate-heading" className="panel wide">
      <h2 id="evaluate-heading">Evaluate</h2>
      <div className="prompt-row">
        <NumberField label="Examples per task" value={evalN} min={1} max={10_000} use="evaluate" onCommit={(v) => setHyperparameter('evalN', v)} disabled={running} />
        <button type="button" className="primary" onClick={() => void evaluate()} disabled={running || training || problem !== null}>
          Evaluate
        </button>
        {problem && <span className="error-text">{problem}</span>}
        {running && (
          <span className="small">
            <progress aria-label="Evaluation progress" max={evaluation.total || undefined} value={evaluation.total ? evaluation.done : undefined} />{' '}
            {evaluation.total ? `${evaluation.done} / ${evaluation.total}` : 'starting…'}
          </span>
        )}
      </div>
      <div className="table-scroll">
      <table aria-label="Evaluation" className="evaluation">
        <caption className="muted small">
          Exact-match accuracy, greedy decoding{result ? `, ${result.n} examples per task` : ''}; the best of the three in bold. Chance: always giving the most
          common answer. The paper's figures (Table 1, at full scale) are anchor / augmenting / CALM.
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
            <th scope="col">Paper</th>
          </tr>
        </thead>
        <tbody>
          {ROWS.map(({ row, task, note }) => {
            const scores = result?.table[row];
            const win = scores ? winners(scores) : new Set<Column>();
            const paper = PAPER_TABLE_1[row];
            return (
              <tr key={row}>
                <th scope="row" title={note}>
                  {task} <span className="muted small">({row})</span>
                </th>
                {COLUMNS.map((c) => (
                  <td key={c} className={win.has(c) ? 'best' : undefined}>
                    {scores ? formatPercent(scores[c]) : '—'}
                  </td>
                ))}
                <td className="muted">{result ? formatPercent(result.chance[row]) : '—'}</td>
                <td className="paper">
                  {formatPercent(paper.anchor)} / {formatPercent(paper.augment)} / {formatPercent(paper.composed)}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      </div>
      {result && (
        <p className="table-sentence">
          {tableSentence(result)}
        </p>
      )}
      {evaluation.status === 'error' && (
        <p role="alert" className="error">
          {evaluation.error}
        </p>
      )}
    </section>
  );
}

// Start here: one button that opens the composition shipped with the app and compares it with
// both models on a prompt whose keys the bridges never saw; the three answers come back in one
// line, each marked against its own right answer. Another click takes the next such prompt.
import { heldOutPrompt, isTraining, readPrompt, shippedIsOpen, startHere, useAppStore, verdict } from '../store';
import { keyTable } from '../store/examples';
import { COLUMN_NAMES, outputText } from './ComparePanel';
import { formatCount } from './format';

export function StartHere() {
  const shipped = useAppStore((s) => s.builtinCompositions[0]);
  const anchor = useAppStore((s) => s.builtinModels.status === 'ready' ? s.builtinModels.value.find((m) => m.role === 'anchor')?.id : undefined);
  const augment = useAppStore((s) => s.builtinModels.status === 'ready' ? s.builtinModels.value.find((m) => m.role === 'augment')?.id : undefined);
  const round = useAppStore((s) => s.compare.startRound);
  const prompt = useAppStore((s) => s.compare.prompt);
  const outputs = useAppStore((s) => s.compare.outputs);
  const busy = useAppStore((s) => s.compare.running || isTraining(s.training) || s.composition.status === 'building' || s.pendingChange !== null);
  const open = useAppStore((s) => (shipped ? shippedIsOpen(shipped.title, s) : false));
  const starting = useAppStore((s) => s.compare.starting);
  const asking = useAppStore((s) => s.pendingChange !== null);
  const table = keyTable();
  if (!shipped) return null;
  // The strip's answers are the Compare outputs while they answer its own prompt (and once it ran:
  // a question about the person's trained bridges, answered "keep", leaves nothing to show).
  const ours = round !== null && prompt === heldOutPrompt(round) && (starting || Object.values(outputs).some((o) => o.status !== 'idle'));
  const next = ours && outputs.composed.status === 'done' ? round + 1 : (round ?? 0);
  const reading = readPrompt(prompt);

  return (
    <section className="start-here" aria-labelledby="start-heading">
      <div className="start-text">
        <h2 id="start-heading">Start here</h2>
        <p>
          The anchor{anchor ? <> (<code>{anchor}</code>)</> : null} does arithmetic on numbers; the augmenting model{augment ? <> (<code>{augment}</code>)</> : null}{' '}
          knows the values of {formatCount(table.keys.length)} keys. Neither can add keys. Bridges trained on {formatCount(table.compositionKeys.length)} of the
          keys let the anchor read the values off the augmenting model: try them on keys they never saw.
        </p>
      </div>
      <div className="start-action">
        {/* Its words share none with Train, Compare or Evaluate, so each of those names one button. */}
        <button type="button" className="primary big" disabled={busy} onClick={() => void startHere(next)}>
          {round === null || !open ? 'Try the shipped composition on held-out keys' : 'Try another held-out prompt'}
        </button>
        <p className="muted small">Shipped with the app: {shipped.title}.</p>
      </div>
      {ours && (
        <div className="start-result" role="status" aria-label="Start here result">
          {starting ? (
            <p className="small">{asking ? 'Your trained bridges would be replaced: answer the question beside the button.' : 'Opening the trained composition…'}</p>
          ) : (
            <>
              <p className="small">
                Prompt <code>{prompt}</code>
                {reading && reading.operands.some((o) => o.heldOut) ? ' (held-out keys: the bridges never trained on them)' : ''}:
              </p>
              <ul className="verdicts">
                {COLUMN_NAMES.map(({ column, title }) => {
                  const o = outputs[column];
                  const text = outputText(o);
                  const v = o.status === 'done' ? verdict(column, prompt, text) : null;
                  return (
                    <li key={column} className={v ? (v.correct ? 'right' : 'wrong') : undefined}>
                      <span className="verdict-name">{title}</span>{' '}
                      <code>{o.status === 'done' ? text || '(nothing)' : o.status === 'error' ? 'error' : '…'}</code>{' '}
                      {v && (
                        <span>
                          <span aria-hidden="true">{v.correct ? '✓' : '✗'}</span> {v.correct ? 'right' : `wrong (right: ${v.right})`}
                        </span>
                      )}
                    </li>
                  );
                })}
              </ul>
            </>
          )}
        </div>
      )}
    </section>
  );
}

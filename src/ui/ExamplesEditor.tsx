// The training examples: `prompt => completion` per line, or JSON lines. Bad lines are listed
// with their numbers (a click selects the line); counts of training and held-out examples.
import { useRef } from 'react';
import { restoreDefaultExamples, setExamplesText, useAppStore } from '../store';
import { formatCount, plural } from './format';

const SHOWN_ERRORS = 12;

export function ExamplesEditor() {
  const examples = useAppStore((s) => s.examples);
  const heldOut = useAppStore((s) => s.config.heldOut);
  const area = useRef<HTMLTextAreaElement>(null);
  const { errors, parsed, text, isDefault } = examples;

  /** Selects line `n` (1-based) in the text box. */
  const goToLine = (n: number) => {
    const el = area.current;
    if (!el) return;
    let start = 0;
    for (let i = 1; i < n; i++) start = text.indexOf('\n', start) + 1;
    const end = text.indexOf('\n', start);
    el.focus();
    el.setSelectionRange(start, end < 0 ? text.length : end);
  };

  return (
    <section aria-labelledby="examples-heading" className="panel">
      <h2 id="examples-heading">3. Examples</h2>
      <p className="muted small">
        One per line: <code>prompt =&gt; completion</code>, or a JSON object <code>{'{"prompt": …, "completion": …}'}</code>. Lines starting
        with <code>#</code> are skipped. The loss counts the completion only. The default set is the <code>repro kv</code> recipe's: key-value
        arithmetic over the composition keys, with numeric arithmetic mixed in.
      </p>
      <textarea
        id="examples-text"
        ref={area}
        aria-label="Examples"
        aria-invalid={errors.length > 0}
        aria-describedby="examples-counts examples-errors"
        spellCheck={false}
        autoCapitalize="off"
        autoCorrect="off"
        rows={10}
        value={text}
        onChange={(e) => setExamplesText(e.target.value)}
      />
      <div className="examples-bar">
        <p id="examples-counts" className="counts">
          {plural(parsed.length, 'training example')} · {plural(heldOut, 'held-out example')} (key-value arithmetic over keys the bridges never see)
        </p>
        <button type="button" onClick={restoreDefaultExamples} disabled={isDefault}>
          Restore default examples
        </button>
      </div>
      <div id="examples-errors" aria-live="polite">
        {errors.length > 0 && (
          <div className="error">
            <p>
              {plural(errors.length, 'line')} cannot be read; Train needs {errors.length === 1 ? 'it' : 'them'} fixed:
            </p>
            <ul aria-label="Example errors" className="example-errors">
              {errors.slice(0, SHOWN_ERRORS).map((e) => (
                <li key={e.line}>
                  {e.line > 0 ? (
                    <button type="button" className="link-button" onClick={() => goToLine(e.line)} aria-label={`Go to line ${e.line}`}>
                      line {e.line}
                    </button>
                  ) : null}
                  {e.line > 0 ? e.message.replace(/^line \d+/, '') : e.message}
                </li>
              ))}
            </ul>
            {errors.length > SHOWN_ERRORS && <p>… and {formatCount(errors.length - SHOWN_ERRORS)} more.</p>}
          </div>
        )}
      </div>
    </section>
  );
}

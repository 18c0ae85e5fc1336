// The training examples: `prompt => completion` per line, or JSON lines. The recipe's generated
// set (thousands of lines) is shown as a short summary with a few lines of it; "Edit as text"
// opens the text box. Bad lines are listed with their numbers (a click selects the line).
import { useMemo, useRef, useState } from 'react';
import { restoreDefaultExamples, setExamplesText, useAppStore } from '../store';
import { KV_RECIPE } from '../tasks/recipe';
import { keyTable } from '../store/examples';
import { formatCount, plural } from './format';

const SHOWN_ERRORS = 12;
const PREVIEW_LINES = 3;

export function ExamplesEditor() {
  const examples = useAppStore((s) => s.examples);
  const heldOut = useAppStore((s) => s.config.heldOut);
  const [editing, setEditing] = useState(false);
  const area = useRef<HTMLTextAreaElement>(null);
  const { errors, parsed, text, isDefault } = examples;
  const preview = useMemo(() => text.split('\n').slice(0, PREVIEW_LINES).join('\n'), [text]);

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
  const counts = (
    <p id="examples-counts" className="counts small">
      {plural(parsed.length, 'training example')} · {plural(heldOut, 'held-out example')} (key-value arithmetic over keys the bridges never see)
    </p>
  );

  return (
    <div className="examples" role="group" aria-labelledby="examples-heading">
      <h3 id="examples-heading">Examples</h3>
      {!editing && errors.length === 0 ? (
        <>
          <p className="small">
            {isDefault ? <DefaultSummary count={parsed.length} /> : <>{plural(parsed.length, 'example')} of your own.</>}{' '}
            <button type="button" className="small-button" onClick={() => setEditing(true)}>
              Edit as text
            </button>
          </p>
          <pre className="preview" aria-label="The first examples">
            {preview}
            {parsed.length > PREVIEW_LINES ? '\n…' : ''}
          </pre>
          {counts}
        </>
      ) : (
        <>
          <p className="muted small">
            One per line: <code>prompt =&gt; completion</code>, or a JSON object <code>{'{"prompt": …, "completion": …}'}</code>. Lines starting with{' '}
            <code>#</code> are skipped. The loss counts the completion only.
          </p>
          <label htmlFor="examples-text" className="visually-hidden">
            Examples
          </label>
          <textarea
            id="examples-text"
            ref={area}
            aria-invalid={errors.length > 0}
            aria-describedby="examples-counts examples-errors"
            spellCheck={false}
            autoCapitalize="off"
            autoCorrect="off"
            rows={8}
            // No soft wrapping: lines are short, and a box of thousands of lines lays out faster unwrapped.
            wrap="off"
            value={text}
            onChange={(e) => setExamplesText(e.target.value)}
          />
          <div className="examples-bar">
            {counts}
            <button type="button" onClick={restoreDefaultExamples} disabled={isDefault}>
              Restore default examples
            </button>
          </div>
        </>
      )}
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
    </div>
  );
}

/** The recipe's data in words: how many of each kind, over which keys. */
function DefaultSummary({ count }: { count: number }) {
  const table = keyTable();
  const numeric = count - KV_RECIPE.kvArith;
  const mixed = Math.round(KV_RECIPE.kvArith * (KV_RECIPE.mixedShare ?? 0));
  return (
    <>
      {plural(count, 'example')} made by the <code>repro kv</code> recipe: {formatCount(KV_RECIPE.kvArith - mixed)} key-value arithmetic
      {mixed > 0 && <> and {formatCount(mixed)} with one key among numbers</>} over the {formatCount(table.compositionKeys.length)} keys the
      bridges train on, {formatCount(numeric)} numeric arithmetic mixed in.
    </>
  );
}

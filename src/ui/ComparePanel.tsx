// Compare: one prompt, three columns — the anchor alone, the augmenting model alone, the
// composition — streaming tokens, each shaded by its probability.
import { compare, expectedAnswer, isTraining, setHyperparameter, setPrompt, useAppStore } from '../store';
import type { ColumnOutput } from '../store/compare';
import type { Column } from '../worker/protocol';
import { NumberField } from './NumberField';

const COLUMN_NAMES: { column: Column; region: string; title: string }[] = [
  { column: 'anchor', region: 'Anchor output', title: 'Anchor alone' },
  { column: 'augment', region: 'Augmenting output', title: 'Augmenting alone' },
  { column: 'composed', region: 'Composed output', title: 'Composition' },
];

export function ComparePanel() {
  const prompt = useAppStore((s) => s.compare.prompt);
  const running = useAppStore((s) => s.compare.running);
  const training = useAppStore((s) => isTraining(s.training));
  const maxTokens = useAppStore((s) => s.config.maxTokens);
  const expected = expectedAnswer(prompt);

  return (
    <section aria-labelledby="compare-heading" className="panel">
      <h2 id="compare-heading">5. Compare</h2>
      <form
        className="prompt-row"
        onSubmit={(e) => {
          e.preventDefault();
          void compare();
        }}
      >
        <div className="field grow">
          <label htmlFor="prompt">Prompt</label>
          <input id="prompt" type="text" value={prompt} spellCheck={false} autoComplete="off" onChange={(e) => setPrompt(e.target.value)} />
        </div>
        <NumberField label="Tokens" value={maxTokens} min={1} max={64} onCommit={(v) => setHyperparameter('maxTokens', v)} />
        <button type="submit" className="primary" disabled={running || training}>
          Compare
        </button>
      </form>
      <p className="muted small">
        {expected !== null ? (
          <>
            The right answer, from the key table: <strong>{expected}</strong>.{' '}
          </>
        ) : null}
        Greedy decoding; each token is shaded by the probability the model gave it.
        {training ? ' (Compare waits until training stops.)' : ''}
      </p>
      <div className="columns">
        {COLUMN_NAMES.map((c) => (
          <OutputColumn key={c.column} {...c} />
        ))}
      </div>
    </section>
  );
}

function OutputColumn({ column, region, title }: { column: Column; region: string; title: string }) {
  const output = useAppStore((s) => s.compare.outputs[column]);
  const modelId = useAppStore((s) => (column === 'anchor' ? s.config.anchor : column === 'augment' ? s.config.augment : null));
  const trained = useAppStore((s) => s.composition.trained);

  return (
    <section aria-label={region} className={`output output-${column}`} aria-busy={output.status === 'streaming' || output.status === 'waiting'}>
      <h3>
        {title} {modelId ? <code>{modelId}</code> : <span className="muted small">{trained ? '(trained bridges)' : '(untrained bridges)'}</span>}
      </h3>
      <Tokens output={output} />
      {output.disabled && output.disabled.length > 0 && (
        <p className="muted small">Bridges switched off: {output.disabled.map((i) => `bridge ${i}`).join(', ')}.</p>
      )}
    </section>
  );
}

function Tokens({ output }: { output: ColumnOutput }) {
  if (output.status === 'error')
    return (
      <p role="alert" className="error">
        {output.error}
      </p>
    );
  if (output.status === 'idle') return <p className="muted">—</p>;
  if (output.status === 'waiting') return <p className="muted">waiting…</p>;
  return (
    <p className="tokens" data-testid="tokens">
      {output.tokens.map((t, i) => (
        <span
          key={i}
          className="token"
          style={{ backgroundColor: `rgba(47, 111, 219, ${(0.1 + 0.6 * t.prob).toFixed(3)})` }}
          title={`p = ${t.prob.toFixed(3)}`}
        >
          {t.text === ' ' ? '␠' : t.text}
        </span>
      ))}
      {output.status === 'streaming' && <span className="cursor" aria-hidden="true">▍</span>}
      {output.status === 'done' && output.tokens.length === 0 && <span className="muted">(nothing: the model ended at once)</span>}
    </p>
  );
}

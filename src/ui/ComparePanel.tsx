// The third part of the main loop: one prompt, three columns — the anchor alone, the
// augmenting model alone, the composition — streaming tokens, each shaded by its probability,
// and each answer marked against that column's own right answer (the augmenting model's is the
// substitution, the others' the result). A prompt with a key the table lacks says so.
import { compare, compareProblem, isTraining, readPrompt, setHyperparameter, setPrompt, useAppStore, verdict } from '../store';
import type { ColumnOutput } from '../store/compare';
import type { Column } from '../worker/protocol';
import { NumberField } from './NumberField';

export const COLUMN_NAMES: { column: Column; region: string; title: string }[] = [
  { column: 'anchor', region: 'Anchor output', title: 'Anchor alone' },
  { column: 'augment', region: 'Augmenting output', title: 'Augmenting alone' },
  { column: 'composed', region: 'Composed output', title: 'Composition' },
];

/** The shade of a token the model gave probability `p`. */
export function shade(p: number): string {
  return `rgba(47, 111, 219, ${(0.1 + 0.6 * p).toFixed(3)})`;
}

/** A column's output as one string. */
export function outputText(o: ColumnOutput): string {
  return o.tokens.map((t) => t.text).join('');
}

export function ComparePanel() {
  const prompt = useAppStore((s) => s.compare.prompt);
  const running = useAppStore((s) => s.compare.running);
  const training = useAppStore((s) => isTraining(s.training));
  const maxTokens = useAppStore((s) => s.config.maxTokens);
  const problem = useAppStore((s) => compareProblem(s));
  const reading = readPrompt(prompt);

  return (
    <section aria-labelledby="compare-heading" className="panel loop-panel">
      <h2 id="compare-heading">
        <span className="step">3</span> Compare
      </h2>
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
        <NumberField label="Tokens" value={maxTokens} min={1} max={64} use="compare" onCommit={(v) => setHyperparameter('maxTokens', v)} />
        <button type="submit" className="primary" disabled={running || training || problem !== null} aria-describedby={problem ? 'compare-problem' : undefined}>
          Compare
        </button>
      </form>
      {problem && prompt !== '' && (
        <p id="compare-problem" className="error-text">
          {problem}
        </p>
      )}
      <PromptKeys />
      {reading && reading.unknown.length > 0 && (
        <p role="alert" className="warning small">
          {reading.unknown.map((k) => `“${k}”`).join(', ')} {reading.unknown.length === 1 ? 'is not a key' : 'are not keys'} of the key table (see Key table below): no model
          has a right answer for this prompt.
        </p>
      )}
      <div className="columns">
        {COLUMN_NAMES.map((c) => (
          <OutputColumn key={c.column} {...c} prompt={prompt} />
        ))}
      </div>
      <ShadeLegend />
      {training && <p className="muted small">Compare waits until training stops.</p>}
    </section>
  );
}

/** The prompt's keys with their values; held-out ones (never seen by the bridges) marked. */
function PromptKeys() {
  const prompt = useAppStore((s) => s.compare.prompt);
  const reading = readPrompt(prompt);
  const keys = reading?.operands.filter((o) => o.kind === 'key') ?? [];
  if (keys.length === 0) return null;
  const heldOut = keys.filter((k) => k.heldOut).length;
  return (
    <p className="small prompt-keys">
      Keys:{' '}
      {keys.map((k, i) => (
        <span key={i} className={`key-chip${k.heldOut ? ' held-out' : ''}`}>
          {k.text} = {k.value}
        </span>
      ))}{' '}
      <span className="muted">
        {heldOut === keys.length ? '— all held out: the bridges never trained on them.' : heldOut === 0 ? '— the bridges trained on these keys.' : `— ${heldOut} of ${keys.length} held out.`}
      </span>
    </p>
  );
}

function OutputColumn({ column, region, title, prompt }: { column: Column; region: string; title: string; prompt: string }) {
  const output = useAppStore((s) => s.compare.outputs[column]);
  const modelId = useAppStore((s) => (column === 'anchor' ? s.config.anchor : column === 'augment' ? s.config.augment : null));
  const trained = useAppStore((s) => s.composition.trained);
  const run = useAppStore((s) => s.compare.run);
  const v = output.status === 'done' ? verdict(column, prompt, outputText(output)) : null;

  return (
    // data-run: which Compare these outputs come from (each run and each new prompt counts one more)
    <section aria-label={region} className={`output output-${column}`} aria-busy={output.status === 'streaming' || output.status === 'waiting'} data-run={run}>
      <h3>
        {title} {modelId ? <code>{modelId}</code> : <span className="muted small">{trained ? '(trained bridges)' : '(untrained bridges)'}</span>}
      </h3>
      <Tokens output={output} />
      {v && <Mark right={v.right} correct={v.correct} column={column} />}
      {output.disabled && output.disabled.length > 0 && (
        <p className="muted small">Bridges switched off: {output.disabled.map((i) => `bridge ${i}`).join(', ')}.</p>
      )}
    </section>
  );
}

const RIGHT_KIND: Record<Column, string> = { anchor: 'the result', augment: 'the substitution', composed: 'the result' };

/** ✓ or ✗ against the column's own right answer. */
export function Mark({ right, correct, column }: { right: string; correct: boolean; column: Column }) {
  return (
    <p className={`mark ${correct ? 'right' : 'wrong'}`}>
      <span aria-hidden="true">{correct ? '✓' : '✗'}</span> {correct ? 'Right' : 'Wrong'}: its right answer is {RIGHT_KIND[column]} <code>{right}</code>
    </p>
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
        <span key={i} className="token" style={{ backgroundColor: shade(t.prob) }} title={`p = ${t.prob.toFixed(3)}`}>
          {t.text === ' ' ? '␠' : t.text}
        </span>
      ))}
      {output.status === 'streaming' && <span className="cursor" aria-hidden="true">▍</span>}
      {output.status === 'done' && output.tokens.length === 0 && <span className="muted">(nothing: the model ended at once)</span>}
    </p>
  );
}

/** What the token shading means: the probability the model gave each token it chose (greedy decoding). */
function ShadeLegend() {
  return (
    <p className="legend small muted" aria-label="Shading legend">
      Greedy decoding; each token is shaded by the probability the model gave it:{' '}
      {[0, 0.5, 1].map((p) => (
        <span key={p} className="legend-swatch" style={{ backgroundColor: shade(p) }}>
          {p === 0 ? '0' : p === 1 ? '1' : '0.5'}
        </span>
      ))}
    </p>
  );
}

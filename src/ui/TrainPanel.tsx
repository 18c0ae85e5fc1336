// The second part of the main loop: training. Steps, learning rate, batch; Train and Stop (Train
// disabled with its reason: no link, a number out of range, a bad example); a progress bar with
// steps/s and ETA; the live chart; and the examples the bridges train on.
import { isTraining, secondsPerStep, setHyperparameter, stop, train, trainProblem, useAppStore } from '../store';
import type { TrainingState } from '../store/training';
import { ExamplesEditor } from './ExamplesEditor';
import { formatCount, formatDuration, formatNumber, formatPercent } from './format';
import { LossChart } from './LossChart';
import { NumberField } from './NumberField';

export function TrainPanel() {
  const config = useAppStore((s) => s.config);
  const training = useAppStore((s) => s.training);
  const problem = useAppStore((s) => trainProblem(s));
  const running = isTraining(training);

  return (
    <section aria-labelledby="train-heading" className="panel loop-panel">
      <h2 id="train-heading">
        <span className="step">2</span> Train the bridges
      </h2>
      <p className="muted small">Only the bridges learn; both models stay frozen. Each Train starts from fresh bridges.</p>
      <div className="fields">
        <NumberField label="Steps" value={config.steps} min={1} max={100_000} use="train" onCommit={(v) => setHyperparameter('steps', v)} disabled={running} />
        <NumberField
          label="Learning rate"
          value={config.lr}
          min={0}
          minExclusive
          max={1}
          step="any"
          integer={false}
          use="train"
          onCommit={(v) => setHyperparameter('lr', v)}
          disabled={running}
        />
        <NumberField label="Batch" value={config.batch} min={1} max={4096} use="train" onCommit={(v) => setHyperparameter('batch', v)} disabled={running} />
        <NumberField
          label="Held-out examples"
          value={config.heldOut}
          min={0}
          max={200}
          use="train"
          hint="kv-arith examples over held-out keys, scored while training (0: none)"
          onCommit={(v) => setHyperparameter('heldOut', v)}
          disabled={running}
        />
        <NumberField label="Seed" value={config.seed} min={0} max={2 ** 31 - 1} use="train" onCommit={(v) => setHyperparameter('seed', v)} disabled={running} />
      </div>
      <div className="buttons">
        <button
          type="button"
          id="train-button"
          className="primary big"
          onClick={() => void train()}
          disabled={running || problem !== null}
          aria-describedby={problem ? 'train-problem' : undefined}
        >
          Train
        </button>
        <button type="button" onClick={stop} disabled={!running}>
          Stop
        </button>
        {problem && !running && (
          <span id="train-problem" className="error-text">
            {problem}
          </span>
        )}
      </div>
      <TrainProgress training={training} />
      <LossChart losses={training.losses} accuracy={training.accuracy} />
      <ExamplesEditor />
    </section>
  );
}

function TrainProgress({ training: t }: { training: TrainingState }) {
  const caching = t.status === 'caching' && t.cacheTotal !== undefined && t.cacheTotal > 0;
  return (
    <div className="train-progress">
      <progress aria-label="Training progress" max={Math.max(1, t.steps)} value={t.step} />
      <p role="status" aria-label="Training status" className="small">
        {describe(t, caching)}
      </p>
      {t.status === 'error' && t.error && (
        <p role="alert" className="error">
          {t.error}
        </p>
      )}
    </div>
  );
}

/** The measured time of one step (the worker's steps per second over the run), as `, 1.23 s per step`. */
function perStep(t: TrainingState): string {
  const s = secondsPerStep(t);
  return s === undefined ? '' : `, ${formatNumber(s)} s per step`;
}

function describe(t: TrainingState, caching: boolean): string {
  const parts: string[] = [];
  switch (t.status) {
    case 'idle':
      return 'Not trained yet.';
    case 'starting':
      return 'Building fresh bridges…';
    case 'caching':
      if (t.cacheReused) return `Reusing the frozen models' work on these ${formatCount(t.cacheTotal ?? 0)} examples from the last run…`;
      return caching ? `Caching the frozen models' work: ${formatCount(t.cacheDone ?? 0)} / ${formatCount(t.cacheTotal ?? 0)} examples…` : "Caching the frozen models' work…";
    case 'evaluating':
      parts.push(`Scoring the held-out examples at step ${formatCount(t.step)}…`);
      break;
    case 'done':
      parts.push(
        `Done: ${formatCount(t.step)} steps${t.summary ? ` in ${formatDuration(t.summary.seconds)}` : ''}${perStep(t)}${t.cacheReused ? " (the frozen models' work reused from the last run)" : ''}.`,
      );
      break;
    case 'stopped':
      parts.push(`Stopped after ${formatCount(t.step)} steps${perStep(t)}; the bridges keep the last one.`);
      break;
    case 'error':
      parts.push(t.step > 0 ? `Stopped at step ${formatCount(t.step)}.` : 'Training did not run.');
      break;
    case 'training':
      parts.push(`Step ${formatCount(t.step)} / ${formatCount(t.steps)}`);
      if (t.stepsPerSecond !== undefined) parts.push(`${formatNumber(t.stepsPerSecond)} steps/s`);
      if (t.etaSeconds !== undefined) parts.push(`ETA ${formatDuration(t.etaSeconds)}`);
      break;
  }
  if (t.loss !== undefined) parts.push(`loss ${formatNumber(t.loss)}`);
  const acc = t.summary?.heldOutAccuracy ?? t.accuracy.at(-1)?.[1];
  if (acc !== undefined) parts.push(`held-out accuracy ${formatPercent(acc)}`);
  return parts.join(' · ');
}

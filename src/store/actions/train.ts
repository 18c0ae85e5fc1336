// User action: Train. Fresh bridges (Train retrains from scratch), then the worker's training
// loop; its events drive the progress bar and the chart.
import type { TrainEvent, TrainSettings, TrainSummary } from '../../worker/protocol';
import { beginActivity } from '../activity';
import { controller, getState, setState, type AppState } from '../app';
import { fieldProblem } from '../fields';
import { ensureComposed, patchComposition } from '../compose';
import { heldOutExamples } from '../examples';
import { bridgesReplaced } from '../replaced';
import type { SavedComposition } from '../saved';
import { startSavingRun, type TrainingSaver } from '../library';
import { isTraining, type TrainingState } from '../training';
import { refreshKernelUsage } from '../kernels';
import { api, messageOf, proxyCallback, serial } from '../worker';

/** Why Train cannot start with the examples as they are, or null. */
export function examplesProblem(s: Pick<AppState, 'examples'> = getState()): string | null {
  const { parsed, errors } = s.examples;
  if (errors.length > 0) {
    const n = errors.length;
    return `Fix the example${n === 1 ? '' : 's'} on line${n === 1 ? '' : 's'} ${errors
      .slice(0, 3)
      .map((e) => e.line)
      .join(', ')}${n > 3 ? ', …' : ''} first.`;
  }
  if (parsed.length === 0) return 'Paste at least one example first.';
  return null;
}

/** Why Train cannot start now (no link, a number that is not valid, bad examples), or null. */
export function trainProblem(s: AppState = getState()): string | null {
  if (s.config.connections.length === 0) return NO_LINKS;
  return fieldProblem(s, 'train') ?? examplesProblem(s);
}

/** The reason a composition with no link cannot run, for Train, Compare, Evaluate. */
export const NO_LINKS = 'Add at least one link on the map first: with no link there is no bridge.';

function patchTraining(patch: Partial<TrainingState>): void {
  setState((s) => ({ training: { ...s.training, ...patch } }));
}

/** Continues the interrupted training the page restored, from its last checkpoint's bridges. */
export async function resumeTraining(): Promise<void> {
  const resume = getState().library.resume;
  if (!resume || isTraining(getState().training)) return;
  const record = await controller().saved.get(resume.id).catch(() => undefined);
  if (!record) return;
  await train({ from: record.step, record });
}

/**
 * Train: fresh bridges and `config.steps` steps; or, resuming, the remaining steps from the
 * bridges the worker holds now (restored from a checkpoint; the optimizer state starts anew).
 */
export async function train(resume?: { from: number; record: SavedComposition }): Promise<void> {
  const s = getState();
  if (isTraining(s.training)) return;
  const problem = resume ? examplesProblem(s) : trainProblem(s);
  if (problem) {
    setState({ training: { status: 'error', step: 0, steps: s.config.steps, losses: [], accuracy: [], error: problem } });
    return;
  }
  const { config } = s;
  const offset = resume?.from ?? 0;
  const total = resume ? resume.record.steps : config.steps;
  const run = { anchor: config.anchor, augment: config.augment, batch: config.batch };
  const settings: TrainSettings = {
    examples: s.examples.parsed,
    heldOut: heldOutExamples(config.heldOut),
    steps: total - offset,
    lr: config.lr,
    batch: config.batch,
    seed: config.seed,
    evalEvery: Math.max(1, Math.ceil(config.steps / 10)),
  };
  setState((st) => ({
    training: resume
      ? { ...st.training, status: 'starting', step: offset, steps: total, error: undefined, summary: undefined, run }
      : { status: 'starting', step: 0, steps: total, losses: [], accuracy: [], run },
    // Training changes the bridges: what the old ones produced goes (the models' own answers stay).
    ...bridgesReplaced(st, { columns: ['composed'], connection: st.attention.connection }),
  }));
  const activity = beginActivity('Training the bridges');
  let saver: TrainingSaver | undefined;
  let summary: TrainSummary | undefined;
  try {
    const composed = await ensureComposed({ fresh: !resume });
    saver = startSavingRun(composed, total, resume?.record);
    summary = await serial(() => api().train(settings, proxyCallback(onEvent)));
    summary = { ...summary, steps: summary.steps + offset };
    const status = summary.stopped === 'done' ? 'done' : summary.stopped === 'cancelled' ? 'stopped' : 'error';
    patchTraining({
      status,
      summary,
      step: summary.steps,
      error: summary.stopped === 'non-finite' ? (summary.message ?? 'The loss stopped being a finite number.') : undefined,
    });
    if (summary.steps > 0) patchComposition({ trained: true, source: { kind: 'training' } });
  } catch (e) {
    if (isTraining(getState().training)) patchTraining({ status: 'error', error: messageOf(e) });
  } finally {
    activity.end();
  }
  await refreshKernelUsage();
  // After the chart has its last point; a worker that died leaves the last checkpoint as it was.
  if (saver && summary) await saver.finish(summary, summary.steps);

  function onEvent(raw: TrainEvent): void {
    if (!isTraining(getState().training)) return; // a late event after a crash or an error
    const e: TrainEvent = offset > 0 ? { ...raw, step: raw.step + offset, steps: raw.steps + offset } : raw;
    const stage = e.stage === 'done' ? 'evaluating' : e.stage;
    if (e.stage === 'caching' && e.cacheTotal && !e.cacheReused) activity.update(e.cacheDone ?? 0, e.cacheTotal, 'Caching the frozen models\' work');
    if (e.stage === 'training') activity.update(e.step, e.steps, 'Training the bridges');
    if (e.step > 0) patchComposition({ trained: true, source: { kind: 'training' } });
    setState((st) => {
      const t = st.training;
      const losses = e.loss !== undefined && Number.isFinite(e.loss) && t.losses.at(-1)?.[0] !== e.step ? [...t.losses, [e.step, e.loss] as [number, number]] : t.losses;
      const accuracy =
        e.heldOutAccuracy !== undefined && t.accuracy.at(-1)?.[0] !== e.step
          ? [...t.accuracy, [e.step, e.heldOutAccuracy] as [number, number]]
          : t.accuracy;
      return {
        training: {
          ...t,
          status: stage,
          step: e.step,
          steps: e.steps,
          loss: e.loss ?? t.loss,
          stepsPerSecond: e.stepsPerSecond ?? t.stepsPerSecond,
          etaSeconds: e.etaSeconds ?? t.etaSeconds,
          cacheDone: e.cacheDone ?? t.cacheDone,
          cacheTotal: e.cacheTotal ?? t.cacheTotal,
          cacheReused: e.stage === 'caching' ? e.cacheReused === true : t.cacheReused,
          losses,
          accuracy,
        },
      };
    });
    if (e.stage === 'training') saver?.progress(e.step);
  }
}

// The training loop shared by bridge training and the built-in models' training: seeded
// batches, AdamW with warm-up + cosine decay, global-norm clipping, progress, cancel, and a
// stop on a non-finite loss that never applies the bad update (the weights stay the last good ones).
import { tf } from '../model/tf';
import { AdamW, clipByGlobalNorm } from './adamw';
import { learningRate } from './schedule';
import { makeRng } from '../tasks/rng';

export interface TrainProgress {
  step: number; // steps done
  steps: number;
  loss: number; // mean loss since the last report
  lr: number;
  stepsPerSecond: number;
  etaSeconds: number;
  metrics?: Record<string, number>; // from evaluate, when it ran at this step
}

export interface TrainLoopOptions {
  params: tf.Variable[];
  numExamples: number;
  batchSize: number;
  steps: number;
  lr: number;
  warmup?: number; // default min(100, steps/10)
  weightDecay?: number;
  clip?: number; // default 1
  seed: number;
  /** Scalar loss of the examples with these indices; called inside tf.variableGrads. */
  loss: (indices: number[]) => tf.Scalar;
  signal?: AbortSignal;
  progressEvery?: number; // steps; default 10
  onProgress?: (p: TrainProgress) => void;
  evalEvery?: number; // steps; 0 = never
  evaluate?: (step: number) => Record<string, number> | Promise<Record<string, number>>;
}

export type StopReason = 'done' | 'cancelled' | 'non-finite';

export interface TrainResult {
  steps: number;
  losses: number[]; // one per step
  stopped: StopReason;
  message?: string;
  seconds: number;
  metrics: { step: number; values: Record<string, number> }[];
}

const nextTick = () => new Promise<void>((r) => setTimeout(r, 0));

export async function trainLoop(o: TrainLoopOptions): Promise<TrainResult> {
  const rng = makeRng(o.seed);
  const opt = new AdamW(o.params, { weightDecay: o.weightDecay ?? 0 });
  const warmup = o.warmup ?? Math.min(100, Math.floor(o.steps / 10));
  const every = o.progressEvery ?? 10;
  const losses: number[] = [];
  const metrics: TrainResult['metrics'] = [];
  const t0 = performance.now();
  let order: number[] = [];
  let cursor = 0;
  // Epochs of a seeded permutation: every example is seen once before any twice.
  const nextIndices = () => {
    const out: number[] = [];
    while (out.length < Math.min(o.batchSize, o.numExamples)) {
      if (cursor >= order.length) {
        order = rng.shuffle(Array.from({ length: o.numExamples }, (_, i) => i));
        cursor = 0;
      }
      out.push(order[cursor++]);
    }
    return out;
  };
  let stopped: StopReason = 'done';
  let message: string | undefined;
  let windowLoss = 0;
  let windowSteps = 0;
  try {
    for (let step = 0; step < o.steps; step++) {
      if (o.signal?.aborted) {
        stopped = 'cancelled';
        break;
      }
      const indices = nextIndices();
      const lr = learningRate(step, { lr: o.lr, steps: o.steps, warmup });
      const { value, grads } = tf.variableGrads(() => o.loss(indices), o.params);
      const ordered = o.params.map((p) => grads[p.name]);
      const clipped = clipByGlobalNorm(ordered, o.clip ?? 1);
      // Asynchronous reads: WebGPU has no real synchronous readback (tfjs goes through a canvas,
      // which is slow and, on SwiftShader in a worker, reads zeros and then loses the device).
      const [lossData, normData] = await Promise.all([value.data(), clipped.norm.data()]);
      const [lossValue, norm] = [lossData[0], normData[0]];
      if (!Number.isFinite(lossValue) || !Number.isFinite(norm)) {
        stopped = 'non-finite';
        message = `the loss became ${Number.isFinite(lossValue) ? 'finite but its gradient ' + norm : lossValue} at step ${step + 1}: the learning rate (${o.lr}) is probably too high; the weights are those of step ${step}`;
      } else {
        opt.apply(clipped.grads, lr);
        losses.push(lossValue);
        windowLoss += lossValue;
        windowSteps += 1;
      }
      value.dispose();
      Object.values(grads).forEach((g) => g.dispose());
      clipped.grads.forEach((g) => g.dispose());
      clipped.norm.dispose();
      if (stopped === 'non-finite') break;
      const done = step + 1;
      let evalValues: Record<string, number> | undefined;
      if (o.evaluate && o.evalEvery && (done % o.evalEvery === 0 || done === o.steps)) {
        evalValues = await o.evaluate(done);
        metrics.push({ step: done, values: evalValues });
      }
      if (o.onProgress && (done % every === 0 || done === o.steps || evalValues)) {
        const seconds = (performance.now() - t0) / 1000;
        const sps = done / seconds;
        o.onProgress({
          step: done,
          steps: o.steps,
          loss: windowLoss / Math.max(1, windowSteps),
          lr,
          stepsPerSecond: sps,
          etaSeconds: (o.steps - done) / sps,
          metrics: evalValues,
        });
        windowLoss = 0;
        windowSteps = 0;
      }
      await nextTick(); // lets an abort (or a UI message in a worker) through
    }
  } finally {
    opt.dispose();
  }
  return { steps: losses.length, losses, stopped, message, seconds: (performance.now() - t0) / 1000, metrics };
}

// The worker's Train: the settings checked, the frozen models' work kept from the last Train
// when it is the same (two models, layers, examples), the bridges trained by the core's
// trainComposition with held-out exact match between steps, and every stage reported as a
// TrainEvent. What it returns is the page's summary; what the bundle says of the training
// accumulates in the composition (Current).
import type { CausalLM } from '../model/causal-lm';
import type { Metrics, TrainingInfo } from '../calm/bundle';
import type { Composition } from '../calm/compose';
import type { EncodedExample } from '../train/batch';
import { buildFrozenCache, disposeFrozenCache, frozenCacheKey, trainComposition, type FrozenCache } from '../train/compose-train';
import { codecOf, columnContext, columnDecoder, compositionTokenizers, encodeForComposition, exactMatch } from '../pipeline/evaluate';
import { isAbort, notify, requireInteger } from './jobs';
import type { LoadedModel } from './registry';
import type { CompositionSettings, TrainEvent, TrainSettings, TrainSummary } from './protocol';

/** Held-out examples scored during training, at most: exact match decodes every one. */
export const HELD_OUT_CAP = 200;

/** The composition the worker holds, with what its bundle will say. */
export interface Current {
  settings: CompositionSettings;
  comp: Composition;
  anchor: LoadedModel;
  augment: LoadedModel;
  /** What composition.json will say about training and results (accumulates over train calls). */
  training?: TrainingInfo;
  metrics?: Metrics;
}

/**
 * The frozen models' work of the last training data (it depends on no bridge parameter), kept
 * for the next Train on the same two models, layers and examples. At most one is held.
 */
export class FrozenWork {
  private kept: { key: string; anchor: CausalLM; augment: CausalLM; cache: FrozenCache } | null = null;

  /** The cache of `data`: the kept one when it matches (reported at once as done, `reused`), else built now. */
  async of(
    cur: Current,
    data: EncodedExample[],
    padId: number,
    progress: (done: number, total: number, reused: boolean) => void,
    signal: AbortSignal,
  ): Promise<FrozenCache> {
    const key = frozenCacheKey(cur.comp, data, padId);
    const kept = this.kept;
    if (kept && kept.key === key && kept.anchor === cur.anchor.model && kept.augment === cur.augment.model) {
      progress(data.length, data.length, true);
      return kept.cache;
    }
    this.drop();
    progress(0, data.length, false);
    const cache = await buildFrozenCache(cur.comp, data, padId, (done, total) => progress(done, total, false), signal);
    this.kept = { key, anchor: cur.anchor.model, augment: cur.augment.model, cache };
    return cache;
  }

  /** Drops the kept work unless it is of these two models. */
  keepOnlyFor(anchor: CausalLM, augment: CausalLM): void {
    if (this.kept && (this.kept.anchor !== anchor || this.kept.augment !== augment)) this.drop();
  }

  drop(): void {
    if (this.kept) disposeFrozenCache(this.kept.cache);
    this.kept = null;
  }
}

/** Trains the bridges of `cur` (every bridge trains: the ablation switches apply at inference only). */
export async function trainJob(
  cur: Current,
  settings: TrainSettings,
  onEvent: (e: TrainEvent) => void,
  frozen: FrozenWork,
  signal: AbortSignal,
): Promise<TrainSummary> {
  const steps = requireInteger('steps', settings.steps, 1, 1_000_000);
  const batch = requireInteger('the batch size', settings.batch, 1, 4096);
  const seed = requireInteger('the training seed', settings.seed, 0);
  const evalEvery = requireInteger('evalEvery', settings.evalEvery, 0);
  if (!(typeof settings.lr === 'number' && settings.lr > 0 && Number.isFinite(settings.lr))) {
    throw new Error(`the learning rate must be a positive number, found ${JSON.stringify(settings.lr)}`);
  }
  if (!Array.isArray(settings.examples) || settings.examples.length === 0) {
    throw new Error('there are no training examples');
  }
  const tokenizer = cur.anchor.tokenizer;
  const codec = codecOf(tokenizer);
  const comp = cur.comp;
  const maxLength = columnContext(comp, 'composed');
  const tokenizers = compositionTokenizers(comp, tokenizer, cur.augment.tokenizer);
  const data = encodeForComposition(comp, tokenizers, settings.examples);
  const heldOut = (settings.heldOut ?? []).slice(0, HELD_OUT_CAP);
  const emit = (e: TrainEvent) => notify(onEvent, e);
  const t0 = performance.now();
  let heldOutAccuracy: number | undefined;
  let result: Awaited<ReturnType<typeof trainComposition>> | null = null;

  comp.disabled.clear();
  try {
    const padId = tokenizer.padId ?? 0;
    const cache = await frozen.of(
      cur,
      data,
      padId,
      (done, total, reused) => emit({ stage: 'caching', step: 0, steps, cacheDone: done, cacheTotal: total, ...(reused ? { cacheReused: true } : {}) }),
      signal,
    );
    result = await trainComposition(comp, data, {
      cache,
      batchSize: batch,
      steps,
      lr: settings.lr,
      seed,
      padId,
      signal,
      progressEvery: 1,
      evalEvery: heldOut.length > 0 ? evalEvery : 0,
      evaluate: async (step): Promise<Record<string, number>> => {
        if (signal.aborted) return {};
        emit({ stage: 'evaluating', step, steps });
        let correct: number;
        try {
          correct = (await exactMatch(columnDecoder(comp, 'composed', tokenizers), codec, heldOut, { maxLength, signal })).correct;
        } catch (e) {
          // Stopped mid-evaluation: the loop ends before the next step. Only our own signal
          // counts: a lost WebGPU device rejects its reads with an AbortError too.
          if (isAbort(e) && signal.aborted) return {};
          throw e;
        }
        heldOutAccuracy = correct / heldOut.length;
        return { heldOut: heldOutAccuracy };
      },
      onProgress: (p) =>
        emit({
          stage: 'training',
          step: p.step,
          steps: p.steps,
          loss: p.loss,
          stepsPerSecond: p.stepsPerSecond,
          etaSeconds: p.etaSeconds,
          heldOutAccuracy: p.metrics?.heldOut,
        }),
    });
  } catch (e) {
    // Stopped while caching: no step was taken. A lost WebGPU device also rejects its reads
    // (mapAsync) with an AbortError; that is a fault, not a stop, and must reach the page
    // as one (the run stays resumable from its last checkpoint).
    if (!(isAbort(e) && signal.aborted)) throw e;
  }

  const seconds = (performance.now() - t0) / 1000;
  const summary: TrainSummary = result
    ? { stopped: result.stopped, message: result.message, steps: result.steps, seconds, finalLoss: result.losses.at(-1), heldOutAccuracy }
    : { stopped: 'cancelled', steps: 0, seconds, heldOutAccuracy };
  emit({ stage: 'done', step: summary.steps, steps, loss: summary.finalLoss, heldOutAccuracy });
  const before = cur.training ?? {};
  cur.training = {
    ...before,
    steps: (before.steps ?? 0) + summary.steps,
    lr: settings.lr,
    batch,
    seed,
    examples: data.length,
    seconds: Math.round(((before.seconds ?? 0) + seconds) * 10) / 10,
    init_seed: cur.settings.seed,
  };
  cur.metrics = {
    ...cur.metrics,
    ...(summary.finalLoss !== undefined ? { final_loss: summary.finalLoss } : {}),
    ...(heldOutAccuracy !== undefined ? { held_out_accuracy: heldOutAccuracy, held_out_n: heldOut.length } : {}),
  };
  return summary;
}

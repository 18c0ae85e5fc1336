// Bridge training (docs/design.md § CALM): only bridge parameters change. The frozen work — the augmenting
// model's states at the connected layers and the anchor's stream up to the first connected
// block — depends on no trainable parameter, so it is computed once per example, not per step.
import { tf } from '../model/tf';
import { Composition } from '../calm/compose';
import { bridgeVariables, needsInputStats, setInputStats } from '../calm/bridge';
import { MomentAccumulator, whiteningMatrix } from '../calm/whiten';
import { augmentLength, makeBatch, disposeBatch, tailLength, type EncodedExample } from './batch';
import { maskedCrossEntropy } from './loss';
import { trainLoop, type TrainLoopOptions, type TrainResult } from './loop';

export interface ComposeTrainOptions
  extends Omit<TrainLoopOptions, 'params' | 'numExamples' | 'loss' | 'batchSize'> {
  batchSize: number;
  padId: number;
  /** Cache the frozen work (default). false recomputes it every step: the reference path. */
  cacheFrozen?: boolean;
  /**
   * The frozen work of these very examples, built earlier by buildFrozenCache (a second run on
   * the same models, layers and data); the caller keeps it and disposes it.
   */
  cache?: FrozenCache;
  /** Called while caching, with examples done and total. */
  onCacheProgress?: (done: number, total: number) => void;
}

/** The frozen work of every example, padded to one length T: rows are gathered per batch. */
export interface FrozenCache {
  T: number;
  /** Augmenting positions: T, or across tokenizers the longest augmenting side. */
  S: number;
  /** Across tokenizers: tail positions after S (src/calm/align.ts layTails), the most any example needs. */
  slots: number;
  prefix: tf.Tensor3D; // [N, T, D_a]: the anchor's stream after block firstAnchorLayer
  states: Map<number, tf.Tensor3D>; // augmenting layer → [N, S + slots, D_g]
  bytes: number;
  /**
   * Whitening statistics per augmenting layer, measured from these states the first time a
   * Train needs them: they depend on nothing trainable, so a second Train on the same cache
   * reuses them instead of reading every state again.
   */
  inputStats: Map<number, { mean: Float64Array; whiten: Float64Array }>;
}

const CACHE_CHUNK = 64;

/** Throws when the data's form does not match the composition's (aligned data for a composition across tokenizers, plain ids otherwise). */
export function checkAligned(comp: Composition, data: EncodedExample[]): void {
  const aligned = data.length > 0 && data.every((e) => e.augment !== undefined);
  if (data.length > 0 && aligned !== (comp.alignment !== undefined)) {
    throw new Error(
      comp.alignment
        ? 'this composition aligns two tokenizers: its examples need each model\'s own tokenization (encodeAligned)'
        : 'these examples carry an augmenting tokenization, but the two models share one tokenizer',
    );
  }
}

/** The lengths every batch of `data` is padded to: anchor input positions T, augmenting positions S and tail positions after S. */
function paddedLengths(data: EncodedExample[]): { T: number; S: number; slots: number } {
  const T = Math.max(...data.map((e) => e.ids.length)) - 1;
  return data[0]?.augment ? { T, S: augmentLength(data), slots: tailLength(data) } : { T, S: T, slots: 0 };
}
/** Examples per chunk when the whitening statistics read the frozen cache. */
const STATS_CHUNK = 1024;

export async function buildFrozenCache(
  comp: Composition,
  data: EncodedExample[],
  padId: number,
  onProgress?: (done: number, total: number) => void,
  signal?: AbortSignal,
): Promise<FrozenCache> {
  checkAligned(comp, data);
  const lengths = paddedLengths(data);
  const { T, S, slots } = lengths;
  const prefixes: tf.Tensor3D[] = [];
  const states = new Map<number, tf.Tensor3D[]>(comp.augmentLayers.map((g) => [g, []]));
  try {
    for (let s = 0; s < data.length; s += CACHE_CHUNK) {
      if (signal?.aborted) throw new DOMException('training cancelled', 'AbortError');
      const batch = makeBatch(data.slice(s, s + CACHE_CHUNK), padId, lengths);
      prefixes.push(comp.anchorPrefix(batch.ids));
      const aug = batch.augment;
      (aug ? comp.augmentStatesWithTails(aug.ids, aug.tails) : comp.augmentStates(batch.ids)).forEach((t, g) => states.get(g)!.push(t));
      disposeBatch(batch);
      onProgress?.(Math.min(data.length, s + CACHE_CHUNK), data.length);
      await new Promise((r) => setTimeout(r, 0));
    }
    const cat = (ts: tf.Tensor3D[]) => (ts.length === 1 ? ts[0] : (tf.concat(ts, 0) as tf.Tensor3D));
    const cache: FrozenCache = { T, S, slots, prefix: cat(prefixes), states: new Map(), bytes: 0, inputStats: new Map() };
    states.forEach((ts, g) => cache.states.set(g, cat(ts)));
    cache.bytes = 4 * (cache.prefix.size + [...cache.states.values()].reduce((n, t) => n + t.size, 0));
    if (prefixes.length > 1) prefixes.forEach((t) => t.dispose());
    states.forEach((ts) => ts.length > 1 && ts.forEach((t) => t.dispose()));
    return cache;
  } catch (e) {
    prefixes.forEach((t) => t.dispose());
    states.forEach((ts) => ts.forEach((t) => t.dispose()));
    throw e;
  }
}

export function disposeFrozenCache(c: FrozenCache): void {
  c.prefix.dispose();
  c.states.forEach((t) => t.dispose());
}

/**
 * Mean and covariance of the augmenting states at `layers` over the real (non-padding) input
 * positions of `data`: from the cache when there is one, else in one pass of the augmenting
 * model. Each chunk's shifted sums and Gram matrix XᵀX come from the device (float32 within a
 * chunk) and are added up in float64 (MomentAccumulator), around the first chunk's mean.
 */
export async function augmentStateMoments(
  comp: Composition,
  data: EncodedExample[],
  padId: number,
  layers: number[],
  cache?: FrozenCache,
  signal?: AbortSignal,
): Promise<Map<number, { mean: Float64Array; cov: Float64Array }>> {
  const lengths = cache ?? paddedLengths(data);
  const { S } = lengths;
  const Dg = comp.augment.config.nEmbd;
  const acc = new Map(layers.map((g) => [g, new MomentAccumulator(Dg)]));
  // Larger chunks than the cache's: each chunk's reads cost far more than its arithmetic
  // (64-example chunks took 40 s over 10,000 examples on wasm, mostly waiting on reads).
  const chunk = cache ? STATS_CHUNK : CACHE_CHUNK;
  for (let s = 0; s < data.length; s += chunk) {
    if (signal?.aborted) throw new DOMException('training cancelled', 'AbortError');
    const n = Math.min(chunk, data.length - s);
    const batch = makeBatch(data.slice(s, s + n), padId, lengths);
    // the whole texts' states only: a tail repeats a prefix's text
    const states = cache
      ? new Map(layers.map((g) => [g, tf.slice(cache.states.get(g)!, [s, 0, 0], [n, S, -1]) as tf.Tensor3D]))
      : comp.augmentStates(batch.augment?.ids ?? batch.ids);
    try {
      for (const g of layers) {
        const a = acc.get(g)!;
        const m = tf.reshape(batch.augment?.real ?? batch.real, [n * S, 1]); // [n·S, 1]: 1 at real augmenting positions
        const x = tf.reshape(states.get(g)!, [n * S, Dg]); // [n·S, D_g]
        try {
          const count = await readScalar(tf.sum(m));
          if (count === 0) continue;
          if (!a.shiftVector) {
            const mean = tf.tidy(() => tf.div(tf.sum(tf.mul(x, m), 0), count)); // [D_g]
            a.setShift(await readAndDispose(mean));
          }
          const shift = Float32Array.from(a.shiftVector!);
          const [sum, outer] = tf.tidy(() => {
            const xc = tf.mul(tf.sub(x, tf.tensor1d(shift)), m); // [n·T, D_g], padding rows zero
            return [tf.sum(xc, 0), tf.matMul(xc, xc, true, false)]; // [D_g], [D_g, D_g]
          });
          a.addTotals(count, await readAndDispose(sum), await readAndDispose(outer));
        } finally {
          tf.dispose([m, x]);
        }
      }
    } finally {
      states.forEach((t) => t.dispose());
      disposeBatch(batch);
    }
    await new Promise((r) => setTimeout(r, 0));
  }
  return new Map([...acc].map(([g, a]) => [g, a.result()]));
}

/** The values of `t`, read asynchronously (every backend), then `t` freed. */
async function readAndDispose(t: tf.Tensor): Promise<Float32Array> {
  try {
    return (await t.data()) as Float32Array;
  } finally {
    t.dispose();
  }
}

async function readScalar(t: tf.Tensor): Promise<number> {
  return (await readAndDispose(t))[0];
}

/**
 * Gives every bridge that still has the placeholder whitening of initBridge (inputNorm
 * 'whiten') its statistics, measured on `data` at its augmenting layer: inMean = μ and
 * inWhiten = Σ^{-1/2}/√D_g. Bridges that hold statistics already (from a bundle, a
 * checkpoint, an earlier run) keep them. The one function the CLI, the worker and `repro kv`
 * all reach, through trainComposition. Returns how many bridges it fitted.
 */
export async function fitInputStats(
  comp: Composition,
  data: EncodedExample[],
  padId: number,
  cache?: FrozenCache,
  signal?: AbortSignal,
): Promise<number> {
  const todo = comp.bridges.map((b, i) => (needsInputStats(b) ? i : -1)).filter((i) => i >= 0);
  if (todo.length === 0 || data.length === 0) return 0;
  const layers = [...new Set(todo.map((i) => comp.spec.connections[i][1]))].sort((a, b) => a - b);
  const stats = new Map(cache?.inputStats);
  const missing = layers.filter((g) => !stats.has(g));
  if (missing.length > 0) {
    const moments = await augmentStateMoments(comp, data, padId, missing, cache, signal);
    const Dg = comp.augment.config.nEmbd;
    moments.forEach((m, g) => {
      const s = { mean: m.mean, whiten: whiteningMatrix(m.cov, Dg) };
      stats.set(g, s);
      cache?.inputStats.set(g, s);
    });
  }
  for (const i of todo) {
    const s = stats.get(comp.spec.connections[i][1])!;
    setInputStats(comp.bridges[i], s.mean, s.whiten);
  }
  return todo.length;
}

/** The composed loss of a batch of examples, from the cache or recomputed. */
export function compositionLoss(
  comp: Composition,
  data: EncodedExample[],
  indices: number[],
  padId: number,
  T: number,
  cache?: FrozenCache,
  S?: number,
): tf.Scalar {
  return tf.tidy(() => {
    const batch = makeBatch(indices.map((i) => data[i]), padId, { T, S: cache?.S ?? S, slots: cache?.slots });
    const aug = batch.augment;
    const opts = aug ? { keyLimit: aug.keyLimit, keyTail: aug.tails.keyTail } : {};
    let logits: tf.Tensor3D;
    if (cache) {
      const rows = tf.tensor1d(indices, 'int32');
      const states = new Map<number, tf.Tensor3D>();
      cache.states.forEach((t, g) => states.set(g, tf.gather(t, rows)));
      logits = comp.forwardFromCache(tf.gather(cache.prefix, rows), states, opts);
    } else {
      logits = aug ? comp.forwardAligned(batch.ids, aug.ids, { keyLimit: aug.keyLimit, tails: aug.tails }) : comp.forward(batch.ids);
    }
    const loss = maskedCrossEntropy(logits, batch.targets, batch.mask);
    disposeBatch(batch);
    return loss;
  });
}

export async function trainComposition(
  comp: Composition,
  data: EncodedExample[],
  opts: ComposeTrainOptions,
): Promise<TrainResult & { cacheBytes: number; cacheSeconds: number }> {
  const t0 = performance.now();
  const owned = opts.cache === undefined;
  const cache = opts.cache ?? (opts.cacheFrozen === false ? undefined : await buildFrozenCache(comp, data, opts.padId, opts.onCacheProgress, opts.signal));
  checkAligned(comp, data);
  const { T, S } = cache ?? paddedLengths(data);
  try {
    // before step 0; frozen from then on (they are not among the params below)
    await fitInputStats(comp, data, opts.padId, cache, opts.signal);
    const cacheSeconds = (performance.now() - t0) / 1000;
    const result = await trainLoop({
      ...opts,
      params: comp.bridges.flatMap(bridgeVariables),
      numExamples: data.length,
      loss: (indices) => compositionLoss(comp, data, indices, opts.padId, T, cache, S),
    });
    return { ...result, cacheBytes: cache?.bytes ?? 0, cacheSeconds };
  } finally {
    if (cache && owned) disposeFrozenCache(cache);
  }
}

/**
 * What the frozen work of `data` depends on besides the two models: the first connected anchor
 * layer, the connected augmenting layers, the padding id and every example's token ids. Equal
 * keys (on the same two models) mean an equal cache.
 */
export function frozenCacheKey(comp: Composition, data: EncodedExample[], padId: number): string {
  // FNV-1a over the ids, each example's length first, twice (two bases) for a 64-bit fingerprint.
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  const mix = (v: number) => {
    h1 = Math.imul(h1 ^ v, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ (v + 0x9e3779b9), 0x01000193) >>> 0;
  };
  for (const e of data) {
    mix(e.ids.length);
    for (const id of e.ids) mix(id);
    if (e.augment) {
      mix(e.augment.ids.length);
      for (const id of e.augment.ids) mix(id);
      for (const l of e.augment.keyLimit) mix(l);
      for (const i of e.augment.tailOf) mix(i);
      for (const t of e.augment.tails) {
        mix(t.shared);
        mix(t.ids.length);
        for (const id of t.ids) mix(id);
      }
    }
  }
  return JSON.stringify([comp.firstAnchorLayer, comp.augmentLayers, padId, data.length, h1, h2]);
}

// Bridge training (DESIGN §1): only bridge parameters change. The frozen work — the augmenting
// model's states at the connected layers and the anchor's stream up to the first connected
// block — depends on no trainable parameter, so it is computed once per example, not per step.
import { tf } from '../model/tf';
import { Composition } from '../calm/compose';
import { bridgeVariables } from '../calm/bridge';
import { makeBatch, disposeBatch, type EncodedExample } from './batch';
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
  prefix: tf.Tensor3D; // [N, T, D_a]: the anchor's stream after block firstAnchorLayer
  states: Map<number, tf.Tensor3D>; // augmenting layer → [N, T, D_g]
  bytes: number;
}

const CACHE_CHUNK = 64;

export async function buildFrozenCache(
  comp: Composition,
  data: EncodedExample[],
  padId: number,
  onProgress?: (done: number, total: number) => void,
  signal?: AbortSignal,
): Promise<FrozenCache> {
  const T = Math.max(...data.map((e) => e.ids.length)) - 1;
  const prefixes: tf.Tensor3D[] = [];
  const states = new Map<number, tf.Tensor3D[]>(comp.augmentLayers.map((g) => [g, []]));
  try {
    for (let s = 0; s < data.length; s += CACHE_CHUNK) {
      if (signal?.aborted) throw new DOMException('training cancelled', 'AbortError');
      const batch = makeBatch(data.slice(s, s + CACHE_CHUNK), padId, T);
      prefixes.push(comp.anchorPrefix(batch.ids));
      comp.augmentStates(batch.ids).forEach((t, g) => states.get(g)!.push(t));
      disposeBatch(batch);
      onProgress?.(Math.min(data.length, s + CACHE_CHUNK), data.length);
      await new Promise((r) => setTimeout(r, 0));
    }
    const cat = (ts: tf.Tensor3D[]) => (ts.length === 1 ? ts[0] : (tf.concat(ts, 0) as tf.Tensor3D));
    const cache: FrozenCache = { T, prefix: cat(prefixes), states: new Map(), bytes: 0 };
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

/** The composed loss of a batch of examples, from the cache or recomputed. */
export function compositionLoss(
  comp: Composition,
  data: EncodedExample[],
  indices: number[],
  padId: number,
  T: number,
  cache?: FrozenCache,
): tf.Scalar {
  return tf.tidy(() => {
    const batch = makeBatch(indices.map((i) => data[i]), padId, T);
    let logits: tf.Tensor3D;
    if (cache) {
      const rows = tf.tensor1d(indices, 'int32');
      const states = new Map<number, tf.Tensor3D>();
      cache.states.forEach((t, g) => states.set(g, tf.gather(t, rows)));
      logits = comp.forwardFromCache(tf.gather(cache.prefix, rows), states);
    } else {
      logits = comp.forward(batch.ids);
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
  const cacheSeconds = (performance.now() - t0) / 1000;
  const T = cache?.T ?? Math.max(...data.map((e) => e.ids.length)) - 1;
  try {
    const result = await trainLoop({
      ...opts,
      params: comp.bridges.flatMap(bridgeVariables),
      numExamples: data.length,
      loss: (indices) => compositionLoss(comp, data, indices, opts.padId, T, cache),
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
  }
  return JSON.stringify([comp.firstAnchorLayer, comp.augmentLayers, padId, data.length, h1, h2]);
}

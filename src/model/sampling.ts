// Decoding: one interface for "feed tokens, get next-token logits", so the same greedy and
// sampling loops (src/pipeline/decode.ts) drive a single model and a CALM composition, with or
// without KV caches; and the choice of one token from one row of logits.
import { tf } from './tf';
import { disposeCache, type CausalLM, type KVCache } from './causal-lm';

/**
 * Keeps the first n positions of a KV cache (k, v per block [B, H, S, hd] → [B, H, n, hd]); the
 * old tensors are disposed. Decoding across tokenizers re-tokenizes the text and recomputes the
 * positions after the first token that changed (docs/design.md § Across tokenizers).
 */
export function truncateCache(cache: KVCache, n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > cache.length) throw new RangeError(`cannot keep ${n} of ${cache.length} cached positions`);
  if (n === cache.length) return;
  const cut = (ts: tf.Tensor4D[]) =>
    ts.map((t) => {
      const kept = tf.slice(t, [0, 0, 0, 0], [-1, -1, n, -1]) as tf.Tensor4D;
      t.dispose();
      return kept;
    });
  cache.k = cut(cache.k);
  cache.v = cut(cache.v);
  cache.length = n;
}

export interface Decoder {
  /** Feeds the next tokens of every row `[B][T_new]`; returns the last position's logits `[B, V]`. */
  feed(ids: number[][]): tf.Tensor2D;
  dispose(): void;
}

/** A single model with a KV cache: each feed runs only the new positions. */
export function cachedDecoder(model: CausalLM, B: number): Decoder {
  const cache: KVCache = model.newCache(B);
  return {
    feed(ids) {
      return tf.tidy(() => {
        const x = tf.tensor2d(ids, [B, ids[0].length], 'int32');
        const r = model.forward(x, {}, cache);
        r.last.dispose();
        const T = r.logits!.shape[1];
        return tf.squeeze(tf.slice(r.logits!, [0, T - 1, 0], [-1, 1, -1]), [1]) as tf.Tensor2D;
      });
    },
    dispose: () => disposeCache(cache),
  };
}

/** A single model that recomputes the whole sequence at every step (the reference; benchmarks). */
export function recomputeDecoder(model: CausalLM, B: number): Decoder {
  const seq: number[][] = Array.from({ length: B }, () => []);
  return {
    feed(ids) {
      ids.forEach((row, b) => seq[b].push(...row));
      return tf.tidy(() => {
        const r = model.forward(tf.tensor2d(seq, [B, seq[0].length], 'int32'));
        const T = r.logits!.shape[1];
        return tf.squeeze(tf.slice(r.logits!, [0, T - 1, 0], [-1, 1, -1]), [1]) as tf.Tensor2D;
      });
    },
    dispose() {},
  };
}

export interface SampleOptions {
  temperature?: number; // 0 = greedy
  topK?: number; // 0 = all
  random?: () => number; // [0, 1)
}

/** Picks a token from one row of logits; returns it and its probability under the sampling distribution. */
export function sampleToken(logits: Float32Array, opts: SampleOptions = {}): { id: number; prob: number } {
  const t = opts.temperature ?? 0;
  const V = logits.length;
  let order = Array.from({ length: V }, (_, i) => i).sort((a, b) => logits[b] - logits[a]);
  if (t <= 0) {
    // greedy: report the softmax probability of the argmax
    const max = logits[order[0]];
    let z = 0;
    for (let i = 0; i < V; i++) z += Math.exp(logits[i] - max);
    return { id: order[0], prob: 1 / z };
  }
  if (opts.topK && opts.topK > 0) order = order.slice(0, opts.topK);
  const max = logits[order[0]];
  const w = order.map((i) => Math.exp((logits[i] - max) / t));
  const z = w.reduce((a, b) => a + b, 0);
  let r = (opts.random ?? Math.random)() * z;
  for (let j = 0; j < order.length; j++) {
    r -= w[j];
    if (r <= 0) return { id: order[j], prob: w[j] / z };
  }
  return { id: order[order.length - 1], prob: w[order.length - 1] / z };
}

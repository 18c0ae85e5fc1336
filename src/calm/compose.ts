// The composed forward over two frozen models (docs/design.md § CALM): the augmenting model runs on the
// same token ids; after each connected anchor block, the bridges of that block read the
// anchor's stream and the augmenting states and add their outputs to the stream.
// Several bridges on one anchor layer all read the same state (before any adds); their
// outputs are summed — the same rule as tests/golden/calm_ref.py.
// Across tokenizers (docs/design.md § Across tokenizers) the augmenting model reads its own ids
// [B, S] and a key limit per anchor token says which of them each bridge query may read.
// Legend: B batch, T anchor positions, S augmenting positions, D_a / D_g anchor / augmenting width.
import { tf } from '../model/tf';
import { disposeCache, takeHidden, type BlockHook, type CausalLM, type KVCache } from '../model/causal-lm';
import type { Decoder } from '../model/sampling';
import { bridgeKeysValues, bridgeOutput, bridgeQueries, positionScoreBias, queryInput } from './bridge';
import type { BridgeWeights } from './types';
import type { CompositionSpec } from './spec';
import type { AlignmentRule, KeyTail, TailLayout, TailRun } from './align';

export interface ComposeOptions {
  /** [B, S] 1 for real tokens, 0 for padding: bridges never read padded augmenting positions. */
  keyMask?: tf.Tensor2D;
  /**
   * Across tokenizers: [B|1][T] per anchor position (the new ones, with a cache), how many
   * augmenting tokens it may read (src/calm/align.ts). Absent: the causal rule by position.
   */
  keyLimit?: readonly (readonly number[])[];
  /** Across tokenizers, with keyLimit: [B|1][T] each anchor position's tail keys (src/calm/align.ts TailLayout). */
  keyTail?: readonly (readonly KeyTail[])[];
}

/** A bridge's keys and values [B, h, S, hd]. */
export type KV = { k: tf.Tensor4D; v: tf.Tensor4D };

export class Composition {
  /** Bridges switched off at inference (ablation), by index into the connections. */
  readonly disabled = new Set<number>();

  constructor(
    readonly anchor: CausalLM,
    readonly augment: CausalLM,
    readonly spec: CompositionSpec,
    readonly bridges: BridgeWeights[],
    /**
     * Set when the two models tokenize differently: the augmenting model reads its own
     * tokenization of the text, aligned by this rule (docs/design.md § Across tokenizers).
     * Absent: both read the same ids.
     */
    readonly alignment?: AlignmentRule,
  ) {
    if (bridges.length !== spec.connections.length) {
      throw new Error(`${spec.connections.length} connections but ${bridges.length} bridges`);
    }
  }

  /** The distinct augmenting layers the bridges read, ascending. */
  get augmentLayers(): number[] {
    return [...new Set(this.spec.connections.map(([, g]) => g))].sort((a, b) => a - b);
  }

  /** The lowest connected anchor layer: the stream up to its output depends on no bridge. */
  get firstAnchorLayer(): number {
    return Math.min(...this.spec.connections.map(([a]) => a));
  }

  /**
   * The augmenting model's hidden states at the connected layers: ids [B, T] →
   * layer → [B, T, D_g]. Runs only the blocks it needs.
   */
  augmentStates(ids: tf.Tensor2D): Map<number, tf.Tensor3D> {
    const taps = this.augmentTaps();
    return this.withFinalNorm(takeHidden(this.augment.forward(ids, { taps, to: Math.max(0, ...taps) + 1, noHead: true })));
  }

  /**
   * The augmenting states of tails (docs/design.md § Across tokenizers): run `run` continues the
   * first `run.shared` whole-text tokens of row run.row — whose keys and values `cache` [B, …]
   * holds — with its tail, and the tail's states land at key positions run.start − S … of that
   * row → layer → [B, slots, D_g], zero where no tail sits. The tails of equal shared length and
   * tail length go through together, reading the cache cut to their shared tokens: only tail
   * tokens run. The cache's depth (its blocks) is the depth every tail forward runs to.
   */
  tailStates(runs: readonly TailRun[], cache: KVCache, S: number, slots: number): Map<number, tf.Tensor3D> {
    const layers = this.augmentLayers;
    const Dg = this.augment.config.nEmbd;
    const B = cache.k[0].shape[0];
    const to = cache.k.length;
    const parts = new Map<number, tf.Tensor2D[]>(layers.map((g) => [g, []])); // [tail tokens of a group, D_g]
    const index = new Int32Array(B * slots); // (row, slot) → row of the stacked tail states + 1; 0: zeros
    const groups = new Map<string, TailRun[]>();
    for (const r of runs) {
      const key = `${r.shared}:${r.ids.length}`;
      const group = groups.get(key);
      if (group) group.push(r);
      else groups.set(key, [r]);
    }
    let stacked = 0;
    for (const group of groups.values()) {
      const [k, n] = [group[0].shared, group[0].ids.length];
      group.forEach((r) => {
        for (let i = 0; i < n; i++) index[r.row * slots + r.start - S + i] = ++stacked;
      });
      // stacked rows are group-major then token: the gather below reads [nb, n] row by row
      const got = tf.tidy(() => {
        const rows = tf.tensor1d(group.map((r) => r.row), 'int32');
        const cut = (ts: tf.Tensor4D[]) => ts.map((t) => tf.slice(tf.gather(t, rows), [0, 0, 0, 0], [-1, -1, k, -1]) as tf.Tensor4D); // [nb, H, k, hd]
        const sub: KVCache = { k: cut(cache.k), v: cut(cache.v), length: k };
        const ids = tf.tensor2d(group.flatMap((r) => r.ids), [group.length, n], 'int32');
        const states = this.withFinalNorm(takeHidden(this.augment.forward(ids, { taps: this.augmentTaps(), to, noHead: true }, sub))); // layer → [nb, n, D_g]
        const out = layers.map((g) => tf.reshape(states.get(g)!, [group.length * n, Dg]) as tf.Tensor2D);
        [...sub.k, ...sub.v].forEach((t) => t.dispose());
        return out;
      });
      layers.forEach((g, i) => parts.get(g)!.push(got[i]));
    }
    const at = tf.tensor1d(index, 'int32'); // [B·slots]
    const out = new Map(
      layers.map((g) => {
        const placed = tf.tidy(() => {
          const all = tf.concat([tf.zeros([1, Dg]), ...parts.get(g)!], 0); // [1 + tail tokens, D_g]
          return tf.reshape(tf.gather(all, at), [B, slots, Dg]) as tf.Tensor3D;
        });
        parts.get(g)!.forEach((t) => t.dispose());
        return [g, placed];
      }),
    );
    at.dispose();
    return out;
  }

  /**
   * augmentStates of ids [B, S] with the tails of `layout` after them: layer → [B, S + slots, D_g].
   * The whole texts run once, keeping their keys and values for the tails to continue.
   */
  augmentStatesWithTails(ids: tf.Tensor2D, layout: Pick<TailLayout, 'runs' | 'slots'>): Map<number, tf.Tensor3D> {
    if (layout.slots === 0) return this.augmentStates(ids);
    const [B, S] = ids.shape;
    const taps = this.augmentTaps();
    const cache = this.augment.newCache(B);
    try {
      const whole = this.withFinalNorm(takeHidden(this.augment.forward(ids, { taps, to: Math.max(0, ...taps) + 1, noHead: true }, cache)));
      const tails = this.tailStates(layout.runs, cache, S, layout.slots);
      whole.forEach((w, g) => {
        const t = tails.get(g)!;
        whole.set(g, tf.concat([w, t], 1) as tf.Tensor3D);
        w.dispose();
        t.dispose();
      });
      return whole;
    } finally {
      disposeCache(cache);
    }
  }

  /** The block outputs to tap: layer N (after the final norm) is computed from block N-1. */
  augmentTaps(): number[] {
    const N = this.augment.config.nLayer;
    return [...new Set(this.augmentLayers.map((g) => (g === N ? N - 1 : g)))];
  }

  /** Adds layer N = finalNorm(block N-1) when a bridge reads it; drops block N-1 if none does. */
  withFinalNorm(states: Map<number, tf.Tensor3D>): Map<number, tf.Tensor3D> {
    const N = this.augment.config.nLayer;
    const layers = this.augmentLayers;
    if (!layers.includes(N)) return states;
    const last = states.get(N - 1)!;
    states.set(N, this.augment.finalNorm(last));
    if (!layers.includes(N - 1)) {
      last.dispose();
      states.delete(N - 1);
    }
    return states;
  }

  /** The anchor's stream after block `firstAnchorLayer`, before any bridge adds: [B, T, D_a]. */
  anchorPrefix(ids: tf.Tensor2D): tf.Tensor3D {
    // a0 = -1 runs no block: the embedding output
    return this.anchor.forward(ids, { to: this.firstAnchorLayer + 1, noHead: true }).last;
  }

  /** A hook adding the bridges' outputs, given each bridge's keys and values (null: none yet). */
  bridgeHook(kvs: (KV | null)[], opts: ComposeOptions = {}): BlockHook {
    const { connections, numHeads, output, queryNorm } = this.spec;
    return (layer, h, past) => {
      const outs: tf.Tensor3D[] = [];
      connections.forEach(([a], i) => {
        const kv = kvs[i];
        if (a !== layer || !kv || this.disabled.has(i)) return;
        outs.push(bridgeOutput(this.bridges[i], h, kv, numHeads, output, { past, keyMask: opts.keyMask, keyLimit: opts.keyLimit, keyTail: opts.keyTail, queryNorm }));
      });
      return outs.length ? (tf.add(h, outs.length === 1 ? outs[0] : tf.addN(outs)) as tf.Tensor3D) : h;
    };
  }

  /**
   * Runs the augmenting model over new ids [B, S_new] on its KV cache and appends every bridge's
   * keys and values [B, h, S_new, hd] to `old` (an entry null or missing: none yet), disposing
   * the old tensors: one decoding step of the augmenting side.
   */
  appendKeysValues(ids: tf.Tensor2D, cache: KVCache, old: readonly (KV | null)[]): KV[] {
    const states = this.withFinalNorm(takeHidden(this.augment.forward(ids, { taps: this.augmentTaps(), noHead: true }, cache)));
    const fresh = this.keysValues(states);
    states.forEach((t) => t.dispose());
    return fresh.map((f, i) => {
      const o = old[i];
      if (!o) return f;
      const next = { k: tf.concat([o.k, f.k], 2) as tf.Tensor4D, v: tf.concat([o.v, f.v], 2) as tf.Tensor4D };
      [o.k, o.v, f.k, f.v].forEach((t) => t.dispose());
      return next;
    });
  }

  /** Every bridge's keys and values [B, h, S, hd] of augmenting states (layer → [B, S, D_g]). */
  keysValues(states: Map<number, tf.Tensor3D>): KV[] {
    return this.spec.connections.map(([, g], i) => bridgeKeysValues(this.bridges[i], states.get(g)!, this.spec.numHeads));
  }

  /** Composed logits [B, T, V] for ids [B, T], computing everything (the reference path). */
  forward(ids: tf.Tensor2D, opts: ComposeOptions = {}): tf.Tensor3D {
    return this.forwardAligned(ids, ids, opts);
  }

  /**
   * Composed logits [B, T, V] across tokenizers: anchor ids [B, T], augmenting ids [B, S] of its
   * own tokenizer, and opts.keyLimit (needed unless the ids are the same tensor). `tails` (a
   * TailLayout, src/calm/align.ts): the anchor positions whose own prefix tokenizes otherwise
   * read its tail too; opts.keyMask [B, S] then covers the whole texts' keys, the tails are real.
   */
  forwardAligned(ids: tf.Tensor2D, augmentIds: tf.Tensor2D, opts: ComposeOptions & { tails?: TailLayout } = {}): tf.Tensor3D {
    if (augmentIds !== ids && !opts.keyLimit) throw new Error('augmenting ids of their own need a keyLimit (docs/design.md § Across tokenizers)');
    const { tails, ...rest } = opts;
    return tf.tidy(() => {
      const states = tails ? this.augmentStatesWithTails(augmentIds, tails) : this.augmentStates(augmentIds);
      const o: ComposeOptions = { ...rest, keyTail: tails?.keyTail };
      if (tails && tails.slots > 0 && o.keyMask) o.keyMask = tf.concat([o.keyMask, tf.ones([augmentIds.shape[0], tails.slots])], 1) as tf.Tensor2D;
      const kvs = this.keysValues(states);
      const r = this.anchor.forward(ids, { hook: this.bridgeHook(kvs, o) });
      return r.logits!;
    });
  }

  /**
   * Composed logits from cached frozen work: `prefix` = anchorPrefix(ids) [B, T, D_a] and
   * `states` = augmentStates(ids) (across tokenizers: of the augmenting ids, with
   * opts.keyLimit). Runs only the bridges and the anchor blocks above the first connection —
   * what a training step needs.
   */
  forwardFromCache(prefix: tf.Tensor3D, states: Map<number, tf.Tensor3D>, opts: ComposeOptions = {}): tf.Tensor3D {
    return tf.tidy(() => {
      const hook = this.bridgeHook(this.keysValues(states), opts);
      const a0 = this.firstAnchorLayer;
      const input = hook(a0, prefix, 0);
      const r = this.anchor.forward(null, { input, from: a0 + 1, hook });
      return r.logits!;
    });
  }

  /**
   * What bridge i reads: its cross-attention weights for ids [1, T], averaged over nothing —
   * [h, T, S] (for heatmaps). `weightsOf` is crossAttentionWeights (kept out of the hot path).
   */
  attentionWeights(
    ids: tf.Tensor2D,
    i: number,
    weightsOf: (q: tf.Tensor4D, k: tf.Tensor4D, opts: { bias?: tf.Tensor4D }) => tf.Tensor4D,
  ): tf.Tensor3D {
    return tf.tidy(() => {
      const [a] = this.spec.connections[i];
      const kvs = this.keysValues(this.augmentStates(ids));
      const hook = this.bridgeHook(kvs);
      let weights: tf.Tensor4D | null = null;
      const capture: BlockHook = (layer, h, past) => {
        // kept: the forward's own tidy would free it
        if (layer === a) {
          const w = this.bridges[i];
          const T = h.shape[1];
          const bias = w.posBias ? positionScoreBias(w.posBias, T, T, 0) : undefined;
          // the softmax weights themselves: a value gate scales each head's output after them
          const q = bridgeQueries(w, queryInput(h, this.spec.queryNorm), this.spec.numHeads);
          weights = tf.keep(weightsOf(q, kvs[i].k, { bias }));
        }
        return hook(layer, h, past);
      };
      // the stream at anchor layer a depends only on blocks ≤ a and the bridges below
      this.anchor.forward(ids, { hook: capture, to: a + 1, noHead: true });
      const kept = weights! as tf.Tensor4D;
      const out = tf.squeeze(kept, [0]) as tf.Tensor3D;
      kept.dispose();
      return out;
    });
  }
}

/**
 * Incremental composed decoding: both models keep KV caches, and each bridge keeps the keys
 * and values of the augmenting positions seen so far, appending the new ones at every step
 * (the augmenting model advances with every token, as in the paper).
 */
export function composedDecoder(comp: Composition, B: number): Decoder {
  const augCache: KVCache = comp.augment.newCache(B);
  const anchorCache: KVCache = comp.anchor.newCache(B);
  let bridgeKV: KV[] = [];
  return {
    feed(ids) {
      const x = tf.tensor2d(ids, [B, ids[0].length], 'int32');
      bridgeKV = comp.appendKeysValues(x, augCache, bridgeKV);
      const logits = tf.tidy(() => {
        const out = comp.anchor.forward(x, { hook: comp.bridgeHook(bridgeKV) }, anchorCache);
        const T = out.logits!.shape[1];
        return tf.squeeze(tf.slice(out.logits!, [0, T - 1, 0], [-1, 1, -1]), [1]) as tf.Tensor2D;
      });
      x.dispose();
      return logits;
    },
    dispose() {
      disposeCache(augCache);
      disposeCache(anchorCache);
      bridgeKV.forEach((kv) => (kv.k.dispose(), kv.v.dispose()));
      bridgeKV = [];
    },
  };
}

/** Composed decoding that recomputes the whole sequence every step (reference; benchmarks). */
export function composedRecomputeDecoder(comp: Composition, B: number): Decoder {
  const seq: number[][] = Array.from({ length: B }, () => []);
  return {
    feed(ids) {
      ids.forEach((row, b) => seq[b].push(...row));
      return tf.tidy(() => {
        const logits = comp.forward(tf.tensor2d(seq, [B, seq[0].length], 'int32'));
        const T = logits.shape[1];
        return tf.squeeze(tf.slice(logits, [0, T - 1, 0], [-1, 1, -1]), [1]) as tf.Tensor2D;
      });
    },
    dispose() {},
  };
}

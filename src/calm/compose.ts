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
import type { AlignmentRule } from './align';

export interface ComposeOptions {
  /** [B, S] 1 for real tokens, 0 for padding: bridges never read padded augmenting positions. */
  keyMask?: tf.Tensor2D;
  /**
   * Across tokenizers: [B|1][T] per anchor position (the new ones, with a cache), how many
   * augmenting tokens it may read (src/calm/align.ts). Absent: the causal rule by position.
   */
  keyLimit?: readonly (readonly number[])[];
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
        outs.push(bridgeOutput(this.bridges[i], h, kv, numHeads, output, { past, keyMask: opts.keyMask, keyLimit: opts.keyLimit, queryNorm }));
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

  private keysValues(states: Map<number, tf.Tensor3D>): KV[] {
    return this.spec.connections.map(([, g], i) => bridgeKeysValues(this.bridges[i], states.get(g)!, this.spec.numHeads));
  }

  /** Composed logits [B, T, V] for ids [B, T], computing everything (the reference path). */
  forward(ids: tf.Tensor2D, opts: ComposeOptions = {}): tf.Tensor3D {
    return this.forwardAligned(ids, ids, opts);
  }

  /**
   * Composed logits [B, T, V] across tokenizers: anchor ids [B, T], augmenting ids [B, S] of its
   * own tokenizer, and opts.keyLimit (needed unless the ids are the same tensor).
   */
  forwardAligned(ids: tf.Tensor2D, augmentIds: tf.Tensor2D, opts: ComposeOptions = {}): tf.Tensor3D {
    if (augmentIds !== ids && !opts.keyLimit) throw new Error('augmenting ids of their own need a keyLimit (docs/design.md § Across tokenizers)');
    return tf.tidy(() => {
      const kvs = this.keysValues(this.augmentStates(augmentIds));
      const r = this.anchor.forward(ids, { hook: this.bridgeHook(kvs, opts) });
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

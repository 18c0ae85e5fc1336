// Composed decoding across tokenizers (docs/design.md § Across tokenizers). The anchor advances by
// its own tokens; after each feed, the augmenting tokenizer re-reads the whole text so far, and
// only what changed is recomputed: the augmenting model's KV cache and the bridges' keys and
// values are kept up to the first augmenting token that changed (a BPE merge across the old end
// changes the last token: 't' then 'th'), and the tail run again. Each anchor token reads the
// augmenting tokenization of the text up to its own end (prefixReads) and is never recomputed:
// the last token of a feed reads the whole text so far, a token before it in the same feed whose
// prefix tokenizes otherwise reads its tail, run for this feed only. So every step's logits are
// those of the full composed forward over the text so far (Composition.forwardAligned with its
// tails), to float rounding.
// Legend: B = 1, T anchor tokens, S augmenting tokens, h heads, hd head width.
import { tf } from '../model/tf';
import { disposeCache, type KVCache } from '../model/causal-lm';
import { truncateCache, type Decoder } from '../model/sampling';
import type { Tokenizer } from '../tokenizer/tokenizer';
import { commonPrefix, layTails, prefixReads, withBos, type Tokenized } from './align';
import type { Composition, KV } from './compose';

export interface AlignedDecoder {
  /**
   * Appends anchor tokens (ids with their ends in UTF-8 bytes of `text`, at least one) and
   * returns the composed logits of the last [1, V]. `text` is the whole text so far.
   */
  feed(text: string, anchor: Tokenized): tf.Tensor2D;
  /** What the last feed re-used: augmenting tokens taken from the cache, and tails it ran. */
  readonly reused: { augment: number; tails: number };
  dispose(): void;
}

/** Keeps the first n positions of bridge keys and values (axis 2). */
function truncateKV(kv: KV, n: number): KV {
  if (kv.k.shape[2] === n) return kv;
  const out = { k: tf.slice(kv.k, [0, 0, 0, 0], [-1, -1, n, -1]) as tf.Tensor4D, v: tf.slice(kv.v, [0, 0, 0, 0], [-1, -1, n, -1]) as tf.Tensor4D };
  kv.k.dispose();
  kv.v.dispose();
  return out;
}

/** A decoder of one sequence (B = 1) over `comp`, the augmenting side read by `augment`. */
export function alignedDecoder(comp: Composition, augment: Tokenizer, opts: { augmentBos?: number } = {}): AlignedDecoder {
  const augCache: KVCache = comp.augment.newCache(1);
  const anchorCache: KVCache = comp.anchor.newCache(1);
  let bridgeKV: KV[] = []; // per bridge [1, h, S, hd]
  let aug: Tokenized = { ids: [], ends: [] };
  const reused = { augment: 0, tails: 0 };

  /** Runs the augmenting model over its tokens from k on (cache kept up to k): appends to the bridges' keys and values. */
  function advanceAugment(ids: number[], k: number): void {
    truncateCache(augCache, k);
    bridgeKV = bridgeKV.map((kv) => truncateKV(kv, k));
    if (ids.length === k) return;
    const x = tf.tensor2d([ids.slice(k)], [1, ids.length - k], 'int32');
    bridgeKV = comp.appendKeysValues(x, augCache, bridgeKV);
    x.dispose();
  }

  return {
    reused,
    feed(text, fresh) {
      if (fresh.ids.length < 1 || fresh.ids.length !== fresh.ends.length) throw new RangeError('feed needs at least one anchor token and an end for each');
      let g: Tokenized = augment.encodeWithEnds(text);
      if (opts.augmentBos !== undefined) g = withBos(g, opts.augmentBos);
      if (g.ids.length === 0) throw new RangeError('the augmenting tokenizer gives no token for this text (give it a BOS)');
      const k = commonPrefix(aug.ids, g.ids); // augmenting tokens still valid
      advanceAugment(g.ids, k);
      reused.augment = k;
      // what each new anchor token reads: its own prefix's tokenization, a tail where that is not g's
      const reads = prefixReads(augment, text, fresh.ends, g, opts.augmentBos);
      const S = g.ids.length;
      const tails = layTails([reads], S, fresh.ids.length);
      reused.tails = reads.tails.length;
      const kvs = bridgeKV;
      const logits = tf.tidy(() => {
        let read = kvs;
        if (tails.slots > 0) {
          const states = comp.tailStates(tails.runs, augCache, S, tails.slots); // layer → [1, slots, D_g]
          read = comp.keysValues(states).map((t, i) => ({ k: tf.concat([kvs[i].k, t.k], 2) as tf.Tensor4D, v: tf.concat([kvs[i].v, t.v], 2) as tf.Tensor4D }));
        }
        const x = tf.tensor2d([fresh.ids], [1, fresh.ids.length], 'int32');
        const out = comp.anchor.forward(x, { hook: comp.bridgeHook(read, { keyLimit: [reads.keyLimit], keyTail: tails.keyTail }) }, anchorCache);
        const T = out.logits!.shape[1];
        return tf.squeeze(tf.slice(out.logits!, [0, T - 1, 0], [-1, 1, -1]), [1]) as tf.Tensor2D; // [1, V]
      });
      aug = g;
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

/**
 * Aligned decoders behind the Decoder interface (ids in, logits out), so greedy decoding, exact
 * match and generation run across tokenizers unchanged. Each of the B rows is its own aligned
 * decoder (the rows' texts re-tokenize independently); each feed's anchor ids are spelled out
 * (Tokenizer.spell) into the row's text so far and their ends, which the augmenting tokenizer
 * re-reads.
 */
export function alignedIdsDecoder(comp: Composition, anchor: Tokenizer, augment: Tokenizer, B: number, opts: { augmentBos?: number } = {}): Decoder {
  const rows = Array.from({ length: B }, () => ({ dec: alignedDecoder(comp, augment, opts), ids: [] as number[] }));
  return {
    feed(fresh) {
      const logits = rows.map((r, b) => {
        r.ids.push(...fresh[b]);
        const { text, ends } = anchor.spell(r.ids);
        return r.dec.feed(text, { ids: fresh[b], ends: ends.slice(r.ids.length - fresh[b].length) }); // [1, V]
      });
      if (logits.length === 1) return logits[0];
      const out = tf.concat(logits, 0) as tf.Tensor2D; // [B, V]
      tf.dispose(logits);
      return out;
    },
    dispose() {
      rows.forEach((r) => r.dec.dispose());
    },
  };
}

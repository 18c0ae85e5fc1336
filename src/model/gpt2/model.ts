// GPT-2 in TensorFlow.js: the clean reference forward pass, with the two things CALM needs —
// the residual stream after every block (taps), and an addition to it after chosen blocks
// (hooks) (docs/design.md § Models). Legend for shape comments: B batch, T new positions,
// S = past + T positions, D width, H heads, hd = D / H, V vocabulary.
import { tf } from '../tf';
import type { CausalLM, ForwardOptions, ForwardResult, KVCache } from '../causal-lm';
import { causalMask, geluNew, layerNorm, linear, matmul, mergeHeads, splitHeads, swapLast } from '../ops';
import type { GPT2Config } from './config';
import { gpt2Tensors, type BlockWeights, type GPTWeights } from './weights';

export class GPT implements CausalLM {
  constructor(
    readonly config: GPT2Config,
    readonly weights: GPTWeights,
  ) {}

  tensors(): Map<string, tf.Tensor> {
    return gpt2Tensors(this.config, this.weights);
  }

  dispose(): void {
    tf.dispose([...this.tensors().values()]);
  }

  newCache(B: number): KVCache {
    const { nLayer, nHead, nEmbd } = this.config;
    const z = () => tf.zeros([B, nHead, 0, nEmbd / nHead]) as tf.Tensor4D; // [B, H, 0, hd]
    return { k: Array.from({ length: nLayer }, z), v: Array.from({ length: nLayer }, z), length: 0 };
  }

  /** Token + position embeddings for ids at positions past..past+T-1. ids [B, T] → [B, T, D] */
  embed(ids: tf.Tensor2D, past = 0, mode: 'gather' | 'onehot' = 'gather'): tf.Tensor3D {
    const { wte, wpe } = this.weights;
    const [B, T] = ids.shape;
    if (past + T > this.config.nPositions) {
      throw new Error(`sequence of ${past + T} tokens is longer than the model's context of ${this.config.nPositions}`);
    }
    return tf.tidy(() => {
      const tok =
        mode === 'onehot'
          ? tf.reshape(matmul(tf.oneHot(tf.reshape(ids, [-1]), this.config.vocabSize), wte), [B, T, -1])
          : tf.gather(wte, ids); // [B, T, D]
      const pos = tf.slice(wpe, [past, 0], [T, -1]); // [T, D]
      return tf.add(tok, pos) as tf.Tensor3D;
    });
  }

  /**
   * One pre-LayerNorm block over the new positions. With `past` K/V ([B, H, S-T, hd]) the
   * new positions also attend to them. Returns the block output and this block's full K/V.
   */
  block(
    i: number,
    x: tf.Tensor3D,
    past?: { k: tf.Tensor4D; v: tf.Tensor4D },
  ): { out: tf.Tensor3D; k: tf.Tensor4D; v: tf.Tensor4D } {
    const w: BlockWeights = this.weights.blocks[i];
    const { nHead: H, layerNormEpsilon: eps } = this.config;
    return tf.tidy(() => {
      const [, T, D] = x.shape;
      const a = layerNorm(x, w.ln1.gamma, w.ln1.beta, eps);
      const qkv = linear(a, w.attn.cAttnW, w.attn.cAttnB); // [B, T, 3D]
      const [q, kNew, vNew] = tf.split(qkv, [D, D, D], 2).map((t) => splitHeads(t, H)); // [B, H, T, hd]
      const k = past ? tf.concat([past.k, kNew], 2) : kNew; // [B, H, S, hd]
      const v = past ? tf.concat([past.v, vNew], 2) : vNew;
      const S = k.shape[2];
      const scores = tf.add(
        tf.mul(matmul(q, swapLast(k)), 1 / Math.sqrt(D / H)), // [B, H, T, S]
        causalMask(T, S, S - T),
      );
      const y = mergeHeads(matmul(tf.softmax(scores), v) as tf.Tensor4D); // [B, T, D]
      const h = tf.add(x, linear(y, w.attn.cProjW, w.attn.cProjB));
      const m = linear(geluNew(linear(layerNorm(h, w.ln2.gamma, w.ln2.beta, eps), w.mlp.cFcW, w.mlp.cFcB)), w.mlp.cProjW, w.mlp.cProjB);
      return { out: tf.add(h, m) as tf.Tensor3D, k, v };
    });
  }

  /** The final LayerNorm alone: [B, T, D] → [B, T, D] (Hugging Face's last hidden state). */
  finalNorm(x: tf.Tensor3D): tf.Tensor3D {
    const { lnF } = this.weights;
    return layerNorm(x, lnF.gamma, lnF.beta, this.config.layerNormEpsilon) as tf.Tensor3D;
  }

  /** Final LayerNorm and LM head (tied to wte unless lm_head.weight was given). [B, T, D] → [B, T, V] */
  head(x: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const { lnF, wte, lmHead } = this.weights;
      const n = layerNorm(x, lnF.gamma, lnF.beta, this.config.layerNormEpsilon);
      const [B, T, D] = n.shape;
      const logits = matmul(tf.reshape(n, [B * T, D]), swapLast(lmHead ?? wte)); // [B·T, V]
      return tf.reshape(logits, [B, T, -1]) as tf.Tensor3D;
    });
  }

  /**
   * The forward pass over ids [B, T] (or over `input` from block `from`). With a cache, the
   * ids are the new positions after `cache.length` and the cache is replaced by a new one
   * (the old tensors are disposed).
   */
  forward(ids: tf.Tensor2D | null, opts: ForwardOptions = {}, cache?: KVCache): ForwardResult {
    const N = this.config.nLayer;
    const from = opts.from ?? 0;
    const to = opts.to ?? N;
    const taps = new Set(opts.taps ?? []);
    const past = cache?.length ?? 0;
    const newK: tf.Tensor4D[] = [];
    const newV: tf.Tensor4D[] = [];
    // Tapped states are returned from the tidy (not tf.keep'd), so a caller's enclosing tidy
    // tracks and frees them like any other result.
    const result = tf.tidy(() => {
      const tapLayers: number[] = [];
      const tapped: tf.Tensor3D[] = [];
      const tap = (layer: number, t: tf.Tensor3D) => {
        if (!taps.has(layer)) return;
        tapLayers.push(layer);
        tapped.push(t);
      };
      let x: tf.Tensor3D;
      if (opts.input) {
        x = opts.input;
      } else {
        if (!ids) throw new Error('forward needs ids or input');
        if (from !== 0) throw new Error('forward from a block > 0 needs `input`');
        x = this.embed(ids, past, opts.embedding);
        if (opts.hook) x = opts.hook(-1, x, past);
        tap(-1, x);
      }
      for (let i = from; i < to; i++) {
        const r = this.block(i, x, cache ? { k: cache.k[i], v: cache.v[i] } : undefined);
        x = r.out;
        if (cache) {
          newK.push(tf.keep(r.k));
          newV.push(tf.keep(r.v));
        }
        if (opts.hook) x = opts.hook(i, x, past);
        tap(i, x);
      }
      const logits = opts.noHead || to !== N ? undefined : this.head(x);
      return { logits, last: x, tapped, tapLayers };
    });
    if (cache) {
      if (from !== 0 || to !== N) throw new Error('a KV cache needs the whole forward pass');
      cache.k.forEach((t) => t.dispose());
      cache.v.forEach((t) => t.dispose());
      cache.k = newK;
      cache.v = newV;
      cache.length = past + (ids ? ids.shape[1] : 0);
    }
    const hidden = new Map<number, tf.Tensor3D>(result.tapLayers.map((l, j) => [l, result.tapped[j]]));
    return { logits: result.logits, last: result.last, hidden };
  }
}

// GPT-2 in TensorFlow.js: the clean reference forward pass, with the two things CALM needs —
// the residual stream after every block (taps), and an addition to it after chosen blocks
// (hooks) (docs/design.md § Models). Legend for shape comments: B batch, T new positions,
// S = past + T positions, D width, H heads, hd = D / H, V vocabulary.
import { tf } from '../tf';
import type { CausalLM, ForwardOptions, ForwardResult, KVCache } from '../causal-lm';
import { causalAttention, decoderForward, type DecoderParts } from '../decoder';
import { geluNew, layerNorm, linear, matmul, mergeHeads, splitHeads, swapLast } from '../ops';
import type { GPT2Config } from './config';
import { gpt2Tensors, type BlockWeights, type GPTWeights } from './weights';

export class GPT implements CausalLM, DecoderParts {
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
   * new positions also attend to them (their count is unused: GPT-2 adds positions in embed). Returns the block output and this block's full K/V.
   */
  block(
    i: number,
    x: tf.Tensor3D,
    _pastLength = 0,
    past?: { k: tf.Tensor4D; v: tf.Tensor4D },
  ): { out: tf.Tensor3D; k: tf.Tensor4D; v: tf.Tensor4D } {
    const w: BlockWeights = this.weights.blocks[i];
    const { nHead: H, layerNormEpsilon: eps } = this.config;
    return tf.tidy(() => {
      const D = x.shape[2];
      const a = layerNorm(x, w.ln1.gamma, w.ln1.beta, eps);
      const qkv = linear(a, w.attn.cAttnW, w.attn.cAttnB); // [B, T, 3D]
      const [q, kNew, vNew] = tf.split(qkv, [D, D, D], 2).map((t) => splitHeads(t, H)); // [B, H, T, hd]
      const k = (past ? tf.concat([past.k, kNew], 2) : kNew) as tf.Tensor4D; // [B, H, S, hd]
      const v = past ? tf.concat([past.v, vNew], 2) : vNew;
      const y = mergeHeads(causalAttention(q, k, v)); // [B, T, D]
      const h = tf.add(x, linear(y, w.attn.cProjW, w.attn.cProjB));
      const m = linear(geluNew(linear(layerNorm(h, w.ln2.gamma, w.ln2.beta, eps), w.mlp.cFcW, w.mlp.cFcB)), w.mlp.cProjW, w.mlp.cProjB);
      return { out: tf.add(h, m) as tf.Tensor3D, k, v };
    });
  }

  /** The final norm alone: [B, T, D] → [B, T, D] (Hugging Face's last hidden state). */
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

  /** The forward pass: the shared decoder loop (../decoder.ts) over embed, block and head. */
  forward(ids: tf.Tensor2D | null, opts: ForwardOptions = {}, cache?: KVCache): ForwardResult {
    return decoderForward(this, ids, opts, cache);
  }
}

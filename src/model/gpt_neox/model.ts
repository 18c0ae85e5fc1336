// GPT-NeoX in TensorFlow.js (docs/design.md § Models): LayerNorm with bias, the fused QKV
// projection ([H, 3, hd] rows), partial rotary embeddings, exact GELU, parallel or serial
// residual and the untied embed_out, run by the shared decoder loop (../decoder.ts). Legend:
// B batch, T new positions, S = past + T, D width, H heads, hd = D / H, I MLP width, V vocabulary.
import { tf } from '../tf';
import type { CausalLM, ForwardOptions, ForwardResult, KVCache } from '../causal-lm';
import { flattenTensors, nestTensors, tableEntries } from '../tensor-table';
import { causalAttention, decoderForward, embedTokens, geluErf, linearOutIn, lmHead, type DecoderParts } from '../decoder';
import { layerNorm, mergeHeads } from '../ops';
import { applyRotary, ropeInvFreq, rotaryTables } from '../rope';
import { rotaryDims, type GPTNeoXConfig } from './config';
import { GPT_NEOX_TENSORS } from './tensors';

interface LN {
  gamma: tf.Tensor1D; // [D]
  beta: tf.Tensor1D; // [D]
}

/** One block's weights (nn.Linear [out, in]), one field per row of GPT_NEOX_TENSORS. */
export interface GPTNeoXBlockWeights {
  ln1: LN; // input_layernorm
  ln2: LN; // post_attention_layernorm
  qkvW: tf.Tensor2D; // attention.query_key_value.weight [3D, D], rows [H, 3, hd]
  qkvB: tf.Tensor1D; // [3D]
  denseW: tf.Tensor2D; // attention.dense.weight [D, D]
  denseB: tf.Tensor1D; // [D]
  upW: tf.Tensor2D; // mlp.dense_h_to_4h.weight [I, D]
  upB: tf.Tensor1D; // [I]
  downW: tf.Tensor2D; // mlp.dense_4h_to_h.weight [D, I]
  downB: tf.Tensor1D; // [D]
}

export interface GPTNeoXWeights {
  embed: tf.Tensor2D; // gpt_neox.embed_in.weight [V, D]
  blocks: GPTNeoXBlockWeights[];
  lnF: LN; // gpt_neox.final_layer_norm
  embedOut: tf.Tensor2D; // embed_out.weight [V, D]
}

export class GPTNeoX implements CausalLM, DecoderParts {
  readonly weights: GPTNeoXWeights;
  private readonly invFreq: Float64Array; // [rotary dims / 2]

  constructor(
    readonly config: GPTNeoXConfig,
    tensors: Map<string, tf.Tensor>,
  ) {
    this.weights = nestTensors(tableEntries(GPT_NEOX_TENSORS, config), (e) => tensors.get(e.name)) as unknown as GPTNeoXWeights;
    this.invFreq = ropeInvFreq(rotaryDims(config), config.rotaryEmbBase);
  }

  tensors(): Map<string, tf.Tensor> {
    return flattenTensors<tf.Tensor>(tableEntries(GPT_NEOX_TENSORS, this.config), this.weights);
  }

  dispose(): void {
    tf.dispose([...this.tensors().values()]);
  }

  newCache(B: number): KVCache {
    const { nLayer, nHead, nEmbd } = this.config;
    const z = () => tf.zeros([B, nHead, 0, nEmbd / nHead]) as tf.Tensor4D; // [B, H, 0, hd]
    return { k: Array.from({ length: nLayer }, z), v: Array.from({ length: nLayer }, z), length: 0 };
  }

  /** Token embeddings (positions enter through the rotary embeddings). ids [B, T] → [B, T, D] */
  embed(ids: tf.Tensor2D, _past: number, mode: 'gather' | 'onehot'): tf.Tensor3D {
    return embedTokens(this.weights.embed, ids, mode);
  }

  /** Parallel: x + attn(ln1(x)) + mlp(ln2(x)); serial: h = x + attn(ln1(x)), h + mlp(ln2(h)). */
  block(i: number, x: tf.Tensor3D, past: number, cache?: { k: tf.Tensor4D; v: tf.Tensor4D }): { out: tf.Tensor3D; k: tf.Tensor4D; v: tf.Tensor4D } {
    const w = this.weights.blocks[i];
    const { nHead: H, nEmbd: D, layerNormEps: eps, useParallelResidual } = this.config;
    const hd = D / H;
    return tf.tidy(() => {
      const [B, T] = x.shape;
      const qkv = linearOutIn(layerNorm(x, w.ln1.gamma, w.ln1.beta, eps), w.qkvW, w.qkvB); // [B, T, 3D]
      const perHead = tf.transpose(tf.reshape(qkv, [B, T, H, 3 * hd]), [0, 2, 1, 3]); // [B, H, T, 3hd]
      const [qRaw, kRaw, vNew] = tf.split(perHead, 3, 3) as tf.Tensor4D[]; // [B, H, T, hd] each
      const { cos, sin } = rotaryTables(this.invFreq, past, T); // [T, rotary dims]
      const q = applyRotary(qRaw, cos, sin);
      const kNew = applyRotary(kRaw, cos, sin);
      const k = cache ? (tf.concat([cache.k, kNew], 2) as tf.Tensor4D) : kNew; // [B, H, S, hd]
      const v = cache ? (tf.concat([cache.v, vNew], 2) as tf.Tensor4D) : vNew;
      const attn = linearOutIn(mergeHeads(causalAttention(q, k, v)), w.denseW, w.denseB); // [B, T, D]
      const mlp = (h: tf.Tensor) => linearOutIn(geluErf(linearOutIn(layerNorm(h, w.ln2.gamma, w.ln2.beta, eps), w.upW, w.upB)), w.downW, w.downB);
      let out: tf.Tensor;
      if (useParallelResidual) {
        out = tf.add(tf.add(x, attn), mlp(x));
      } else {
        const h = tf.add(x, attn);
        out = tf.add(h, mlp(h));
      }
      return { out: out as tf.Tensor3D, k, v };
    });
  }

  /** final_layer_norm alone: [B, T, D] → [B, T, D]. */
  finalNorm(x: tf.Tensor3D): tf.Tensor3D {
    const { gamma, beta } = this.weights.lnF;
    return layerNorm(x, gamma, beta, this.config.layerNormEps) as tf.Tensor3D;
  }

  /** final_layer_norm and embed_out: [B, T, D] → [B, T, V] */
  head(x: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => lmHead(this.finalNorm(x), this.weights.embedOut));
  }

  forward(ids: tf.Tensor2D | null, opts: ForwardOptions = {}, cache?: KVCache): ForwardResult {
    return decoderForward(this, ids, opts, cache);
  }
}

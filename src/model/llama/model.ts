// Llama in TensorFlow.js (docs/design.md § Models): RMSNorm, rotary embeddings, grouped-query
// attention and the SwiGLU MLP, run by the shared decoder loop (../decoder.ts) with CALM's taps
// and residual injection. Legend: B batch, T new positions, S = past + T, D width, H query
// heads, Hkv key/value heads, hd head size, I MLP width, V vocabulary.
import { tf } from '../tf';
import type { CausalLM, ForwardOptions, ForwardResult, KVCache } from '../causal-lm';
import { flattenTensors, nestTensors, tableEntries } from '../tensor-table';
import { causalAttention, decoderForward, embedTokens, linearOutIn, lmHead, rmsNorm, silu, type DecoderParts } from '../decoder';
import { mergeHeads } from '../ops';
import { applyRotary, ropeInvFreq, rotaryTables } from '../rope';
import type { LlamaConfig } from './config';
import { LLAMA_TENSORS } from './tensors';

/** One decoder block's weights (nn.Linear [out, in]), one field per row of LLAMA_TENSORS. */
export interface LlamaBlockWeights {
  inputNorm: tf.Tensor1D; // input_layernorm.weight [D]
  q: tf.Tensor2D; // self_attn.q_proj.weight [H·hd, D]
  k: tf.Tensor2D; // self_attn.k_proj.weight [Hkv·hd, D]
  v: tf.Tensor2D; // self_attn.v_proj.weight [Hkv·hd, D]
  o: tf.Tensor2D; // self_attn.o_proj.weight [D, H·hd]
  postNorm: tf.Tensor1D; // post_attention_layernorm.weight [D]
  gate: tf.Tensor2D; // mlp.gate_proj.weight [I, D]
  up: tf.Tensor2D; // mlp.up_proj.weight [I, D]
  down: tf.Tensor2D; // mlp.down_proj.weight [D, I]
}

export interface LlamaWeights {
  embed: tf.Tensor2D; // model.embed_tokens.weight [V, D]
  blocks: LlamaBlockWeights[];
  norm: tf.Tensor1D; // model.norm.weight [D]
  lmHead?: tf.Tensor2D; // lm_head.weight [V, D]; absent = tied to embed
}

/** [B, T, n·hd] → [B, n, T, hd] */
function heads(x: tf.Tensor, n: number, hd: number): tf.Tensor4D {
  const [B, T] = x.shape;
  return tf.transpose(tf.reshape(x, [B, T, n, hd]), [0, 2, 1, 3]);
}

export class Llama implements CausalLM, DecoderParts {
  readonly weights: LlamaWeights;
  private readonly invFreq: Float64Array; // [hd/2]

  constructor(
    readonly config: LlamaConfig,
    tensors: Map<string, tf.Tensor>,
  ) {
    this.weights = nestTensors(tableEntries(LLAMA_TENSORS, config), (e) => tensors.get(e.name)) as unknown as LlamaWeights;
    this.invFreq = ropeInvFreq(config.headDim, config.ropeTheta, config.ropeScaling);
  }

  tensors(): Map<string, tf.Tensor> {
    return flattenTensors<tf.Tensor>(tableEntries(LLAMA_TENSORS, this.config), this.weights);
  }

  dispose(): void {
    tf.dispose([...this.tensors().values()]);
  }

  newCache(B: number): KVCache {
    const { nLayer, nKVHead, headDim } = this.config;
    const z = () => tf.zeros([B, nKVHead, 0, headDim]) as tf.Tensor4D; // [B, Hkv, 0, hd]
    return { k: Array.from({ length: nLayer }, z), v: Array.from({ length: nLayer }, z), length: 0 };
  }

  /** Token embeddings (no position table: positions enter through the rotary embeddings). ids [B, T] → [B, T, D] */
  embed(ids: tf.Tensor2D, _past: number, mode: 'gather' | 'onehot'): tf.Tensor3D {
    return embedTokens(this.weights.embed, ids, mode);
  }

  /** h = x + o(attn(rms(x))); h + down(silu(gate(rms(h))) · up(rms(h))). K/V cached after the rotation. */
  block(i: number, x: tf.Tensor3D, past: number, cache?: { k: tf.Tensor4D; v: tf.Tensor4D }): { out: tf.Tensor3D; k: tf.Tensor4D; v: tf.Tensor4D } {
    const w = this.weights.blocks[i];
    const { nHead: H, nKVHead: Hkv, headDim: hd, rmsNormEps: eps } = this.config;
    return tf.tidy(() => {
      const T = x.shape[1];
      const a = rmsNorm(x, w.inputNorm, eps); // [B, T, D]
      const { cos, sin } = rotaryTables(this.invFreq, past, T); // [T, hd]
      const q = applyRotary(heads(linearOutIn(a, w.q), H, hd), cos, sin); // [B, H, T, hd]
      const kNew = applyRotary(heads(linearOutIn(a, w.k), Hkv, hd), cos, sin); // [B, Hkv, T, hd]
      const vNew = heads(linearOutIn(a, w.v), Hkv, hd); // [B, Hkv, T, hd]
      const k = cache ? tf.concat([cache.k, kNew], 2) : kNew; // [B, Hkv, S, hd]
      const v = cache ? tf.concat([cache.v, vNew], 2) : vNew;
      const y = mergeHeads(causalAttention(q, k, v)); // [B, T, H·hd]
      const h = tf.add(x, linearOutIn(y, w.o)); // [B, T, D]
      const m = rmsNorm(h, w.postNorm, eps);
      const mlp = linearOutIn(tf.mul(silu(linearOutIn(m, w.gate)), linearOutIn(m, w.up)), w.down); // [B, T, D]
      return { out: tf.add(h, mlp) as tf.Tensor3D, k: k as tf.Tensor4D, v: v as tf.Tensor4D };
    });
  }

  /** model.norm alone: [B, T, D] → [B, T, D]. */
  finalNorm(x: tf.Tensor3D): tf.Tensor3D {
    return rmsNorm(x, this.weights.norm, this.config.rmsNormEps) as tf.Tensor3D;
  }

  /** model.norm and the LM head (embed_tokens unless lm_head.weight was given). [B, T, D] → [B, T, V] */
  head(x: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => lmHead(this.finalNorm(x), this.weights.lmHead ?? this.weights.embed));
  }

  forward(ids: tf.Tensor2D | null, opts: ForwardOptions = {}, cache?: KVCache): ForwardResult {
    return decoderForward(this, ids, opts, cache);
  }
}

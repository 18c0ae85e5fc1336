// Llama's tensors (docs/design.md § Models), named as Hugging Face LlamaForCausalLM files name
// them; linear weights are nn.Linear [out, in]. No tfjs here, so the page may use it.
import type { TensorSpec, TensorTable } from '../tensor-table';
import type { LlamaConfig } from './config';

type Spec = TensorSpec<LlamaConfig>;

const normal = (c: LlamaConfig) => ({ kind: 'normal', std: c.initializerRange }) as const;
const ones = () => ({ kind: 'ones' }) as const;
const D = (c: LlamaConfig) => c.nEmbd;
const Q = (c: LlamaConfig) => c.nHead * c.headDim; // H·hd
const KV = (c: LlamaConfig) => c.nKVHead * c.headDim; // Hkv·hd
const I = (c: LlamaConfig) => c.intermediateSize;
const linear = (name: string, key: string, shape: (c: LlamaConfig) => number[]): Spec => ({ name: `${name}.weight`, key, shape, init: normal });

export const EMBED = 'model.embed_tokens.weight';

export const LLAMA_TENSORS: TensorTable<LlamaConfig> = {
  before: [{ name: EMBED, key: 'embed', shape: (c) => [c.vocabSize, D(c)], init: normal }],
  layer: [
    { name: 'input_layernorm.weight', key: 'inputNorm', shape: (c) => [D(c)], init: ones },
    linear('self_attn.q_proj', 'q', (c) => [Q(c), D(c)]),
    linear('self_attn.k_proj', 'k', (c) => [KV(c), D(c)]),
    linear('self_attn.v_proj', 'v', (c) => [KV(c), D(c)]),
    linear('self_attn.o_proj', 'o', (c) => [D(c), Q(c)]),
    { name: 'post_attention_layernorm.weight', key: 'postNorm', shape: (c) => [D(c)], init: ones },
    linear('mlp.gate_proj', 'gate', (c) => [I(c), D(c)]),
    linear('mlp.up_proj', 'up', (c) => [I(c), D(c)]),
    linear('mlp.down_proj', 'down', (c) => [D(c), I(c)]),
  ],
  after: [
    { name: 'model.norm.weight', key: 'norm', shape: (c) => [D(c)], init: ones },
    // tie_word_embeddings true: the head is embed_tokens unless the file has its own
    { name: 'lm_head.weight', key: 'lmHead', shape: (c) => [c.vocabSize, D(c)], init: normal, optionalWhen: (c) => c.tieWordEmbeddings, tiedTo: EMBED },
  ],
  layers: (c) => c.nLayer,
  layerPrefix: (i) => `model.layers.${i}.`,
  layerOf: (name) => {
    const m = /^model\.layers\.(\d+)\./.exec(name);
    return m ? Number(m[1]) : undefined;
  },
  layerKey: 'blocks',
};

/** The rotary frequency buffer older Llama checkpoints carry (the model computes its own). */
export function llamaIsBuffer(name: string): boolean {
  return /^model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq$/.test(name);
}

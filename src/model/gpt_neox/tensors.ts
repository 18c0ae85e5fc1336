// GPT-NeoX's tensors (docs/design.md § Models), named as Hugging Face GPTNeoXForCausalLM files
// name them; linear weights are nn.Linear [out, in], the fused query_key_value's rows ordered
// [H, 3, hd]. No tfjs here, so the page may use it.
import type { TensorSpec, TensorTable } from '../tensor-table';
import type { GPTNeoXConfig } from './config';

type Spec = TensorSpec<GPTNeoXConfig>;

const normal = (c: GPTNeoXConfig) => ({ kind: 'normal', std: c.initializerRange }) as const;
const ones = () => ({ kind: 'ones' }) as const;
const zeros = () => ({ kind: 'zeros' }) as const;
const D = (c: GPTNeoXConfig) => c.nEmbd;
const I = (c: GPTNeoXConfig) => c.intermediateSize;

const layerNorm = (name: string, key: string): Spec[] => [
  { name: `${name}.weight`, key: `${key}.gamma`, shape: (c) => [D(c)], init: ones },
  { name: `${name}.bias`, key: `${key}.beta`, shape: (c) => [D(c)], init: zeros },
];
const linear = (name: string, key: string, out: (c: GPTNeoXConfig) => number, inp: (c: GPTNeoXConfig) => number): Spec[] => [
  { name: `${name}.weight`, key: `${key}W`, shape: (c) => [out(c), inp(c)], init: normal },
  { name: `${name}.bias`, key: `${key}B`, shape: (c) => [out(c)], init: zeros },
];

export const GPT_NEOX_TENSORS: TensorTable<GPTNeoXConfig> = {
  before: [{ name: 'gpt_neox.embed_in.weight', key: 'embed', shape: (c) => [c.vocabSize, D(c)], init: normal }],
  layer: [
    ...layerNorm('input_layernorm', 'ln1'),
    ...layerNorm('post_attention_layernorm', 'ln2'),
    ...linear('attention.query_key_value', 'qkv', (c) => 3 * D(c), D),
    ...linear('attention.dense', 'dense', D, D),
    ...linear('mlp.dense_h_to_4h', 'up', I, D),
    ...linear('mlp.dense_4h_to_h', 'down', D, I),
  ],
  after: [...layerNorm('gpt_neox.final_layer_norm', 'lnF'), { name: 'embed_out.weight', key: 'embedOut', shape: (c) => [c.vocabSize, D(c)], init: normal }],
  layers: (c) => c.nLayer,
  layerPrefix: (i) => `gpt_neox.layers.${i}.`,
  layerOf: (name) => {
    const m = /^gpt_neox\.layers\.(\d+)\./.exec(name);
    return m ? Number(m[1]) : undefined;
  },
  layerKey: 'blocks',
};

/** Buffers GPT-NeoX checkpoints may carry (causal mask, rotary frequencies): the model builds its own. */
export function gptNeoXIsBuffer(name: string): boolean {
  return /^gpt_neox\.layers\.\d+\.attention\.(bias|masked_bias|rotary_emb\.inv_freq)$/.test(name);
}

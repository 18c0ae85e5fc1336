// GPT-2's tensors (docs/design.md § Models): the one table that loading, saving, initialising,
// counting and shape checks read, named as Hugging Face checkpoints name them (without the
// `transformer.` prefix of GPT2LMHeadModel files). Linear weights are GPT-2 `Conv1D` layout
// `[in, out]`. No tfjs here, so the page may use it.
import type { TensorSpec, TensorTable } from '../tensor-table';
import type { GPT2Config } from './config';

type Spec = TensorSpec<GPT2Config>;

// GPT-2's initialisation: normal(0, 0.02) for weights (wpe 0.01), zero biases, LayerNorm scale
// 1, and the residual projections (attn.c_proj, mlp.c_proj) scaled by 1/√(2N) so the stream's
// variance does not grow with depth.
const normal = (std: number) => () => ({ kind: 'normal', std }) as const;
const projection = (c: GPT2Config) => ({ kind: 'normal', std: 0.02 / Math.sqrt(2 * c.nLayer) }) as const;
const zeros = () => ({ kind: 'zeros' }) as const;
const ones = () => ({ kind: 'ones' }) as const;
const D = (c: GPT2Config) => c.nEmbd;

const layerNorm = (name: string, key: string): Spec[] => [
  { name: `${name}.weight`, key: `${key}.gamma`, shape: (c) => [D(c)], init: ones },
  { name: `${name}.bias`, key: `${key}.beta`, shape: (c) => [D(c)], init: zeros },
];

/** The LM head of a checkpoint that has its own (untied from wte). */
export const LM_HEAD = 'lm_head.weight';

export const GPT2_TENSORS: TensorTable<GPT2Config> = {
  before: [
    { name: 'wte.weight', key: 'wte', shape: (c) => [c.vocabSize, D(c)], init: normal(0.02) },
    { name: 'wpe.weight', key: 'wpe', shape: (c) => [c.nPositions, D(c)], init: normal(0.01) },
  ],
  layer: [
    ...layerNorm('ln_1', 'ln1'),
    { name: 'attn.c_attn.weight', key: 'attn.cAttnW', shape: (c) => [D(c), 3 * D(c)], init: normal(0.02) }, // q | k | v
    { name: 'attn.c_attn.bias', key: 'attn.cAttnB', shape: (c) => [3 * D(c)], init: zeros },
    { name: 'attn.c_proj.weight', key: 'attn.cProjW', shape: (c) => [D(c), D(c)], init: projection },
    { name: 'attn.c_proj.bias', key: 'attn.cProjB', shape: (c) => [D(c)], init: zeros },
    ...layerNorm('ln_2', 'ln2'),
    { name: 'mlp.c_fc.weight', key: 'mlp.cFcW', shape: (c) => [D(c), 4 * D(c)], init: normal(0.02) },
    { name: 'mlp.c_fc.bias', key: 'mlp.cFcB', shape: (c) => [4 * D(c)], init: zeros },
    { name: 'mlp.c_proj.weight', key: 'mlp.cProjW', shape: (c) => [4 * D(c), D(c)], init: projection },
    { name: 'mlp.c_proj.bias', key: 'mlp.cProjB', shape: (c) => [D(c)], init: zeros },
  ],
  after: [
    ...layerNorm('ln_f', 'lnF'),
    { name: LM_HEAD, key: 'lmHead', shape: (c) => [c.vocabSize, D(c)], init: normal(0.02), optional: true, tiedTo: 'wte.weight' },
  ],
  layers: (c) => c.nLayer,
  layerPrefix: (i) => `h.${i}.`,
  layerOf: (name) => {
    const m = /^h\.(\d+)\./.exec(name);
    return m ? Number(m[1]) : undefined;
  },
  layerKey: 'blocks',
};

/** A checkpoint's tensor name as the table spells it: without the `transformer.` prefix of GPT2LMHeadModel files. */
export function gpt2CheckpointName(name: string): string {
  return name.startsWith('transformer.') ? name.slice('transformer.'.length) : name;
}

/** Causal-mask buffers that old GPT-2 checkpoints carry (no parameters: the model builds its own mask). */
export function gpt2IsBuffer(name: string): boolean {
  return /^h\.\d+\.attn\.(bias|masked_bias)$/.test(name);
}

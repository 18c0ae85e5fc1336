// GPT-2's weights as the model reads them, placed from named tensors by the tensor table
// (./tensors.ts: each tensor's `key` is its path here), and named again the same way.
import type { tf } from '../tf';
import { flattenTensors, nestTensors, tableEntries } from '../tensor-table';
import type { GPT2Config } from './config';
import { GPT2_TENSORS } from './tensors';

/**
 * GPT-2 weights, one field per row of GPT2_TENSORS. Linear weights are kept in GPT-2 `Conv1D`
 * layout `[in, out]`: y = x·W + b.
 */
export interface BlockWeights {
  ln1: { gamma: tf.Tensor1D; beta: tf.Tensor1D }; // h.{i}.ln_1.{weight,bias} [D]
  attn: {
    cAttnW: tf.Tensor2D; // h.{i}.attn.c_attn.weight [D, 3D] (q | k | v)
    cAttnB: tf.Tensor1D; // h.{i}.attn.c_attn.bias [3D]
    cProjW: tf.Tensor2D; // h.{i}.attn.c_proj.weight [D, D]
    cProjB: tf.Tensor1D; // h.{i}.attn.c_proj.bias [D]
  };
  ln2: { gamma: tf.Tensor1D; beta: tf.Tensor1D }; // h.{i}.ln_2.{weight,bias} [D]
  mlp: {
    cFcW: tf.Tensor2D; // h.{i}.mlp.c_fc.weight [D, 4D]
    cFcB: tf.Tensor1D; // h.{i}.mlp.c_fc.bias [4D]
    cProjW: tf.Tensor2D; // h.{i}.mlp.c_proj.weight [4D, D]
    cProjB: tf.Tensor1D; // h.{i}.mlp.c_proj.bias [D]
  };
}

export interface GPTWeights {
  wte: tf.Tensor2D; // wte.weight [V, D]
  wpe: tf.Tensor2D; // wpe.weight [P, D]
  blocks: BlockWeights[];
  lnF: { gamma: tf.Tensor1D; beta: tf.Tensor1D }; // ln_f.{weight,bias} [D]
  lmHead?: tf.Tensor2D; // lm_head.weight [V, D]; absent = tied to wte
}

/** The weights from tensors under their checkpoint names (the table's optional LM head may be absent). */
export function gpt2Weights(config: GPT2Config, tensors: Map<string, tf.Tensor>): GPTWeights {
  return nestTensors(tableEntries(GPT2_TENSORS, config), (e) => tensors.get(e.name)) as unknown as GPTWeights;
}

/** Every tensor of the weights under its checkpoint name, in table order. */
export function gpt2Tensors(config: GPT2Config, weights: GPTWeights): Map<string, tf.Tensor> {
  return flattenTensors<tf.Tensor>(tableEntries(GPT2_TENSORS, config), weights);
}

/** GPT-2 sizes, as `config.json` names them in Hugging Face layout (DESIGN §2). */
export interface GPTConfig {
  modelType: 'gpt2';
  vocabSize: number; // V: rows of wte
  nPositions: number; // P: rows of wpe, the longest context
  nEmbd: number; // D: residual stream width
  nLayer: number; // N: decoder blocks
  nHead: number; // heads per block; D % nHead == 0
  layerNormEpsilon: number; // 1e-5 in GPT-2
  activation: 'gelu_new'; // the tanh approximation of GELU, as GPT-2 uses
}

/** Hugging Face `config.json` fields for a GPTConfig. */
export function toHFConfig(c: GPTConfig): Record<string, unknown> {
  return {
    model_type: 'gpt2',
    architectures: ['GPT2LMHeadModel'],
    vocab_size: c.vocabSize,
    n_positions: c.nPositions,
    n_ctx: c.nPositions,
    n_embd: c.nEmbd,
    n_layer: c.nLayer,
    n_head: c.nHead,
    layer_norm_epsilon: c.layerNormEpsilon,
    activation_function: c.activation,
    n_inner: null,
  };
}

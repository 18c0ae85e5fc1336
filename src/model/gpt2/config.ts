// GPT-2's config.json (Hugging Face layout): its sizes, read and checked with one-line errors
// naming the field (docs/design.md § Models). model_type is the registry's to check.
// zod/mini: the full build adds ~300 kB to a bundle, the mini one ~15 kB.
import * as z from 'zod/mini';
import type { ModelConfig } from '../causal-lm';
import { issueMessage, ModelConfigError } from '../errors';

/** GPT-2 sizes, as `config.json` names them. */
export interface GPT2Config extends ModelConfig {
  modelType: 'gpt2';
  nHead: number; // D % nHead == 0
  layerNormEpsilon: number; // 1e-5 in GPT-2
  activation: 'gelu_new'; // the tanh approximation of GELU, as GPT-2 uses
}

/** Both names denote the tanh approximation of GELU that GPT-2 uses. */
const GELU_TANH = ['gelu_new', 'gelu_pytorch_tanh'];

// Bounds far above any model this app can run; beyond them a config is corrupt, and the
// bound keeps a hostile file from asking for a multi-GB allocation.
const size = (max: number) =>
  z.int({ error: 'must be an integer' }).check(
    z.positive({ error: 'must be positive' }),
    z.maximum(max, { error: `must be at most ${max}` }),
  );

const HFConfigSchema = z.object({
  vocab_size: size(1_000_000),
  n_positions: size(65536),
  n_embd: size(16384),
  n_layer: size(256),
  n_head: size(16384),
  layer_norm_epsilon: z._default(
    z.number({ error: 'must be a number' }).check(
      z.positive({ error: 'must be positive' }),
      z.lt(1, { error: 'must be below 1' }),
    ),
    1e-5,
  ),
  activation_function: z._default(z.string({ error: 'must be a string' }), 'gelu_new'),
  n_inner: z.optional(z.nullable(z.number({ error: 'must be a number or null' }))),
  scale_attn_by_inverse_layer_idx: z.optional(z.boolean({ error: 'must be true or false' })),
});

/** A GPT2Config from config.json's fields (model_type already checked). */
export function parseGPT2Config(obj: Record<string, unknown>, file = 'config.json'): GPT2Config {
  const bad = (code: 'bad-config' | 'unsupported-model', message: string, field?: string): never => {
    throw new ModelConfigError(code, message, field);
  };
  // Older GPT-2 configs name the context length n_ctx.
  const input = obj.n_positions === undefined && obj.n_ctx !== undefined ? { ...obj, n_positions: obj.n_ctx } : obj;
  const r = HFConfigSchema.safeParse(input);
  if (!r.success) {
    const { field, message } = issueMessage(file, r.error.issues[0], input);
    return bad('bad-config', message, field);
  }
  const c = r.data;
  if (!GELU_TANH.includes(c.activation_function)) {
    bad(
      'unsupported-model',
      `${file}: activation_function ${JSON.stringify(c.activation_function)} is not supported (supported: ${GELU_TANH.join(', ')})`,
      'activation_function',
    );
  }
  if (c.n_embd % c.n_head !== 0) {
    bad('bad-config', `${file}: n_embd ${c.n_embd} is not divisible by n_head ${c.n_head}`, 'n_head');
  }
  // The tensor table assumes the GPT-2 MLP width 4·D.
  if (c.n_inner != null && c.n_inner !== 4 * c.n_embd) {
    bad(
      'unsupported-model',
      `${file}: n_inner ${c.n_inner} is not supported (only null or 4 × n_embd = ${4 * c.n_embd})`,
      'n_inner',
    );
  }
  if (c.scale_attn_by_inverse_layer_idx === true) {
    bad('unsupported-model', `${file}: scale_attn_by_inverse_layer_idx true is not supported`, 'scale_attn_by_inverse_layer_idx');
  }
  return {
    modelType: 'gpt2',
    vocabSize: c.vocab_size,
    nPositions: c.n_positions,
    nEmbd: c.n_embd,
    nLayer: c.n_layer,
    nHead: c.n_head,
    layerNormEpsilon: c.layer_norm_epsilon,
    activation: 'gelu_new',
  };
}

/** Hugging Face `config.json` fields for a GPT2Config. */
export function toHFConfig(c: GPT2Config): Record<string, unknown> {
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

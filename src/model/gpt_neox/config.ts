// GPT-NeoX's config.json (Hugging Face GPTNeoXConfig): sizes and options, read and checked with
// one-line errors naming the field (docs/design.md § Models); what is not implemented is
// refused by name. model_type is the registry's to check.
import * as z from 'zod/mini';
import type { ModelConfig } from '../causal-lm';
import { issueMessage, ModelConfigError } from '../errors';

export interface GPTNeoXConfig extends ModelConfig {
  modelType: 'gpt_neox';
  intermediateSize: number; // I: the MLP width
  rotaryPct: number; // the share of each head's dims that is rotated
  rotaryEmbBase: number; // θ of the rotary frequencies
  layerNormEps: number;
  useParallelResidual: boolean; // x + attn(ln1(x)) + mlp(ln2(x)), else serial
  initializerRange: number; // std of fresh weights
}

// Bounds far above any model this app can run; beyond them a config is corrupt.
const size = (max: number) =>
  z.int({ error: 'must be an integer' }).check(z.positive({ error: 'must be positive' }), z.maximum(max, { error: `must be at most ${max}` }));
const positive = z.number({ error: 'must be a number' }).check(z.positive({ error: 'must be positive' }));
const bool = z.boolean({ error: 'must be true or false' });

const Schema = z.object({
  vocab_size: size(1_000_000),
  hidden_size: size(65536),
  intermediate_size: size(262144),
  num_hidden_layers: size(512),
  num_attention_heads: size(4096),
  max_position_embeddings: size(1 << 21),
  hidden_act: z._default(z.string({ error: 'must be a string' }), 'gelu'),
  rotary_pct: z._default(positive.check(z.maximum(1, { error: 'must be at most 1' })), 0.25),
  rotary_emb_base: z.optional(positive),
  rope_theta: z.optional(positive), // newer transformers name rotary_emb_base so
  rope_scaling: z.optional(z.unknown()),
  layer_norm_eps: z._default(positive.check(z.lt(1, { error: 'must be below 1' })), 1e-5),
  use_parallel_residual: z._default(bool, true),
  attention_bias: z.optional(bool),
  tie_word_embeddings: z._default(bool, false),
  initializer_range: z._default(positive, 0.02),
});

/** A GPTNeoXConfig from config.json's fields (model_type already checked). */
export function parseGPTNeoXConfig(obj: Record<string, unknown>, file = 'config.json'): GPTNeoXConfig {
  const bad = (code: 'bad-config' | 'unsupported-model', message: string, field: string): never => {
    throw new ModelConfigError(code, message, field);
  };
  const r = Schema.safeParse(obj);
  if (!r.success) {
    const { field, message } = issueMessage(file, r.error.issues[0], obj);
    return bad('bad-config', message, field);
  }
  const c = r.data;
  if (c.hidden_act !== 'gelu') bad('unsupported-model', `${file}: hidden_act ${JSON.stringify(c.hidden_act)} is not supported (supported: gelu)`, 'hidden_act');
  if (c.attention_bias === false) bad('unsupported-model', `${file}: attention_bias false is not supported (only true: query_key_value and dense with biases)`, 'attention_bias');
  if (c.tie_word_embeddings) bad('unsupported-model', `${file}: tie_word_embeddings true is not supported (GPT-NeoX has its own embed_out)`, 'tie_word_embeddings');
  if (c.rope_scaling != null) bad('unsupported-model', `${file}: rope_scaling ${JSON.stringify(c.rope_scaling)} is not supported for gpt_neox (only null)`, 'rope_scaling');
  const H = c.num_attention_heads;
  if (c.hidden_size % H !== 0) bad('bad-config', `${file}: hidden_size ${c.hidden_size} is not divisible by num_attention_heads ${H}`, 'num_attention_heads');
  const rotary = Math.floor((c.hidden_size / H) * c.rotary_pct);
  if (rotary % 2 !== 0 || rotary === 0) {
    bad('bad-config', `${file}: rotary_pct ${c.rotary_pct} gives ${rotary} rotary dims per head of ${c.hidden_size / H}; they must be even and at least 2`, 'rotary_pct');
  }
  return {
    modelType: 'gpt_neox',
    vocabSize: c.vocab_size,
    nPositions: c.max_position_embeddings,
    nEmbd: c.hidden_size,
    nLayer: c.num_hidden_layers,
    nHead: H,
    intermediateSize: c.intermediate_size,
    rotaryPct: c.rotary_pct,
    rotaryEmbBase: c.rotary_emb_base ?? c.rope_theta ?? 10000,
    layerNormEps: c.layer_norm_eps,
    useParallelResidual: c.use_parallel_residual,
    initializerRange: c.initializer_range,
  };
}

/** The rotated dims of each head: int(hd · rotary_pct). */
export function rotaryDims(c: GPTNeoXConfig): number {
  return Math.floor((c.nEmbd / c.nHead) * c.rotaryPct);
}

/** Hugging Face `config.json` fields for a GPTNeoXConfig. */
export function gptNeoXHFConfig(c: GPTNeoXConfig): Record<string, unknown> {
  return {
    model_type: 'gpt_neox',
    architectures: ['GPTNeoXForCausalLM'],
    vocab_size: c.vocabSize,
    hidden_size: c.nEmbd,
    intermediate_size: c.intermediateSize,
    num_hidden_layers: c.nLayer,
    num_attention_heads: c.nHead,
    hidden_act: 'gelu',
    rotary_pct: c.rotaryPct,
    rotary_emb_base: c.rotaryEmbBase,
    max_position_embeddings: c.nPositions,
    initializer_range: c.initializerRange,
    layer_norm_eps: c.layerNormEps,
    use_parallel_residual: c.useParallelResidual,
    attention_bias: true,
    tie_word_embeddings: false,
  };
}

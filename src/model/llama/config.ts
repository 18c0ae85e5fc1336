// Llama's config.json (Hugging Face LlamaConfig): its sizes and options, read and checked with
// one-line errors naming the field (docs/design.md § Models); what is not implemented
// (biases, other activations, other rope_scaling types) is refused by name. model_type is the
// registry's to check.
import * as z from 'zod/mini';
import type { ModelConfig } from '../causal-lm';
import { issueMessage, ModelConfigError } from '../errors';
import type { RopeScaling } from '../rope';

export interface LlamaConfig extends ModelConfig {
  modelType: 'llama';
  nKVHead: number; // num_key_value_heads: divides nHead
  headDim: number; // head_dim (hidden_size / heads unless given)
  intermediateSize: number; // I: the SwiGLU width
  rmsNormEps: number;
  ropeTheta: number;
  ropeScaling: RopeScaling | null;
  tieWordEmbeddings: boolean; // the LM head is embed_tokens (no lm_head.weight)
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
  num_key_value_heads: z.optional(z.nullable(size(4096))),
  head_dim: z.optional(z.nullable(size(4096))),
  max_position_embeddings: size(1 << 21),
  hidden_act: z._default(z.string({ error: 'must be a string' }), 'silu'),
  rms_norm_eps: z._default(positive.check(z.lt(1, { error: 'must be below 1' })), 1e-6),
  rope_theta: z._default(positive, 10000),
  rope_scaling: z.optional(z.nullable(z.record(z.string(), z.unknown(), { error: 'must be an object or null' }))),
  attention_bias: z.optional(bool),
  mlp_bias: z.optional(bool),
  tie_word_embeddings: z._default(bool, false),
  initializer_range: z._default(positive, 0.02),
  pretraining_tp: z.optional(z.nullable(z.number({ error: 'must be a number' }))),
});

const ROPE_TYPES = ['linear', 'llama3'];

function ropeScaling(raw: Record<string, unknown> | null | undefined, file: string): RopeScaling | null {
  if (raw == null) return null;
  const type = raw.rope_type ?? raw.type;
  if (type === 'default') return null;
  if (typeof type !== 'string' || !ROPE_TYPES.includes(type)) {
    throw new ModelConfigError(
      'unsupported-model',
      `${file}: rope_scaling.rope_type ${JSON.stringify(type)} is not supported (supported: null, ${ROPE_TYPES.join(', ')})`,
      'rope_scaling',
    );
  }
  const num = (key: string): number => {
    const v = raw[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      throw new ModelConfigError('bad-config', `${file}: rope_scaling.${key} must be a positive number, found ${JSON.stringify(v) ?? 'nothing'}`, `rope_scaling.${key}`);
    }
    return v;
  };
  if (type === 'linear') return { type, factor: num('factor') };
  const s: RopeScaling = {
    type: 'llama3',
    factor: num('factor'),
    lowFreqFactor: num('low_freq_factor'),
    highFreqFactor: num('high_freq_factor'),
    originalMaxPositionEmbeddings: num('original_max_position_embeddings'),
  };
  if (s.highFreqFactor <= s.lowFreqFactor) {
    throw new ModelConfigError('bad-config', `${file}: rope_scaling.high_freq_factor ${s.highFreqFactor} must exceed low_freq_factor ${s.lowFreqFactor}`, 'rope_scaling.high_freq_factor');
  }
  return s;
}

/** A LlamaConfig from config.json's fields (model_type already checked). */
export function parseLlamaConfig(obj: Record<string, unknown>, file = 'config.json'): LlamaConfig {
  const bad = (code: 'bad-config' | 'unsupported-model', message: string, field: string): never => {
    throw new ModelConfigError(code, message, field);
  };
  const r = Schema.safeParse(obj);
  if (!r.success) {
    const { field, message } = issueMessage(file, r.error.issues[0], obj);
    return bad('bad-config', message, field);
  }
  const c = r.data;
  if (c.hidden_act !== 'silu') bad('unsupported-model', `${file}: hidden_act ${JSON.stringify(c.hidden_act)} is not supported (supported: silu)`, 'hidden_act');
  if (c.attention_bias === true) bad('unsupported-model', `${file}: attention_bias true is not supported (only false: q/k/v/o without biases)`, 'attention_bias');
  if (c.mlp_bias === true) bad('unsupported-model', `${file}: mlp_bias true is not supported (only false: gate/up/down without biases)`, 'mlp_bias');
  if (c.pretraining_tp != null && c.pretraining_tp !== 1) bad('unsupported-model', `${file}: pretraining_tp ${c.pretraining_tp} is not supported (only 1)`, 'pretraining_tp');
  const H = c.num_attention_heads;
  const Hkv = c.num_key_value_heads ?? H;
  if (H % Hkv !== 0) bad('bad-config', `${file}: num_attention_heads ${H} is not divisible by num_key_value_heads ${Hkv}`, 'num_key_value_heads');
  if (c.head_dim == null && c.hidden_size % H !== 0) {
    bad('bad-config', `${file}: hidden_size ${c.hidden_size} is not divisible by num_attention_heads ${H} (and head_dim is not given)`, 'num_attention_heads');
  }
  const headDim = c.head_dim ?? c.hidden_size / H;
  if (headDim % 2 !== 0) bad('bad-config', `${file}: head_dim ${headDim} must be even (rotary embeddings rotate pairs of dims)`, 'head_dim');
  return {
    modelType: 'llama',
    vocabSize: c.vocab_size,
    nPositions: c.max_position_embeddings,
    nEmbd: c.hidden_size,
    nLayer: c.num_hidden_layers,
    nHead: H,
    nKVHead: Hkv,
    headDim,
    intermediateSize: c.intermediate_size,
    rmsNormEps: c.rms_norm_eps,
    ropeTheta: c.rope_theta,
    ropeScaling: ropeScaling(c.rope_scaling, file),
    tieWordEmbeddings: c.tie_word_embeddings,
    initializerRange: c.initializer_range,
  };
}

/** Hugging Face `config.json` fields for a LlamaConfig. */
export function llamaHFConfig(c: LlamaConfig): Record<string, unknown> {
  const s = c.ropeScaling;
  return {
    model_type: 'llama',
    architectures: ['LlamaForCausalLM'],
    vocab_size: c.vocabSize,
    hidden_size: c.nEmbd,
    intermediate_size: c.intermediateSize,
    num_hidden_layers: c.nLayer,
    num_attention_heads: c.nHead,
    num_key_value_heads: c.nKVHead,
    head_dim: c.headDim,
    hidden_act: 'silu',
    max_position_embeddings: c.nPositions,
    initializer_range: c.initializerRange,
    rms_norm_eps: c.rmsNormEps,
    rope_theta: c.ropeTheta,
    rope_scaling:
      s === null
        ? null
        : s.type === 'linear'
          ? { rope_type: 'linear', factor: s.factor }
          : {
              rope_type: 'llama3',
              factor: s.factor,
              low_freq_factor: s.lowFreqFactor,
              high_freq_factor: s.highFreqFactor,
              original_max_position_embeddings: s.originalMaxPositionEmbeddings,
            },
    attention_bias: false,
    mlp_bias: false,
    tie_word_embeddings: c.tieWordEmbeddings,
  };
}

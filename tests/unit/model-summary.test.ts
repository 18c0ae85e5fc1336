// The page's summary of a model from its config.json (src/io/model-summary.ts, docs/design.md
// § Models): for every architecture, tied and untied, its sizes are the config's and its
// parameter count is the core's countParameters of an initialised model — one count, read
// from the architecture's tensor table, without tfjs.
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/model/tf';
import { countParameters } from '../../src/model/causal-lm';
import { initModel } from '../../src/model/init';
import { architecture, parseModelConfig } from '../../src/model/registry';
import { ModelLoadError } from '../../src/io/errors';
import { hasUntiedHead, summarizeModelConfig } from '../../src/io/model-summary';

beforeAll(async () => {
  await useBackend('cpu');
});

const GPT2 = { model_type: 'gpt2', vocab_size: 23, n_positions: 16, n_embd: 12, n_layer: 3, n_head: 3 };
const LLAMA = {
  model_type: 'llama',
  vocab_size: 29,
  hidden_size: 12,
  intermediate_size: 20,
  num_hidden_layers: 4,
  num_attention_heads: 6,
  num_key_value_heads: 2,
  max_position_embeddings: 64,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
};
const NEOX = {
  model_type: 'gpt_neox',
  vocab_size: 31,
  hidden_size: 16,
  intermediate_size: 24,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  max_position_embeddings: 32,
  rotary_pct: 0.25,
  torch_dtype: 'float16',
};

/** The case, whether the checkpoint carries its optional tensors (an own LM head), and the expected head. */
const CASES: [string, Record<string, unknown>, boolean, boolean][] = [
  ['gpt2, tied', GPT2, false, false],
  ['gpt2, its own lm_head.weight', GPT2, true, true],
  ['llama, tied', LLAMA, false, false],
  ['llama, tied config but its own lm_head.weight', LLAMA, true, true],
  ['llama, untied', { ...LLAMA, tie_word_embeddings: false }, false, true],
  ['gpt_neox (always untied)', NEOX, false, true],
  ['gpt_neox, serial residual', { ...NEOX, use_parallel_residual: false, num_hidden_layers: 5 }, false, true],
];

describe('summarizeModelConfig', () => {
  it.each(CASES)('%s: sizes from config.json, parameters = countParameters of an initialised model', (_, json, optional, untied) => {
    const config = parseModelConfig(json);
    const model = initModel(architecture(config.modelType), config, 7, { optional });
    const names = [...model.tensors().keys()];
    const counted = countParameters(model);
    model.dispose();
    const s = summarizeModelConfig(json, 'config.json', names);
    expect(s).toMatchObject({
      modelType: config.modelType,
      nLayer: config.nLayer,
      nEmbd: config.nEmbd,
      nHead: config.nHead,
      nPositions: config.nPositions,
      vocabSize: config.vocabSize,
      parameters: counted,
      untiedHead: untied,
      float32Bytes: counted * 4,
    });
    expect(hasUntiedHead(config, names)).toBe(untied);
  });

  it('counts an optional head as tied when the tensor names are not known, and a required one always', () => {
    const tied = parseModelConfig(GPT2);
    const model = initModel(architecture('gpt2'), tied, 1);
    expect(summarizeModelConfig(GPT2).parameters).toBe(countParameters(model));
    model.dispose();
    expect(summarizeModelConfig({ ...LLAMA, tie_word_embeddings: false }).untiedHead).toBe(true);
    expect(summarizeModelConfig(NEOX).untiedHead).toBe(true);
    expect(summarizeModelConfig(LLAMA).untiedHead).toBe(false);
  });

  it('spells GPT2LMHeadModel names as the table does (transformer. prefix)', () => {
    const names = ['transformer.wte.weight', 'lm_head.weight'];
    expect(summarizeModelConfig(GPT2, 'config.json', names).untiedHead).toBe(true);
  });

  it('estimates the download from torch_dtype (float32 where none is named)', () => {
    const llama = summarizeModelConfig(LLAMA);
    expect(llama.checkpointBytes).toBe(llama.parameters * 2);
    const gpt2 = summarizeModelConfig(GPT2);
    expect(gpt2.checkpointBytes).toBe(gpt2.parameters * 4);
    expect(summarizeModelConfig(NEOX).architecture).toBe('GPT-NeoX');
  });

  it('refuses what the loader refuses, in one line naming the file and the field', () => {
    const err = (json: unknown) => {
      try {
        summarizeModelConfig(json, 'm/config.json');
      } catch (e) {
        return e as ModelLoadError;
      }
      throw new Error('expected an error');
    };
    const unknown = err({ model_type: 'falcon' });
    expect(unknown).toBeInstanceOf(ModelLoadError);
    expect(unknown.message).toBe('m/config.json: model_type "falcon" is not supported (supported: gpt2, llama, gpt_neox)');
    const bad = err({ ...LLAMA, hidden_act: 'gelu' });
    expect(bad.message).toMatch(/^m\/config\.json: hidden_act "gelu" is not supported/);
    expect(bad.message).not.toContain('\n');
  });
});

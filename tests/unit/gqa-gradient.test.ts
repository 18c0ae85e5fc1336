// Grouped-query attention is differentiable (docs/design.md § Models): training bridges into a
// Llama anchor with fewer kv heads than query heads (SmolLM2: 15 and 5) differentiates the
// stream through the anchor's blocks. The gradient equals that of the same model written with
// every kv head repeated as full multi-head attention.
import { beforeAll, describe, expect, it } from 'vitest';
import { tf, useBackend } from '../../src/model/tf';
import { initTensors } from '../../src/model/init';
import { architecture, parseModelConfig } from '../../src/model/registry';

beforeAll(async () => {
  await useBackend('cpu');
});

describe('grouped-query attention', () => {
  it('has the gradient of the equivalent multi-head model with respect to the stream', () => {
    const hf = { model_type: 'llama', vocab_size: 13, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 3, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 16 };
    const llama = architecture('llama');
    const gqaConfig = parseModelConfig(hf);
    const mhaConfig = parseModelConfig({ ...hf, num_key_value_heads: 4 });
    const tensors = initTensors(llama.tensors, gqaConfig, 5);
    // kv head j of the multi-head model is kv head j // 2 of the grouped one (rows of hd = 4).
    const widen = (w: tf.Tensor): tf.Tensor => tf.concat([0, 0, 1, 1].map((j) => tf.slice(w, [j * 4, 0], [4, 16])), 0);
    const wide = new Map([...tensors].map(([name, t]) => [name, /self_attn\.[kv]_proj/.test(name) ? widen(t) : t.clone()]));
    const gqa = llama.create(gqaConfig, tensors);
    const mha = llama.create(mhaConfig, wide);
    const x = tf.randomNormal([2, 5, 16], 0, 1, 'float32', 3) as tf.Tensor3D;
    const weights = tf.randomNormal([2, 5, 13], 0, 1, 'float32', 4);
    const loss = (m: typeof gqa) => (input: tf.Tensor) => tf.sum(tf.mul(m.forward(null, { from: 1, input: input as tf.Tensor3D }).logits!, weights));
    const [g1, g2] = [tf.grad(loss(gqa))(x), tf.grad(loss(mha))(x)];
    const [a, b] = [g1.arraySync() as number[][][], g2.arraySync() as number[][][]];
    expect(Math.max(...a.flat(2).map((v) => Math.abs(v)))).toBeGreaterThan(1e-3); // a gradient, not zeros
    const diff = Math.max(...a.flat(2).map((v, i) => Math.abs(v - b.flat(2)[i])));
    expect(diff).toBeLessThan(1e-4);
    gqa.dispose();
    mha.dispose();
    tf.dispose([x, weights, g1, g2]);
  });
});

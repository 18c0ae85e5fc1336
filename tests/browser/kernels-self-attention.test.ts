// The models' own causal self-attention through our fused kernel (src/kernels/install.ts puts
// causalAttentionFusedOrNull behind model/decoder.ts's causalAttention on WebGPU) against the
// plain tfjs ops of the same function with our kernels switched off, in Chromium with WebGPU on
// SwiftShader (docs/design.md § Kernels, § Tests): the attention alone with grouped-query heads
// and a past, forward and the gradients of q, k and v; then whole models (GPT-2, a Llama with
// grouped-query heads) with all our kernels on vs off (linear, self-attention, norm), their logits
// over a prompt and cached decoding.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/model/tf';
import { causalAttention } from '../../src/model/decoder';
import { initModel } from '../../src/model/init';
import { disposeCache, disposeResult, type CausalLM } from '../../src/model/causal-lm';
import { gpt2, type GPT2Config } from '../../src/model/gpt2';
import { llama, type LlamaConfig } from '../../src/model/llama';
import { installKernels } from '../../src/kernels/install';
import { kernelUsage, resetKernelUsage, setKernelsEnabled } from '../../src/kernels/usage';
import { TOLERANCE, maxAbs, relativeError, requireWebGPU } from './kernels-helpers';

beforeAll(async () => {
  await requireWebGPU();
  installKernels();
});
afterAll(() => setKernelsEnabled(true));

/** f with our kernels on, then off; the usage of the 'on' run. */
function onAndOff<T>(f: () => T): { fused: T; plain: T; calls: { fused: number; reference: number } } {
  setKernelsEnabled(true);
  resetKernelUsage();
  const fused = f();
  const calls = kernelUsage('webgpu').kernels.causalAttention ?? { fused: 0, reference: 0 };
  setKernelsEnabled(false);
  const plain = f();
  setKernelsEnabled(true);
  return { fused, plain, calls };
}

describe('causal self-attention: fused vs plain tfjs ops', () => {
  // [B, H, Hkv, T, S, hd]: one query after a past; a prompt; grouped-query heads; an odd head width
  const CASES: [number, number, number, number, number, number][] = [
    [1, 2, 2, 1, 7, 8],
    [2, 4, 4, 9, 9, 16],
    [2, 6, 2, 5, 12, 6],
    [1, 3, 1, 4, 4, 13],
  ];
  CASES.forEach(([B, H, Hkv, T, S, hd], n) => {
    it(`B ${B}, ${H} heads over ${Hkv} kv heads, T ${T} of S ${S}, hd ${hd}: y, dq, dk, dv within ${TOLERANCE}`, async () => {
      const q = tf.randomNormal([B, H, T, hd], 0, 1, 'float32', 10 * n) as tf.Tensor4D;
      const k = tf.randomNormal([B, Hkv, S, hd], 0, 1, 'float32', 10 * n + 1) as tf.Tensor4D;
      const v = tf.randomNormal([B, Hkv, S, hd], 0, 1, 'float32', 10 * n + 2) as tf.Tensor4D;
      const r = tf.randomNormal([B, H, T, hd], 0, 1, 'float32', 10 * n + 3) as tf.Tensor4D;
      const loss = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(causalAttention(a as tf.Tensor4D, b as tf.Tensor4D, c as tf.Tensor4D), r));
      const { fused, plain, calls } = onAndOff(() => [causalAttention(q, k, v), ...tf.grads(loss)([q, k, v])]);
      expect(calls.reference).toBe(0);
      expect(calls.fused).toBeGreaterThan(0);
      expect(await maxAbs(plain[0])).toBeGreaterThan(0);
      const errors = await Promise.all(fused.map((t, i) => relativeError(t, plain[i])));
      console.info(`causal attention case ${n}: relative error y, dq, dk, dv ${errors.map((e) => e.toExponential(2)).join(', ')}`);
      errors.forEach((e) => expect(e).toBeLessThanOrEqual(TOLERANCE));
      tf.dispose([q, k, v, r, ...fused, ...plain]);
    });
  });
});

const GPT2 = gpt2.parseConfig({ model_type: 'gpt2', vocab_size: 40, n_positions: 32, n_layer: 2, n_embd: 32, n_head: 4 }, 'config.json') as GPT2Config;
const LLAMA = llama.parseConfig(
  {
    model_type: 'llama',
    vocab_size: 40,
    hidden_size: 36,
    intermediate_size: 48,
    num_hidden_layers: 2,
    num_attention_heads: 6,
    num_key_value_heads: 2,
    max_position_embeddings: 32,
    tie_word_embeddings: true,
  },
  'config.json',
) as LlamaConfig;

/** Logits of a 6-token prompt, then of 3 more tokens decoded one at a time with the KV cache: [prompt, step 1, 2, 3]. */
function promptAndDecode(model: CausalLM): tf.Tensor[] {
  const out: tf.Tensor[] = [];
  const cache = model.newCache(2);
  const prompt = tf.tensor2d([[1, 5, 9, 2, 7, 3], [4, 4, 8, 1, 0, 6]], [2, 6], 'int32');
  const r = model.forward(prompt, {}, cache);
  out.push(r.logits!);
  r.logits = undefined;
  disposeResult(r);
  for (const id of [11, 12, 13]) {
    const step = model.forward(tf.tensor2d([[id], [id + 1]], [2, 1], 'int32'), {}, cache);
    out.push(step.logits!);
    step.logits = undefined;
    disposeResult(step);
  }
  disposeCache(cache);
  prompt.dispose();
  return out;
}

describe('whole models on WebGPU: fused self-attention vs plain tfjs ops', () => {
  for (const [name, make] of [
    ['GPT-2', () => initModel(gpt2, GPT2, 3)],
    ['Llama (6 heads over 2 kv heads)', () => initModel(llama, LLAMA, 4)],
  ] as const) {
    it(`${name}: prompt logits and cached decoding within ${TOLERANCE}`, async () => {
      const model = make();
      const { fused, plain, calls } = onAndOff(() => promptAndDecode(model));
      expect(calls).toEqual({ fused: 2 * 4, reference: 0 }); // 2 blocks × (prompt + 3 steps)
      const errors = await Promise.all(fused.map((t, i) => relativeError(t, plain[i])));
      console.info(`${name}: relative error of logits (prompt, steps 1–3) ${errors.map((e) => e.toExponential(2)).join(', ')}`);
      errors.forEach((e) => expect(e).toBeLessThanOrEqual(TOLERANCE));
      tf.dispose([...fused, ...plain]);
      model.dispose();
    });
  }
});

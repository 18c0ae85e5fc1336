// The fused cross-attention WGSL kernel against crossAttentionReference, forward and gradients,
// in Chromium with WebGPU on SwiftShader (DESIGN §4). Odd sizes on purpose: rows not a multiple of the
// workgroup, one head, head widths that are not powers of two (and not multiples of 4), T = 1,
// S > T with past > 0, padding masks including rows that see only padding. Shapes stay small:
// SwiftShader runs the shaders on the CPU.
import { beforeAll, describe, expect, it } from 'vitest';
import { tf, useBackend } from '../../src/model/tf';
import {
  crossAttention,
  crossAttentionFused,
  crossAttentionReference,
  fusedCrossAttentionUnsupported,
  type CrossAttentionOptions,
} from '../../src/kernels/cross-attention';
import { TOLERANCE, maxAbs, relativeError, requireWebGPU } from './kernels-helpers';

interface Case {
  name: string;
  B: number;
  h: number;
  T: number;
  S: number;
  hd: number;
  past?: number;
  /** keyMask rows as strings of 1/0, one per batch entry, length S. */
  mask?: string[];
}

const CASES: Case[] = [
  { name: 'T = S = 1, one head, hd 5', B: 1, h: 1, T: 1, S: 1, hd: 5 },
  { name: 'B 2, 3 heads, T = S = 7, hd 8', B: 2, h: 3, T: 7, S: 7, hd: 8 },
  { name: 'T = S = 33 (99 rows: not a multiple of 64), hd 24', B: 1, h: 3, T: 33, S: 33, hd: 24 },
  { name: 'S > T, past 5, right padding, one head, hd 5', B: 2, h: 1, T: 7, S: 12, hd: 5, past: 5, mask: ['111111111111', '111111111000'] },
  { name: 'left padding: rows that see only padding', B: 2, h: 3, T: 5, S: 9, hd: 24, past: 1, mask: ['000011111', '111111100'] },
  { name: 'a batch row that is all padding', B: 2, h: 1, T: 4, S: 4, hd: 8, mask: ['0000', '1100'] },
  { name: 'keys after the last query (S > past + T), hd 24', B: 1, h: 3, T: 5, S: 20, hd: 24, past: 3 },
  { name: 'T = 1 decode step, past 8, masked', B: 2, h: 3, T: 1, S: 9, hd: 24, past: 8, mask: ['111111111', '111110000'] },
  { name: 'T 33, S 40, past 7, masked, hd 8', B: 2, h: 1, T: 33, S: 40, hd: 8, past: 7, mask: ['1'.repeat(40), '1'.repeat(30) + '0'.repeat(10)] },
  { name: 'hd 64 (vec4 path), 2 heads, T = S = 9', B: 1, h: 2, T: 9, S: 9, hd: 64 },
  { name: 'hd 6 (not a multiple of 4), past 2', B: 1, h: 2, T: 3, S: 6, hd: 6, past: 2 },
];

function inputs(c: Case, seed: number) {
  const q = tf.randomNormal([c.B, c.h, c.T, c.hd], 0, 1, 'float32', seed) as tf.Tensor4D;
  const k = tf.randomNormal([c.B, c.h, c.S, c.hd], 0, 1, 'float32', seed + 1) as tf.Tensor4D;
  const v = tf.randomNormal([c.B, c.h, c.S, c.hd], 0, 1, 'float32', seed + 2) as tf.Tensor4D;
  // A random cotangent, so that every output element's gradient matters.
  const w = tf.randomNormal([c.B, c.h, c.T, c.hd], 0, 1, 'float32', seed + 3) as tf.Tensor4D;
  const opts: CrossAttentionOptions = { past: c.past ?? 0 };
  if (c.mask) opts.keyMask = tf.tensor2d(c.mask.map((r) => [...r].map(Number)), [c.B, c.S]);
  return { q, k, v, w, opts };
}

type Attention = (q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, opts: CrossAttentionOptions) => tf.Tensor4D;

/** Output and dq, dk, dv of sum(attention(q, k, v) ⊙ w). */
function forwardAndGrads(f: Attention, q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, w: tf.Tensor4D, opts: CrossAttentionOptions) {
  const out = f(q, k, v, opts);
  const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(f(a as tf.Tensor4D, b as tf.Tensor4D, c as tf.Tensor4D, opts), w)))([q, k, v]);
  return [out, ...grads];
}

beforeAll(requireWebGPU);

describe('fused cross-attention (row-wise WGSL) vs crossAttentionReference', () => {
  CASES.forEach((c, n) => {
    it(`${c.name}: forward, dQ, dK, dV within ${TOLERANCE}`, async () => {
      const { fused, ref } = tf.tidy(() => {
        const { q, k, v, w, opts } = inputs(c, 10 * n + 1);
        expect(fusedCrossAttentionUnsupported(q, k, v, opts)).toBeNull();
        return {
          fused: forwardAndGrads(crossAttentionFused, q, k, v, w, opts),
          ref: forwardAndGrads(crossAttentionReference, q, k, v, w, opts),
        };
      });
      const errors = await Promise.all(fused.map((t, i) => relativeError(t, ref[i])));
      // the output is never all zeros: a lost device that reads back zeros cannot pass
      expect(await maxAbs(ref[0])).toBeGreaterThan(0);
      tf.dispose([...fused, ...ref]);
      console.info(`${c.name}: relative error out ${errors[0].toExponential(2)}, dq ${errors[1].toExponential(2)}, dk ${errors[2].toExponential(2)}, dv ${errors[3].toExponential(2)}`);
      errors.forEach((e) => expect(e).toBeLessThanOrEqual(TOLERANCE));
    });
  });

  it('crossAttention runs the fused kernel on WebGPU: no matmul, no softmax, no [B, h, T, S] tensor', async () => {
    const c: Case = { name: '', B: 1, h: 2, T: 16, S: 24, hd: 8, past: 8 };
    const { q, k, v, w, opts } = inputs(c, 500);
    const info = await tf.profile(() => crossAttention(q, k, v, opts));
    expect(info.kernelNames).not.toContain('BatchMatMul');
    expect(info.kernelNames).not.toContain('Softmax');
    const scores = c.B * c.h * c.T * c.S;
    info.kernels.forEach((kernel) => kernel.outputShapes.forEach((s) => expect(s.reduce((a, b) => a * b, 1)).toBeLessThan(scores)));
    // and it is the fused kernel's answer
    const [viaDispatch, fused] = [crossAttention(q, k, v, opts), crossAttentionFused(q, k, v, opts)];
    expect(await relativeError(viaDispatch, fused)).toBe(0);
    tf.dispose([q, k, v, w, viaDispatch, fused, info.result as tf.Tensor]);
  });
});

describe('shapes the fused kernel does not take fall back to the reference', () => {
  it('head width above the limit (130)', async () => {
    const { q, k, v, w, opts } = inputs({ name: '', B: 1, h: 1, T: 3, S: 4, hd: 130, past: 1 }, 900);
    expect(fusedCrossAttentionUnsupported(q, k, v, opts)).toMatch(/head width/);
    expect(() => crossAttentionFused(q, k, v, opts)).toThrow(/head width/);
    const got = forwardAndGrads(crossAttention, q, k, v, w, opts);
    const want = forwardAndGrads(crossAttentionReference, q, k, v, w, opts);
    for (let i = 0; i < 4; i++) expect(await relativeError(got[i], want[i])).toBe(0);
    tf.dispose([q, k, v, w, ...got, ...want]);
  });

  it('queries broadcast over the batch of keys (q batch 1, k/v batch 2)', async () => {
    const q = tf.randomNormal([1, 2, 3, 8], 0, 1, 'float32', 910) as tf.Tensor4D;
    const k = tf.randomNormal([2, 2, 3, 8], 0, 1, 'float32', 911) as tf.Tensor4D;
    const v = tf.randomNormal([2, 2, 3, 8], 0, 1, 'float32', 912) as tf.Tensor4D;
    expect(fusedCrossAttentionUnsupported(q, k, v)).toMatch(/does not match/);
    const [got, want] = [crossAttention(q, k, v), crossAttentionReference(q, k, v)];
    expect(got.shape).toEqual([2, 2, 3, 8]);
    expect(await relativeError(got, want)).toBe(0);
    tf.dispose([q, k, v, got, want]);
  });

  it('not on WebGPU: crossAttention is the reference', async () => {
    const { q, k, v, opts } = inputs({ name: '', B: 1, h: 2, T: 4, S: 6, hd: 8, past: 2 }, 920);
    const [qc, kc, vc] = await Promise.all([q, k, v].map(async (t) => ({ data: await t.data(), shape: t.shape })));
    await useBackend('cpu');
    try {
      const [a, b, c] = [qc, kc, vc].map((t) => tf.tensor4d(t.data as Float32Array, t.shape as [number, number, number, number]));
      expect(fusedCrossAttentionUnsupported(a, b, c, { past: 2 })).toMatch(/not webgpu/);
      const [got, want] = [crossAttention(a, b, c, { past: 2 }), crossAttentionReference(a, b, c, { past: 2 })];
      expect(await relativeError(got, want)).toBe(0);
      tf.dispose([a, b, c, got, want]);
    } finally {
      await useBackend('webgpu');
    }
    tf.dispose([q, k, v, opts.keyMask].filter((t) => t !== undefined));
  });
});

// linearOutIn and lmHead (src/model/decoder.ts) over frozen nn.Linear weights [out, in]: the
// values of x·Wᵀ + b, the gradient in x (dy·W), and a backward pass that keeps no copy of the
// weights (a bridge-training step at SmolLM2-360M's shapes ran out of the wasm heap when every
// transposed weight and a zero gradient of each were kept until the end of the step); and the
// gradient of grouped-query attention, which bridge training backpropagates through.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf, useBackend } from '../../src/model/tf';
import { causalAttention, linearOutIn, lmHead } from '../../src/model/decoder';

const L = 8;
const D = 128;
let weights: tf.Tensor2D[];
let biases: tf.Tensor1D[];

beforeAll(async () => {
  await useBackend('wasm');
  weights = Array.from({ length: L }, (_, i) => tf.randomNormal([D, D], 0, 0.1, 'float32', 10 + i) as tf.Tensor2D);
  biases = Array.from({ length: L }, (_, i) => tf.randomNormal([D], 0, 0.1, 'float32', 40 + i) as tf.Tensor1D);
});

afterAll(() => tf.dispose([...weights, ...biases]));

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`${a.length} values vs ${b.length}`);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
}

async function values(t: tf.Tensor): Promise<Float32Array> {
  const v = (await t.data()) as Float32Array;
  t.dispose();
  return v;
}

describe('frozen linears (nn.Linear [out, in])', () => {
  it('linearOutIn is x·Wᵀ + b and its gradient in x is dy·W', async () => {
    const w = tf.randomNormal([6, 5], 0, 1, 'float32', 1) as tf.Tensor2D; // [out, in]
    const b = tf.randomNormal([6], 0, 1, 'float32', 2) as tf.Tensor1D;
    const x = tf.randomNormal([2, 3, 5], 0, 1, 'float32', 3);
    const c = tf.randomNormal([2, 3, 6], 0, 1, 'float32', 4); // a loss weighting every output
    const ref = (t: tf.Tensor) => tf.add(tf.matMul(tf.reshape(t, [6, 5]), w, false, true), b).reshape([2, 3, 6]);
    expect(linearOutIn(x, w, b).shape).toEqual([2, 3, 6]);
    expect(maxAbsDiff(await values(linearOutIn(x, w, b)), await values(ref(x)))).toBeLessThan(1e-5);
    const got = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(linearOutIn(t, w, b), c)))(x);
    const want = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(ref(t), c)))(x);
    expect(got.shape).toEqual([2, 3, 5]);
    expect(maxAbsDiff(await values(got), await values(want))).toBeLessThan(1e-5);
    tf.dispose([w, b, x, c]);
  });

  it('lmHead is x·Wᵀ over a head [V, D], differentiable in x', async () => {
    const w = tf.randomNormal([7, 4], 0, 1, 'float32', 5) as tf.Tensor2D; // [V, D]
    const x = tf.randomNormal([1, 3, 4], 0, 1, 'float32', 6) as tf.Tensor3D;
    const c = tf.randomNormal([1, 3, 7], 0, 1, 'float32', 7);
    const ref = (t: tf.Tensor) => tf.matMul(tf.reshape(t, [3, 4]), w, false, true).reshape([1, 3, 7]);
    expect(maxAbsDiff(await values(lmHead(x, w)), await values(ref(x)))).toBeLessThan(1e-5);
    const got = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(lmHead(t as tf.Tensor3D, w), c)))(x);
    const want = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(ref(t), c)))(x);
    expect(maxAbsDiff(await values(got), await values(want))).toBeLessThan(1e-5);
    tf.dispose([w, x, c]);
  });

  it('a trainable weight keeps the old path: its gradient is not computed, the one in x is', async () => {
    const w = tf.variable(tf.randomNormal([3, 4], 0, 1, 'float32', 8) as tf.Tensor2D);
    const x = tf.variable(tf.randomNormal([2, 4], 0, 1, 'float32', 9));
    const { grads } = tf.variableGrads(() => tf.sum(linearOutIn(x, w)) as tf.Scalar, [w, x]);
    const wantX = tf.tidy(() => tf.matMul(tf.ones([2, 3]), w)); // d sum(x·Wᵀ) / dx = 1·W
    expect(maxAbsDiff(await values(grads[x.name]), await values(wantX))).toBeLessThan(1e-5);
    expect(Math.max(...Array.from(await values(grads[w.name])).map(Math.abs))).toBe(0);
    tf.dispose([w, x]);
  });

  it('backpropagating through a stack of frozen linears keeps no copy of the weights', async () => {
    const x = tf.variable(tf.randomNormal([2, D], 0, 1, 'float32', 11));
    const weightBytes = L * D * D * 4;
    const before = tf.memory().numBytes; // peakBytes counts every live tensor, the weights included
    const info = await tf.profile(() => {
      const { value, grads } = tf.variableGrads(() => {
        let h: tf.Tensor = x;
        for (let i = 0; i < L; i++) h = linearOutIn(h, weights[i], biases[i]);
        return tf.sum(h) as tf.Scalar;
      }, [x]);
      return [value, grads[x.name]];
    });
    // Kept transposes plus zero weight gradients were 3× the weights (measured: 1.6 MB here); one transposed weight at a
    // time (the forward pass's, freed after its matMul) is 1/L of them.
    expect(info.peakBytes - before).toBeLessThan(weightBytes / 2);
    x.dispose();
  });

  it('grouped-query attention has gradients in q, k and v (each query head reads kv head h // (H/Hkv))', async () => {
    const [B, H, Hkv, T, hd] = [2, 6, 2, 3, 4];
    const q = tf.randomNormal([B, H, T, hd], 0, 1, 'float32', 21) as tf.Tensor4D;
    const k = tf.randomNormal([B, Hkv, T, hd], 0, 1, 'float32', 22) as tf.Tensor4D;
    const v = tf.randomNormal([B, Hkv, T, hd], 0, 1, 'float32', 23) as tf.Tensor4D;
    const c = tf.randomNormal([B, H, T, hd], 0, 1, 'float32', 24);
    // repeat_kv by slices and a concat (their own gradients): heads 0,0,0,1,1,1
    const repeat = (t: tf.Tensor4D) => tf.concat([0, 0, 0, 1, 1, 1].map((h) => tf.slice(t, [0, h, 0, 0], [-1, 1, -1, -1])), 1) as tf.Tensor4D;
    const loss = (f: (q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D) => tf.Tensor) => (a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) =>
      tf.sum(tf.mul(f(a as tf.Tensor4D, b as tf.Tensor4D, d as tf.Tensor4D), c));
    const got = tf.grads(loss(causalAttention))([q, k, v]);
    const want = tf.grads(loss((a, b, d) => causalAttention(a, repeat(b), repeat(d))))([q, k, v]);
    for (let i = 0; i < 3; i++) {
      expect(got[i].shape).toEqual([q, k, v][i].shape);
      expect(maxAbsDiff(await values(got[i]), await values(want[i]))).toBeLessThan(1e-5);
    }
    tf.dispose([q, k, v, c]);
  });
});

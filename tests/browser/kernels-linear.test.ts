// The WGSL linear (register-tiled matmul + bias, and its WGSL backward) against linearReference,
// in Chromium with WebGPU on SwiftShader (docs/design.md § Tests). Odd row counts (not a multiple of the
// 4-row tile or of the workgroup), one row, widths that are multiples of 4 but not powers of 2.
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/model/tf';
import { fusedLinearUnsupported, linear2d, linearFused, linearReference, type LinearOptions } from '../../src/kernels/linear';
import { TOLERANCE, maxAbs, relativeError, requireWebGPU } from './kernels-helpers';

interface Case {
  M: number;
  K: number;
  N: number;
  bias: boolean;
}

const CASES: Case[] = [
  { M: 1, K: 4, N: 4, bias: true },
  { M: 5, K: 12, N: 8, bias: true },
  { M: 7, K: 8, N: 20, bias: false },
  { M: 70, K: 24, N: 36, bias: true },
  { M: 33, K: 128, N: 12, bias: true },
];

type Linear = (x: tf.Tensor2D, w: tf.Tensor2D, b?: tf.Tensor1D, opts?: LinearOptions) => tf.Tensor2D;

/** y and the gradients of sum(y ⊙ r) in x, W (and b). */
function forwardAndGrads(f: Linear, x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D | undefined, r: tf.Tensor2D): tf.Tensor[] {
  const loss = (...t: tf.Tensor[]) => tf.sum(tf.mul(f(t[0] as tf.Tensor2D, t[1] as tf.Tensor2D, t[2] as tf.Tensor1D | undefined), r));
  return [f(x, w, b), ...tf.grads(loss)(b ? [x, w, b] : [x, w])];
}

function inputs(c: Case, seed: number) {
  return {
    x: tf.randomNormal([c.M, c.K], 0, 1, 'float32', seed) as tf.Tensor2D,
    w: tf.randomNormal([c.K, c.N], 0, 0.5, 'float32', seed + 1) as tf.Tensor2D,
    b: c.bias ? (tf.randomNormal([c.N], 0, 1, 'float32', seed + 2) as tf.Tensor1D) : undefined,
    r: tf.randomNormal([c.M, c.N], 0, 1, 'float32', seed + 3) as tf.Tensor2D,
  };
}

beforeAll(requireWebGPU);

describe('WGSL linear (register-tiled) vs linearReference', () => {
  CASES.forEach((c, n) => {
    const name = `[${c.M}, ${c.K}] · [${c.K}, ${c.N}]${c.bias ? ' + b' : ''}`;
    it(`${name}: y, dx, dW${c.bias ? ', db' : ''} within ${TOLERANCE}`, async () => {
      const { x, w, b, r } = inputs(c, 100 + 10 * n);
      expect(fusedLinearUnsupported(x, w, b)).toBeNull();
      const fused = forwardAndGrads(linearFused, x, w, b, r);
      const ref = forwardAndGrads(linearReference, x, w, b, r);
      expect(await maxAbs(ref[0])).toBeGreaterThan(0);
      const errors = await Promise.all(fused.map((t, i) => relativeError(t, ref[i])));
      console.info(`${name}: relative error ${['y', 'dx', 'dW', 'db'].slice(0, errors.length).map((k, i) => `${k} ${errors[i].toExponential(2)}`).join(', ')}`);
      errors.forEach((e) => expect(e).toBeLessThanOrEqual(TOLERANCE));
      tf.dispose([x, w, r, ...(b ? [b] : []), ...fused, ...ref]);
    });
  });

  it('weightGrads: false gives dx alone (dW, db zero)', async () => {
    const { x, w, b, r } = inputs({ M: 6, K: 8, N: 8, bias: true }, 300);
    const [dx, dw, db] = tf.grads((...t: tf.Tensor[]) => tf.sum(tf.mul(linearFused(t[0] as tf.Tensor2D, t[1] as tf.Tensor2D, t[2] as tf.Tensor1D, { weightGrads: false }), r)))([x, w, b!]);
    const [dxRef] = tf.grads((...t: tf.Tensor[]) => tf.sum(tf.mul(linearReference(t[0] as tf.Tensor2D, t[1] as tf.Tensor2D, t[2] as tf.Tensor1D), r)))([x, w, b!]);
    expect(await relativeError(dx, dxRef)).toBeLessThanOrEqual(TOLERANCE);
    expect(await maxAbs(dw)).toBe(0);
    expect(await maxAbs(db)).toBe(0);
    tf.dispose([x, w, b!, r, dx, dw, db, dxRef]);
  });
});

describe('shapes the WGSL linear does not take fall back to the reference', () => {
  it('an output width that is not a multiple of 4', async () => {
    const { x, w, b, r } = inputs({ M: 3, K: 8, N: 6, bias: true }, 400);
    expect(fusedLinearUnsupported(x, w, b)).toMatch(/multiples of 4/);
    expect(() => linearFused(x, w, b)).toThrow(/multiples of 4/);
    const got = forwardAndGrads(linear2d, x, w, b, r);
    const want = forwardAndGrads(linearReference, x, w, b, r);
    for (let i = 0; i < got.length; i++) expect(await relativeError(got[i], want[i])).toBe(0);
    tf.dispose([x, w, b!, r, ...got, ...want]);
  });

  it('an input width that is not a multiple of 4', async () => {
    const { x, w, r } = inputs({ M: 3, K: 5, N: 8, bias: false }, 410);
    expect(fusedLinearUnsupported(x, w)).toMatch(/multiples of 4/);
    const [got, want] = [linear2d(x, w), linearReference(x, w)];
    expect(await relativeError(got, want)).toBe(0);
    tf.dispose([x, w, r, got, want]);
  });
});

// The WGSL row-wise LayerNorm / RMSNorm (src/kernels/norm-rowwise-webgpu.ts) against normReference,
// in Chromium with WebGPU on SwiftShader (docs/design.md § Kernels, § Tests): y and dx (the weights
// are frozen: the kernel gives them no gradient), one row, odd row counts, widths that are
// multiples of 4 but not powers of 2, large offsets (the centring matters), and the cases it
// declines.
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/model/tf';
import { fusedNormUnsupported, normFused, normReference } from '../../src/kernels/norm';
import { TOLERANCE, maxAbs, relativeError, requireWebGPU } from './kernels-helpers';

beforeAll(requireWebGPU);

// [M, D, centre (LayerNorm) or not (RMSNorm), offset added to x]
const CASES: [number, number, boolean, number][] = [
  [1, 4, true, 0],
  [7, 36, true, 3],
  [70, 128, true, 0],
  [5, 12, false, 0],
  [33, 96, false, 1],
];

describe('WGSL norm vs normReference', () => {
  CASES.forEach(([M, D, centre, offset], n) => {
    const name = `${centre ? 'LayerNorm' : 'RMSNorm'} [${M}, ${D}]${offset ? ` offset ${offset}` : ''}`;
    it(`${name}: y and dx within ${TOLERANCE}`, async () => {
      const x = tf.add(tf.randomNormal([M, D], 0, 1, 'float32', 10 * n), offset) as tf.Tensor2D;
      const gamma = tf.randomNormal([D], 1, 0.3, 'float32', 10 * n + 1) as tf.Tensor1D;
      const beta = centre ? (tf.randomNormal([D], 0, 0.3, 'float32', 10 * n + 2) as tf.Tensor1D) : undefined;
      const r = tf.randomNormal([M, D], 0, 1, 'float32', 10 * n + 3);
      expect(fusedNormUnsupported(x, gamma, beta, true)).toBeNull();
      const run = (f: typeof normReference) => [f(x, gamma, beta, 1e-5, centre), tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(f(xi as tf.Tensor2D, gamma, beta, 1e-5, centre), r)))(x)];
      const fused = run(normFused);
      const ref = run(normReference);
      expect(await maxAbs(ref[1])).toBeGreaterThan(0);
      const errors = await Promise.all(fused.map((t, i) => relativeError(t, ref[i])));
      console.info(`${name}: relative error y ${errors[0].toExponential(2)}, dx ${errors[1].toExponential(2)}`);
      errors.forEach((e) => expect(e).toBeLessThanOrEqual(TOLERANCE));
      tf.dispose([x, gamma, r, ...(beta ? [beta] : []), ...fused, ...ref]);
    });
  });

  it('declines trainable weights and widths that are no multiple of 4, saying why', () => {
    const x = tf.ones([3, 8]) as tf.Tensor2D;
    const gamma = tf.ones([8]) as tf.Tensor1D;
    expect(fusedNormUnsupported(x, gamma, undefined, false)).toBe('trainable norm weights are not fused (no γ, β gradient)');
    expect(fusedNormUnsupported(tf.ones([3, 6]), tf.ones([6]), undefined, true)).toBe('width 6 is not a multiple of 4');
    expect(fusedNormUnsupported(x, tf.ones([4]), undefined, true)).toBe('γ [4] or β is not [8]');
    tf.dispose([x, gamma]);
  });
});

// The wiring of our kernels (docs/design.md § Kernels) off WebGPU: model/ops.ts's `linear`
// consults the registry of backend kernels (here a recording kernel on cpu), passes frozen
// weights as weightGrads false and falls back to plain tfjs on null; the dispatchers count
// fused and reference calls with the reason; and the status line's text. The WGSL kernels
// themselves, dispatched by the real worker, are proven in tests/browser/kernels-wire.test.ts.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tf, useBackend } from '../../src/model/tf';
import { linear, setBackendLinear } from '../../src/model/ops';
import { crossAttention } from '../../src/kernels/cross-attention';
import { linear2d } from '../../src/kernels/linear';
import { kernelUsage, recordCall, recordDispatch, resetKernelUsage, setKernelsEnabled, SWITCHED_OFF, type KernelUsage } from '../../src/kernels/usage';
import { describeKernels } from '../../src/ui/StatusLine';

beforeAll(async () => {
  await useBackend('cpu');
});

afterEach(() => {
  setBackendLinear('cpu', undefined);
  setKernelsEnabled(true);
  resetKernelUsage();
});

describe('linear consults the backend registry', () => {
  it('hands the active backend\'s kernel x as [B·T, K], weightGrads from the weights, and reshapes its answer', async () => {
    const seen: { shape: number[]; weightGrads: boolean }[] = [];
    setBackendLinear('cpu', (x, w, b, weightGrads) => {
      seen.push({ shape: x.shape, weightGrads });
      return tf.fill([x.shape[0], w.shape[1]], 7) as tf.Tensor2D; // recognisable: not x·W + b
    });
    const x = tf.ones([2, 3, 4]); // [B, T, K]
    const frozenW = tf.ones([4, 8]) as tf.Tensor2D;
    const frozenB = tf.zeros([8]) as tf.Tensor1D;
    const trainW = tf.variable(tf.ones([4, 8])) as tf.Variable<tf.Rank.R2>;
    const trainB = tf.variable(tf.zeros([8])) as tf.Variable<tf.Rank.R1>;
    const y = linear(x, frozenW, frozenB);
    expect(y.shape).toEqual([2, 3, 8]);
    expect(Array.from(await y.data()).every((v) => v === 7)).toBe(true);
    linear(x, trainW, trainB);
    linear(x, frozenW, trainB); // a trainable bias alone still needs the weight-side gradients
    expect(seen).toEqual([
      { shape: [6, 4], weightGrads: false },
      { shape: [6, 4], weightGrads: true },
      { shape: [6, 4], weightGrads: true },
    ]);
    tf.dispose([x, frozenW, frozenB, trainW, trainB, y]);
  });

  it('runs plain tfjs when the kernel answers null, and when none is installed for the backend', async () => {
    let asked = 0;
    setBackendLinear('cpu', () => {
      asked++;
      return null;
    });
    const x = tf.tensor2d([
      [1, 2],
      [3, 4],
    ]);
    const w = tf.tensor2d([
      [1, 0, 2],
      [0, 1, 3],
    ]) as tf.Tensor2D;
    const b = tf.tensor1d([10, 20, 30]) as tf.Tensor1D;
    const want = [11, 22, 38, 13, 24, 48];
    expect(Array.from(await linear(x, w, b).data())).toEqual(want);
    expect(asked).toBe(1);
    setBackendLinear('webgpu', () => {
      throw new Error('a kernel of another backend must not be asked');
    });
    try {
      setBackendLinear('cpu', undefined);
      expect(Array.from(await linear(x, w, b).data())).toEqual(want);
    } finally {
      setBackendLinear('webgpu', undefined);
    }
  });
});

describe('the dispatchers count what ran', () => {
  it('records reference calls with the reason off WebGPU, and the switch\'s reason when our kernels are off', () => {
    const q = tf.ones([1, 2, 3, 4]) as tf.Tensor4D; // [B, h, T, hd]
    const x = tf.ones([2, 4]) as tf.Tensor2D;
    const w = tf.ones([4, 4]) as tf.Tensor2D;
    tf.dispose([crossAttention(q, q, q), linear2d(x, w)]);
    setKernelsEnabled(false);
    tf.dispose(linear2d(x, w));
    const u = kernelUsage('cpu');
    expect(u).toEqual({
      backend: 'cpu',
      enabled: false,
      kernels: {
        crossAttention: { fused: 0, reference: 1, lastReason: 'backend is cpu, not webgpu' },
        linear: { fused: 0, reference: 2, lastReason: SWITCHED_OFF },
      },
      dispatches: {},
    });
    tf.dispose([q, x, w]);
  });

  it('counts fused calls and dispatches per program key; a snapshot is a copy and reset zeroes it', () => {
    recordCall('linear', null);
    recordCall('linear', null);
    recordDispatch('matmulRegisterTiled_tA0_tB0_bias1_wg64');
    recordDispatch('matmulRegisterTiled_tA0_tB0_bias1_wg64');
    const u = kernelUsage('webgpu');
    recordCall('linear', null);
    expect(u.kernels.linear).toEqual({ fused: 2, reference: 0 });
    expect(u.dispatches).toEqual({ matmulRegisterTiled_tA0_tB0_bias1_wg64: 2 });
    resetKernelUsage();
    expect(kernelUsage('webgpu')).toEqual({ backend: 'webgpu', enabled: true, kernels: {}, dispatches: {} });
  });
});

describe('describeKernels (the status line)', () => {
  const usage = (over: Partial<KernelUsage>): KernelUsage => ({ backend: 'webgpu', enabled: true, kernels: {}, dispatches: {}, ...over });

  it('says plain tfjs ops off WebGPU, whatever the counters hold', () => {
    expect(describeKernels(usage({ backend: 'wasm', kernels: { crossAttention: { fused: 0, reference: 5, lastReason: 'backend is wasm, not webgpu' } } }))).toBe('WebAssembly: plain tfjs ops');
    expect(describeKernels(usage({ backend: 'cpu' }))).toBe('plain JavaScript (cpu): plain tfjs ops');
  });

  it('names each kernel fused or reference, with the last reason, and counts the WGSL programs', () => {
    const u = usage({
      kernels: {
        crossAttention: { fused: 12, reference: 0 },
        linear: { fused: 40, reference: 2, lastReason: 'widths 96 → 6 are not multiples of 4' },
      },
      dispatches: { a: 3, b: 4, c: 1 },
    });
    expect(describeKernels(u)).toBe('WebGPU: cross-attention fused ×12; linear fused ×40, reference ×2 (widths 96 → 6 are not multiples of 4) — 3 WGSL programs');
    expect(describeKernels(usage({ kernels: { linear: { fused: 0, reference: 1, lastReason: 'x, W and b must be float32' } } }))).toBe(
      'WebGPU: linear reference ×1 (x, W and b must be float32) — 0 WGSL programs',
    );
  });

  it('says when nothing ran yet and when our kernels are switched off', () => {
    expect(describeKernels(usage({}))).toBe('WebGPU: none of our kernels has run yet');
    expect(describeKernels(usage({ enabled: false }))).toBe('WebGPU: our kernels are switched off (plain tfjs-webgpu ops)');
  });
});

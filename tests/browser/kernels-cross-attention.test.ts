// The fused cross-attention WGSL kernel against crossAttentionReference, forward and gradients,
// in Chromium with WebGPU on SwiftShader (docs/design.md § Tests). Odd sizes on purpose: rows not
// a multiple of the workgroup, one head, head widths that are not powers of two (and not
// multiples of 4), T = 1, S > T with past > 0, padding masks including rows that see only
// padding; with and without a bridge's relative-position bias (every bucket, offsets beyond the
// last one, future keys). Shapes stay small: SwiftShader runs the shaders on the CPU.
import { beforeAll, describe, expect, it } from 'vitest';
import { tf, useBackend } from '../../src/model/tf';
import {
  crossAttention,
  crossAttentionFused,
  crossAttentionReference,
  fusedCrossAttentionUnsupported,
  type CrossAttentionOptions,
} from '../../src/kernels/cross-attention';
import {
  CrossAttentionBiasGradProgram,
  CrossAttentionRowwiseBackwardKeyValueProgram,
  CrossAttentionRowwiseBackwardQueryProgram,
  CrossAttentionRowwiseForwardProgram,
  type RowwiseConfig,
} from '../../src/kernels/cross-attention-rowwise-webgpu';
import { activeWebGPUBackend, runProgram, storageBuffersOf, type WebGPUProgram } from '../../src/kernels/webgpu-program';
import { bridgeOutput, bridgeKeysValues, initBridge } from '../../src/calm/bridge';
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
  /** R: a relative-position bias [h, R] (positionBias), random. */
  buckets?: number;
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

/** With a relative-position bias: offsets past + i − j run from −(S − 1) to past + T − 1. */
const BIAS_CASES: Case[] = [
  { name: 'bias: T = S = 1, one head, hd 5, R 3', B: 1, h: 1, T: 1, S: 1, hd: 5, buckets: 3 },
  { name: 'bias: every bucket and beyond R (offsets 0…8, R 5), hd 6', B: 1, h: 2, T: 9, S: 9, hd: 6, buckets: 5 },
  { name: 'bias: one bucket (R = 1), hd 7', B: 2, h: 1, T: 4, S: 4, hd: 7, buckets: 1 },
  { name: 'bias: two buckets (R = 2), hd 7, past 1', B: 2, h: 1, T: 4, S: 6, hd: 7, past: 1, buckets: 2 },
  { name: 'bias: R beyond every offset (R 16, offsets 0…4), hd 8', B: 1, h: 3, T: 5, S: 5, hd: 8, buckets: 16 },
  { name: 'bias: T = 1 decode step, past 8, masked, hd 24, R 4', B: 2, h: 3, T: 1, S: 9, hd: 24, past: 8, mask: ['111111111', '111110000'], buckets: 4 },
  { name: 'bias: S > T, past 5, right padding, one head, hd 5, R 4', B: 2, h: 1, T: 7, S: 12, hd: 5, past: 5, mask: ['111111111111', '111111111000'], buckets: 4 },
  { name: 'bias: left padding, rows that see only padding (future keys: bucket R − 1), R 3', B: 2, h: 3, T: 5, S: 9, hd: 24, past: 1, mask: ['000011111', '111111100'], buckets: 3 },
  { name: 'bias: a batch row that is all padding, R 2', B: 2, h: 1, T: 4, S: 4, hd: 8, mask: ['0000', '1100'], buckets: 2 },
  { name: 'bias: keys after the last query (S > past + T), R 6', B: 1, h: 3, T: 5, S: 20, hd: 24, past: 3, buckets: 6 },
  { name: 'bias: T 33, S 40, past 7, masked, hd 8, R 8', B: 2, h: 1, T: 33, S: 40, hd: 8, past: 7, mask: ['1'.repeat(40), '1'.repeat(30) + '0'.repeat(10)], buckets: 8 },
  { name: 'bias: hd 64 (vec4 path), 2 heads, T = S = 9, R 5', B: 1, h: 2, T: 9, S: 9, hd: 64, buckets: 5 },
];

function inputs(c: Case, seed: number) {
  const q = tf.randomNormal([c.B, c.h, c.T, c.hd], 0, 1, 'float32', seed) as tf.Tensor4D;
  const k = tf.randomNormal([c.B, c.h, c.S, c.hd], 0, 1, 'float32', seed + 1) as tf.Tensor4D;
  const v = tf.randomNormal([c.B, c.h, c.S, c.hd], 0, 1, 'float32', seed + 2) as tf.Tensor4D;
  // A random cotangent, so that every output element's gradient matters.
  const w = tf.randomNormal([c.B, c.h, c.T, c.hd], 0, 1, 'float32', seed + 3) as tf.Tensor4D;
  const opts: CrossAttentionOptions = { past: c.past ?? 0 };
  if (c.mask) opts.keyMask = tf.tensor2d(c.mask.map((r) => [...r].map(Number)), [c.B, c.S]);
  if (c.buckets) opts.positionBias = tf.randomNormal([c.h, c.buckets], 0, 1, 'float32', seed + 4);
  return { q, k, v, w, opts };
}

type Attention = (q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, opts: CrossAttentionOptions) => tf.Tensor4D;

/** Output and dq, dk, dv (and d positionBias when there is one) of sum(attention(q, k, v) ⊙ w). */
function forwardAndGrads(f: Attention, q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, w: tf.Tensor4D, opts: CrossAttentionOptions) {
  const out = f(q, k, v, opts);
  const pb = opts.positionBias;
  const loss = (...t: tf.Tensor[]) => tf.sum(tf.mul(f(t[0] as tf.Tensor4D, t[1] as tf.Tensor4D, t[2] as tf.Tensor4D, pb ? { ...opts, positionBias: t[3] } : opts), w));
  const grads = tf.grads(loss)(pb ? [q, k, v, pb] : [q, k, v]);
  return [out, ...grads];
}

/** The shaderKeys of the programs runProgram dispatches while `f` runs (runWebGPUProgram wrapped). */
function programKeys<T>(f: () => T): { keys: string[]; result: T } {
  const backend = activeWebGPUBackend()!;
  const run = backend.runWebGPUProgram.bind(backend);
  const keys: string[] = [];
  backend.runWebGPUProgram = (program, ...rest) => {
    keys.push(program.shaderKey);
    return run(program, ...rest);
  };
  try {
    return { keys, result: f() };
  } finally {
    backend.runWebGPUProgram = run;
  }
}

beforeAll(requireWebGPU);

describe('fused cross-attention (row-wise WGSL) vs crossAttentionReference', () => {
  [...CASES, ...BIAS_CASES].forEach((c, n) => {
    it(`${c.name}: forward, dQ, dK, dV${c.buckets ? ', d positionBias' : ''} within ${TOLERANCE}`, async () => {
      const { fused, ref } = tf.tidy(() => {
        const { q, k, v, w, opts } = inputs(c, 10 * n + 1);
        expect(fusedCrossAttentionUnsupported(q, k, v, opts)).toBeNull();
        return {
          fused: forwardAndGrads(crossAttentionFused, q, k, v, w, opts),
          ref: forwardAndGrads(crossAttentionReference, q, k, v, w, opts),
        };
      });
      expect(fused).toHaveLength(c.buckets ? 5 : 4);
      // One bucket shifts every score of a row alike: the softmax ignores it, and its gradient
      // Σ_j dS_ij is 0 but for rounding; both sides must be ~0, a relative error would compare noise.
      const oneBucket = c.buckets === 1;
      const errors = await Promise.all(fused.slice(0, oneBucket ? 4 : 5).map((t, i) => relativeError(t, ref[i])));
      if (oneBucket) {
        expect(await maxAbs(fused[4])).toBeLessThanOrEqual(1e-5);
        expect(await maxAbs(ref[4])).toBeLessThanOrEqual(1e-5);
      }
      // the output is never all zeros: a lost device that reads back zeros cannot pass
      expect(await maxAbs(ref[0])).toBeGreaterThan(0);
      // and the bias's gradient is not all zeros either (a program that did not run reads zeros)
      if (c.buckets && c.S > 1 && !oneBucket) expect(await maxAbs(ref[4])).toBeGreaterThan(0);
      tf.dispose([...fused, ...ref]);
      const names = ['out', 'dq', 'dk', 'dv', 'dbias'];
      console.info(`${c.name}: relative error ${errors.map((e, i) => `${names[i]} ${e.toExponential(2)}`).join(', ')}`);
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

describe('the relative-position bias runs fused', () => {
  it('crossAttention with positionBias: the four fused programs (forward, dQ, dK/dV, bias gradient), no matmul, no softmax', async () => {
    const c: Case = { name: '', B: 2, h: 2, T: 12, S: 16, hd: 8, past: 4, mask: ['1'.repeat(16), '0011' + '1'.repeat(12)], buckets: 5 };
    const { q, k, v, w, opts } = inputs(c, 600);
    const info = await tf.profile(() => forwardAndGrads(crossAttention, q, k, v, w, opts));
    expect(info.kernelNames).not.toContain('BatchMatMul');
    expect(info.kernelNames).not.toContain('Softmax');
    const { keys, result } = programKeys(() => forwardAndGrads(crossAttention, q, k, v, w, opts));
    const count = (prefix: string) => keys.filter((key) => key.startsWith(prefix)).length;
    // one forward for the value, one inside tf.grads; one of each backward program
    expect(count('crossAttentionRowwise_forward_hd8_vec4_mask1_nb5_')).toBe(2);
    expect(count('crossAttentionRowwise_dq_hd8_vec4_mask1_nb5_')).toBe(1);
    expect(count('crossAttentionRowwise_dkv_hd8_vec4_mask1_nb5_')).toBe(1);
    expect(count('crossAttentionBiasGrad_hd8_nb5_')).toBe(1);
    expect(keys.filter((key) => key.startsWith('crossAttention'))).toHaveLength(5);
    const ref = forwardAndGrads(crossAttentionReference, q, k, v, w, opts);
    for (let i = 0; i < 5; i++) expect(await relativeError(result[i], ref[i])).toBeLessThanOrEqual(TOLERANCE);
    tf.dispose([q, k, v, w, opts.keyMask!, opts.positionBias!, ...result, ...ref, ...(info.result as tf.Tensor[])]);
  });

  it("a bridge with a position bias (bridgeOutput) dispatches the fused kernel, forward and backward, and trains posBias through it", async () => {
    const [Da, Dg, heads, R, T, S] = [16, 12, 2, 4, 6, 9];
    const bridge = initBridge(Da, Dg, 'rmsnorm', 7, { position: { heads, buckets: R, init: 5 } });
    const hAnchor = tf.randomNormal([2, T, Da], 0, 1, 'float32', 701) as tf.Tensor3D;
    const hAug = tf.randomNormal([2, S, Dg], 0, 1, 'float32', 702) as tf.Tensor3D;
    const keyMask = tf.tensor2d([Array(S).fill(1), [...Array(S - 2).fill(1), 0, 0]]);
    const { keys, result } = programKeys(() =>
      tf.variableGrads(() => tf.sum(tf.square(bridgeOutput(bridge, hAnchor, bridgeKeysValues(bridge, hAug, heads), heads, 'rmsnorm', { past: 3, keyMask }))), [bridge.posBias!]),
    );
    expect(keys.filter((key) => key.startsWith(`crossAttentionRowwise_forward_hd8_vec4_mask1_nb${R}_`))).toHaveLength(1);
    expect(keys.filter((key) => key.startsWith(`crossAttentionBiasGrad_hd8_nb${R}_`))).toHaveLength(1);
    const g = result.grads[bridge.posBias!.name];
    expect(g.shape).toEqual([heads, R]);
    expect(await maxAbs(g)).toBeGreaterThan(0);
    tf.dispose([hAnchor, hAug, keyMask, result.value, g]);
    Object.values(bridge).forEach((t) => (t as tf.Tensor | undefined)?.dispose());
  });

  it('every fused program binds at most 8 storage buffers (WebGPU\'s default per shader stage), mask and bias included', () => {
    const limit = activeWebGPUBackend()!.device.limits.maxStorageBuffersPerShaderStage;
    expect(limit).toBeGreaterThanOrEqual(8);
    for (const cfg of [
      { hd: 8, hasMask: true, buckets: 4 },
      { hd: 5, hasMask: true, buckets: 1 },
      { hd: 8, hasMask: false, buckets: 4 },
      { hd: 8, hasMask: true, buckets: 0 },
    ] satisfies RowwiseConfig[]) {
      const programs: WebGPUProgram[] = [
        new CrossAttentionRowwiseForwardProgram(1, 2, 3, cfg),
        new CrossAttentionRowwiseBackwardQueryProgram(1, 2, 3, cfg),
        new CrossAttentionRowwiseBackwardKeyValueProgram(1, 2, 4, cfg),
        new CrossAttentionBiasGradProgram(2, cfg.hd, Math.max(cfg.buckets, 1)),
      ];
      programs.forEach((p) => expect(storageBuffersOf(p), p.shaderKey).toBeLessThanOrEqual(8));
    }
  });

  it('runProgram refuses a program over the storage-buffer limit instead of reading back zeros', () => {
    const backend = activeWebGPUBackend()!;
    const n = backend.device.limits.maxStorageBuffersPerShaderStage; // inputs: n, + 1 output
    const names = Array.from({ length: n }, (_, i) => `x${i}`);
    const program: WebGPUProgram = {
      variableNames: names,
      outputShape: [4],
      shaderKey: `tooManyBuffers_${n}`,
      dispatchLayout: { x: [0] },
      dispatch: [1, 1, 1],
      workgroupSize: [64, 1, 1],
      getUserCode: () => `fn main(index : i32) { if (index < 4) { result[index] = ${names.map((x) => `${x}[index]`).join(' + ')}; } }`,
    };
    const xs = names.map(() => tf.ones([4]));
    expect(() => runProgram(backend, program, xs, [])).toThrow(/storage buffers/);
    tf.dispose(xs);
  });
});

describe('shapes the fused kernel does not take fall back to the reference', () => {
  it('an arbitrary additive bias [1, h, T, S] (not a positionBias)', async () => {
    const c: Case = { name: '', B: 1, h: 2, T: 4, S: 6, hd: 8, past: 2 };
    const { q, k, v, w, opts } = inputs(c, 930);
    const bias = tf.randomNormal([1, c.h, c.T, c.S], 0, 1, 'float32', 935) as tf.Tensor4D;
    const withBias = { ...opts, bias };
    expect(fusedCrossAttentionUnsupported(q, k, v, withBias)).toMatch(/arbitrary additive score bias/);
    const { keys, result: got } = programKeys(() => forwardAndGrads(crossAttention, q, k, v, w, withBias));
    expect(keys.filter((key) => key.startsWith('crossAttention'))).toHaveLength(0);
    const want = forwardAndGrads(crossAttentionReference, q, k, v, w, withBias);
    for (let i = 0; i < 4; i++) expect(await relativeError(got[i], want[i])).toBe(0);
    tf.dispose([q, k, v, w, bias, ...got, ...want]);
  });

  it('a positionBias whose heads do not match q', () => {
    const { q, k, v } = inputs({ name: '', B: 1, h: 2, T: 3, S: 3, hd: 8 }, 940);
    const positionBias = tf.zeros([3, 4]);
    expect(fusedCrossAttentionUnsupported(q, k, v, { positionBias })).toMatch(/positionBias \[3,4\] is not \[2, R ≥ 1\]/);
    tf.dispose([q, k, v, positionBias]);
  });
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

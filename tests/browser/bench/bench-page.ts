// The in-browser half of `npm run bench:browser` (scripts/bench-browser.ts serves this page and
// calls window.calmBench). Measures, in one run:
// - the fused WGSL cross-attention vs the reference tfjs ops, both on WebGPU, forward + backward,
//   without and with a bridge's relative-position bias (positionBias [h, R], its gradient too);
// - the WGSL linear (x·W + b) vs tfjs's matMul + add, both on WebGPU, forward + backward;
// - one bridge-training step on WebGPU vs on WASM.
// Every timed kernel's answer is also checked against its reference once (a kernel that failed
// to run would otherwise look fast).
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { tf, useBackend } from '../../../src/model/tf';
import { crossAttentionFused, crossAttentionReference, type CrossAttentionOptions } from '../../../src/kernels/cross-attention';
import { linearFused, linearReference } from '../../../src/kernels/linear';
import { activeWebGPUBackend } from '../../../src/kernels/webgpu-program';
import { gpt2, type GPT2Config } from '../../../src/model/gpt2';
import { initModel } from '../../../src/model/init';
import { Composition } from '../../../src/calm/compose';
import { PLAIN_BRIDGE, resolveSpec } from '../../../src/calm/spec';
import { initBridge, bridgeVariables } from '../../../src/calm/bridge';
import { AdamW } from '../../../src/train/adamw';
import { compositionLoss } from '../../../src/train/compose-train';
import type { EncodedExample } from '../../../src/train/batch';
import { makeRng } from '../../../src/tasks/rng';

setWasmPaths({
  'tfjs-backend-wasm.wasm': wasmPlain,
  'tfjs-backend-wasm-simd.wasm': wasmSimd,
  'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedSimd,
});

export interface BenchOptions {
  repeats: number;
  /** [T, D_a] pairs; S = T, B = 1, h heads. */
  sizes: [number, number][];
  heads: number;
  /** R of the relative-position bias for the bias rows (the page's recipe uses 4). */
  buckets: number;
  /** [M, K, N] of x [M, K] · W [K, N] + b. */
  linearSizes: [number, number, number][];
  train: { B: number; T: number; width: number; layers: number; heads: number };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/**
 * Runs f and waits until its work is done: by reading its outputs back when `readBack` (or off
 * WebGPU), else until the GPU has finished everything submitted (a read-back's fixed cost would
 * blur a kernel ratio). Returns milliseconds.
 */
async function run(f: () => tf.Tensor[], readBack: boolean): Promise<number> {
  const t0 = performance.now();
  const outs = f();
  const gpu = activeWebGPUBackend();
  if (gpu && !readBack) {
    // close tfjs's open compute pass, submit what it has batched, wait for the queue
    gpu.ensureCommandEncoderReady();
    gpu.endComputePassEncoder();
    gpu.submitQueue();
    await gpu.queue.onSubmittedWorkDone();
  } else {
    await Promise.all(outs.map((t) => t.data()));
  }
  const ms = performance.now() - t0;
  tf.dispose(outs);
  return ms;
}

/**
 * Median milliseconds of each of fs over `repeats` rounds, after one warm-up round (shader
 * compilation). Rounds interleave the functions, so that a change of load on the machine
 * (2 shared cores) falls on all of them alike.
 */
async function timeEach(fs: (() => tf.Tensor[])[], repeats: number, readBack = false): Promise<number[]> {
  for (const f of fs) await run(f, readBack);
  const ts: number[][] = fs.map(() => []);
  for (let i = 0; i < repeats; i++) for (let j = 0; j < fs.length; j++) ts[j].push(await run(fs[j], readBack));
  return ts.map(median);
}

/** max |a - b| / max |b| over every pair of outputs. */
async function maxRelativeError(a: tf.Tensor[], b: tf.Tensor[]): Promise<number> {
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const [x, y] = await Promise.all([a[i].data(), b[i].data()]);
    let diff = 0;
    let scale = 0;
    y.forEach((v, j) => {
      diff = Math.max(diff, Math.abs(x[j] - v));
      scale = Math.max(scale, Math.abs(v));
    });
    worst = Math.max(worst, scale > 0 ? diff / scale : diff);
  }
  tf.dispose([...a, ...b]);
  return worst;
}

type Attention = (q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, opts: CrossAttentionOptions) => tf.Tensor4D;

/**
 * Loss sum(attention ⊙ w) and its gradients in q, k, v (and positionBias when given): one
 * forward and one backward.
 */
function forwardBackward(f: Attention, q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, w: tf.Tensor4D, positionBias?: tf.Tensor): tf.Tensor[] {
  const { value, grads } = tf.valueAndGrads((...t: tf.Tensor[]) =>
    tf.sum(tf.mul(f(t[0] as tf.Tensor4D, t[1] as tf.Tensor4D, t[2] as tf.Tensor4D, t[3] ? { positionBias: t[3] } : {}), w)),
  )(positionBias ? [q, k, v, positionBias] : [q, k, v]);
  return [value, ...grads];
}

/** One row per size: fused vs reference, forward + backward and forward only, with `buckets` R (0: no bias). */
async function benchAttention(o: BenchOptions, buckets: number) {
  const rows = [];
  for (const [T, Da] of o.sizes) {
    const hd = Da / o.heads;
    const shape: [number, number, number, number] = [1, o.heads, T, hd];
    const [q, k, v, w] = [1, 2, 3, 4].map((s) => tf.randomNormal(shape, 0, 1, 'float32', s) as tf.Tensor4D);
    const pb = buckets > 0 ? tf.randomNormal([o.heads, buckets], 0, 1, 'float32', 5) : undefined;
    const opts: CrossAttentionOptions = pb ? { positionBias: pb } : {};
    const error = await maxRelativeError(forwardBackward(crossAttentionFused, q, k, v, w, pb), forwardBackward(crossAttentionReference, q, k, v, w, pb));
    const [fusedMs, referenceMs, fusedForwardMs, referenceForwardMs] = await timeEach(
      [
        () => forwardBackward(crossAttentionFused, q, k, v, w, pb),
        () => forwardBackward(crossAttentionReference, q, k, v, w, pb),
        () => [crossAttentionFused(q, k, v, opts)],
        () => [crossAttentionReference(q, k, v, opts)],
      ],
      o.repeats,
    );
    tf.dispose([q, k, v, w, ...(pb ? [pb] : [])]);
    rows.push({
      T,
      S: T,
      D_a: Da,
      heads: o.heads,
      head_width: hd,
      buckets,
      fused_fwd_bwd_ms: fusedMs,
      reference_fwd_bwd_ms: referenceMs,
      fwd_bwd_speedup: referenceMs / fusedMs,
      fused_fwd_ms: fusedForwardMs,
      reference_fwd_ms: referenceForwardMs,
      fwd_speedup: referenceForwardMs / fusedForwardMs,
      max_relative_error: error,
    });
  }
  return rows;
}

async function benchLinear(o: BenchOptions) {
  const rows = [];
  for (const [M, K, N] of o.linearSizes) {
    const x = tf.randomNormal([M, K], 0, 1, 'float32', 11) as tf.Tensor2D;
    const w = tf.randomNormal([K, N], 0, 1 / Math.sqrt(K), 'float32', 12) as tf.Tensor2D;
    const b = tf.randomNormal([N], 0, 1, 'float32', 13) as tf.Tensor1D;
    const r = tf.randomNormal([M, N], 0, 1, 'float32', 14) as tf.Tensor2D;
    const step = (f: typeof linearFused) => () => {
      const { value, grads } = tf.valueAndGrads((...t: tf.Tensor[]) => tf.sum(tf.mul(f(t[0] as tf.Tensor2D, t[1] as tf.Tensor2D, t[2] as tf.Tensor1D), r)))([x, w, b]);
      return [value, ...grads];
    };
    const error = await maxRelativeError(step(linearFused)(), step(linearReference)());
    const [fusedMs, referenceMs] = await timeEach([step(linearFused), step(linearReference)], o.repeats);
    tf.dispose([x, w, b, r]);
    rows.push({ M, K, N, fused_fwd_bwd_ms: fusedMs, reference_fwd_bwd_ms: referenceMs, fwd_bwd_speedup: referenceMs / fusedMs, max_relative_error: error });
  }
  return rows;
}

/** One bridge-training step (loss, gradients of every bridge parameter, AdamW) on the active backend. */
async function trainStepMs(o: BenchOptions['train'], repeats: number): Promise<number> {
  const cfg: GPT2Config = {
    modelType: 'gpt2',
    vocabSize: 64,
    nPositions: o.T,
    nEmbd: o.width,
    nLayer: o.layers,
    nHead: o.heads,
    layerNormEpsilon: 1e-5,
    activation: 'gelu_new',
  };
  const anchor = initModel(gpt2, cfg, 1);
  const augment = initModel(gpt2, cfg, 2);
  const connections: [number, number][] = [[o.layers - 1, o.layers - 1]];
  const comp = new Composition(anchor, augment, resolveSpec({ connections, numHeads: o.heads, output: 'rmsnorm', ...PLAIN_BRIDGE }), [initBridge(o.width, o.width, 'rmsnorm', 3)]);
  const rng = makeRng(5);
  const data: EncodedExample[] = Array.from({ length: o.B }, () => ({
    ids: Array.from({ length: o.T + 1 }, () => rng.int(3, cfg.vocabSize - 1)),
    promptLength: Math.floor(o.T / 2),
  }));
  const indices = data.map((_, i) => i);
  const params = comp.bridges.flatMap(bridgeVariables);
  const opt = new AdamW(params);
  // The loss is read back, as the training loop does every step.
  const [ms] = await timeEach(
    [
      () => {
        const { value, grads } = tf.variableGrads(() => compositionLoss(comp, data, indices, 0, o.T), params);
        opt.apply(
          params.map((p) => grads[p.name]),
          1e-4,
        );
        tf.dispose(Object.values(grads));
        return [value];
      },
    ],
    repeats,
    true,
  );
  opt.dispose();
  comp.bridges.forEach((b) => bridgeVariables(b).forEach((v) => v.dispose()));
  anchor.dispose();
  augment.dispose();
  return ms;
}

async function adapterInfo() {
  const adapter = await navigator.gpu?.requestAdapter();
  if (!adapter) return null;
  const i = adapter.info;
  return {
    vendor: i.vendor,
    architecture: i.architecture,
    device: i.device,
    description: i.description,
    features: [...adapter.features].sort(),
    limits: {
      maxComputeInvocationsPerWorkgroup: adapter.limits.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize,
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
    },
  };
}

async function calmBench(o: BenchOptions) {
  const adapter = await adapterInfo();
  if (!adapter) throw new Error('no WebGPU adapter (is Chromium running with --enable-unsafe-webgpu?)');
  await useBackend('webgpu');
  const attention = await benchAttention(o, 0);
  const attentionBias = await benchAttention(o, o.buckets);
  const linear = await benchLinear(o);
  const trainWebgpuMs = await trainStepMs(o.train, o.repeats);
  await useBackend('wasm');
  const wasmThreads = tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT');
  const trainWasmMs = await trainStepMs(o.train, o.repeats);
  const speedups = attention.map((r) => r.fwd_bwd_speedup);
  return {
    adapter,
    ratios: {
      // the smallest over the sizes: the fused kernel must win at every one of them
      cross_attention_fused_speedup: Math.min(...speedups),
      cross_attention_bias_fused_speedup: Math.min(...attentionBias.map((r) => r.fwd_bwd_speedup)),
      webgpu_vs_wasm_train_step: trainWasmMs / trainWebgpuMs,
      linear_fused_speedup: Math.min(...linear.map((r) => r.fwd_bwd_speedup)),
    },
    cross_attention: attention,
    cross_attention_bias: attentionBias,
    linear,
    train_step: { ...o.train, connections: [[o.train.layers - 1, o.train.layers - 1]], webgpu_ms: trainWebgpuMs, wasm_ms: trainWasmMs, wasm_threads: wasmThreads },
    cross_origin_isolated: crossOriginIsolated,
    repeats: o.repeats,
  };
}

declare global {
  interface Window {
    calmBench?: typeof calmBench;
  }
}
window.calmBench = calmBench;

// The in-browser half of `npm run bench:browser` (scripts/bench-browser.ts serves this page and
// calls window.calmBench). Measures, in one run:
// - the fused WGSL cross-attention vs the reference tfjs ops, both on WebGPU, forward + backward;
// - one bridge-training step on WebGPU vs on WASM.
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { tf, useBackend } from '../../../src/model/tf';
import { crossAttentionFused, crossAttentionReference, type CrossAttentionOptions } from '../../../src/kernels/cross-attention';
import { GPT } from '../../../src/model/gpt';
import type { GPTConfig } from '../../../src/model/config';
import { initWeights, weightList } from '../../../src/model/init';
import { Composition } from '../../../src/calm/compose';
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
  train: { B: number; T: number; width: number; layers: number; heads: number };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median milliseconds of `repeats` runs of f, after one warm-up (shader compilation); waits for the GPU by reading the outputs back. */
async function time(f: () => tf.Tensor[], repeats: number): Promise<number> {
  const once = async () => {
    const outs = f();
    await Promise.all(outs.map((t) => t.data()));
    tf.dispose(outs);
  };
  await once();
  const ts: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await once();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

type Attention = (q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, opts: CrossAttentionOptions) => tf.Tensor4D;

/** Loss sum(attention ⊙ w) and its gradients in q, k, v: one forward and one backward. */
function forwardBackward(f: Attention, q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor[] {
  const { value, grads } = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
    tf.sum(tf.mul(f(a as tf.Tensor4D, b as tf.Tensor4D, c as tf.Tensor4D, {}), w)),
  )([q, k, v]);
  return [value, ...grads];
}

async function benchAttention(o: BenchOptions) {
  const rows = [];
  for (const [T, Da] of o.sizes) {
    const hd = Da / o.heads;
    const shape: [number, number, number, number] = [1, o.heads, T, hd];
    const [q, k, v, w] = [1, 2, 3, 4].map((s) => tf.randomNormal(shape, 0, 1, 'float32', s) as tf.Tensor4D);
    const fusedMs = await time(() => forwardBackward(crossAttentionFused, q, k, v, w), o.repeats);
    const referenceMs = await time(() => forwardBackward(crossAttentionReference, q, k, v, w), o.repeats);
    const fusedForwardMs = await time(() => [crossAttentionFused(q, k, v)], o.repeats);
    const referenceForwardMs = await time(() => [crossAttentionReference(q, k, v)], o.repeats);
    tf.dispose([q, k, v, w]);
    rows.push({
      T,
      S: T,
      D_a: Da,
      heads: o.heads,
      head_width: hd,
      fused_fwd_bwd_ms: fusedMs,
      reference_fwd_bwd_ms: referenceMs,
      fwd_bwd_speedup: referenceMs / fusedMs,
      fused_fwd_ms: fusedForwardMs,
      reference_fwd_ms: referenceForwardMs,
      fwd_speedup: referenceForwardMs / fusedForwardMs,
    });
  }
  return rows;
}

/** One bridge-training step (loss, gradients of every bridge parameter, AdamW) on the active backend. */
async function trainStepMs(o: BenchOptions['train'], repeats: number): Promise<number> {
  const cfg: GPTConfig = {
    modelType: 'gpt2',
    vocabSize: 64,
    nPositions: o.T,
    nEmbd: o.width,
    nLayer: o.layers,
    nHead: o.heads,
    layerNormEpsilon: 1e-5,
    activation: 'gelu_new',
  };
  const anchor = new GPT(cfg, initWeights(cfg, 1));
  const augment = new GPT(cfg, initWeights(cfg, 2));
  const connections: [number, number][] = [[o.layers - 1, o.layers - 1]];
  const comp = new Composition(anchor, augment, { connections, numHeads: o.heads, output: 'rmsnorm' }, [initBridge(o.width, o.width, 'rmsnorm', 3)]);
  const rng = makeRng(5);
  const data: EncodedExample[] = Array.from({ length: o.B }, () => ({
    ids: Array.from({ length: o.T + 1 }, () => rng.int(3, cfg.vocabSize - 1)),
    promptLength: Math.floor(o.T / 2),
  }));
  const indices = data.map((_, i) => i);
  const params = comp.bridges.flatMap(bridgeVariables);
  const opt = new AdamW(params);
  const ms = await time(() => {
    const { value, grads } = tf.variableGrads(() => compositionLoss(comp, data, indices, 0, o.T), params);
    opt.apply(
      params.map((p) => grads[p.name]),
      1e-4,
    );
    tf.dispose(Object.values(grads));
    return [value];
  }, repeats);
  opt.dispose();
  comp.bridges.forEach((b) => bridgeVariables(b).forEach((v) => v.dispose()));
  tf.dispose([...weightList(anchor.weights), ...weightList(augment.weights)]);
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
  const attention = await benchAttention(o);
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
      webgpu_vs_wasm_train_step: trainWasmMs / trainWebgpuMs,
    },
    cross_attention: attention,
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

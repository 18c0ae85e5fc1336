// The in-browser half of `npm run bench:browser` (scripts/bench-browser.ts serves this page and
// calls window.calmBench). Measures, in one run:
// - the fused WGSL cross-attention vs the reference tfjs ops, both on WebGPU, forward + backward,
//   without and with a bridge's relative-position bias (positionBias [h, R], its gradient too);
// - the WGSL linear (x·W + b) vs tfjs's matMul + add, both on WebGPU, forward + backward;
// - one bridge-training step on WebGPU vs on WASM (a plain bridge);
// - the page's default recipe (SPEC_DEFAULTS: position bias, whitening, query norm, value gate) on
//   WebGPU with our kernels vs with them switched off (plain tfjs-webgpu ops): a training step,
//   and decoding tokens/s; the kernels' usage counts say what ran in each.
// calmProfile (`--profile`): one training step of the default recipe, time per WGSL program.
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
import { Composition, composedDecoder } from '../../../src/calm/compose';
import { PLAIN_BRIDGE, SPEC_DEFAULTS, resolveSpec } from '../../../src/calm/spec';
import { initBridge, initBridges, bridgeVariables, setInputStats } from '../../../src/calm/bridge';
import { installKernels } from '../../../src/kernels/install';
import { kernelUsage, resetKernelUsage, setKernelsEnabled } from '../../../src/kernels/usage';
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
  /** Tokens per decoding run of the default-recipe decode bench. */
  decodeTokens: number;
}

/** Vocabulary of the random bench models. */
const VOCAB = 64;

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

type Recipe = 'plain' | 'default';

/** Two random GPT-2s shaped by `o` and one bridge on the last blocks: the plain bridge, or the page's default recipe. */
function benchComposition(o: BenchOptions['train'], recipe: Recipe): Composition {
  const cfg: GPT2Config = {
    modelType: 'gpt2',
    vocabSize: VOCAB,
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
  if (recipe === 'plain') {
    return new Composition(anchor, augment, resolveSpec({ connections, numHeads: o.heads, output: 'rmsnorm', ...PLAIN_BRIDGE }), [initBridge(o.width, o.width, 'rmsnorm', 3)]);
  }
  const spec = resolveSpec({ ...SPEC_DEFAULTS }, { anchor: cfg, augment: cfg }); // '-1:f', the anchor's heads
  const bridges = initBridges(spec, o.width, o.width, 3);
  // whitening statistics as an identity map (the page measures them; the work per step is the same)
  const eye = new Float32Array(o.width * o.width).map((_, i) => (i % (o.width + 1) === 0 ? 1 : 0));
  bridges.forEach((b) => setInputStats(b, new Float32Array(o.width), eye));
  return new Composition(anchor, augment, spec, bridges);
}

function disposeComposition(comp: Composition): void {
  comp.bridges.forEach((b) => bridgeVariables(b).forEach((v) => v.dispose()));
  comp.anchor.dispose();
  comp.augment.dispose();
}

/** A bridge-training step (loss, gradients of every bridge parameter, AdamW) of `recipe`, ready to run. */
function trainingStep(o: BenchOptions['train'], recipe: Recipe): { step: () => tf.Tensor[]; dispose: () => void } {
  const comp = benchComposition(o, recipe);
  const rng = makeRng(5);
  const data: EncodedExample[] = Array.from({ length: o.B }, () => ({
    ids: Array.from({ length: o.T + 1 }, () => rng.int(3, VOCAB - 1)),
    promptLength: Math.floor(o.T / 2),
  }));
  const indices = data.map((_, i) => i);
  const params = comp.bridges.flatMap(bridgeVariables);
  const opt = new AdamW(params);
  return {
    step: () => {
      const { value, grads } = tf.variableGrads(() => compositionLoss(comp, data, indices, 0, o.T), params);
      opt.apply(
        params.map((p) => grads[p.name]),
        1e-4,
      );
      tf.dispose(Object.values(grads));
      return [value];
    },
    dispose: () => {
      opt.dispose();
      disposeComposition(comp);
    },
  };
}

/** Milliseconds of one bridge-training step on the active backend (median over `repeats`). */
async function trainStepMs(o: BenchOptions['train'], repeats: number, recipe: Recipe = 'plain'): Promise<number> {
  const t = trainingStep(o, recipe);
  // The loss is read back, as the training loop does every step.
  const [ms] = await timeEach([t.step], repeats, true);
  t.dispose();
  return ms;
}

/**
 * Greedy composed decoding with KV caches, as the page generates: a prompt of T/2 tokens, then
 * `tokens` steps of one token each, the argmax read back every step. Returns tokens per second
 * (the median over `repeats` runs, after a warm-up run).
 */
async function decodeTokensPerSecond(o: BenchOptions['train'], repeats: number, tokens: number): Promise<number> {
  const comp = benchComposition(o, 'default');
  const prompt = Array.from({ length: Math.floor(o.T / 2) }, (_, i) => 3 + ((i * 7) % (VOCAB - 3)));
  const once = async () => {
    const dec = composedDecoder(comp, 1);
    try {
      let logits = dec.feed([prompt]); // [1, V]
      const t0 = performance.now();
      for (let i = 0; i < tokens; i++) {
        const next = tf.argMax(logits, -1); // [1]
        const [id] = await next.data();
        tf.dispose([logits, next]);
        logits = dec.feed([[id]]);
      }
      await logits.data();
      logits.dispose();
      return tokens / ((performance.now() - t0) / 1000);
    } finally {
      dec.dispose();
    }
  };
  await once();
  const rates: number[] = [];
  for (let i = 0; i < repeats; i++) rates.push(await once());
  disposeComposition(comp);
  return median(rates);
}

/** The default recipe on WebGPU with our kernels and with them off: train step ms, decode tokens/s, and what ran. */
async function benchDefaultRecipe(o: BenchOptions) {
  const side = async (on: boolean) => {
    setKernelsEnabled(on);
    resetKernelUsage();
    const trainMs = await trainStepMs(o.train, o.repeats, 'default');
    const trainUsage = kernelUsage(tf.getBackend());
    resetKernelUsage();
    const tokensPerSecond = await decodeTokensPerSecond(o.train, o.repeats, o.decodeTokens);
    const decodeUsage = kernelUsage(tf.getBackend());
    return { trainMs, tokensPerSecond, trainUsage, decodeUsage };
  };
  try {
    const ours = await side(true);
    const plain = await side(false);
    return { ours, plain };
  } finally {
    setKernelsEnabled(true);
  }
}

/** What tfjs's WebGPU backend keeps while it times programs (backend.time): the timers of the programs run so far. */
interface TimedBackend {
  activeTimers: { name: string; query: Promise<number> }[] | null;
  runWebGPUProgram: (program: { shaderKey: string }, ...rest: unknown[]) => unknown;
  time: (f: () => void) => Promise<unknown>;
}

/**
 * One training step of the page's default recipe on WebGPU (after a warm-up step), timed per
 * program with tfjs's WebGPU timer (backend.time: each program in a compute pass of its own,
 * with timestamp queries where the adapter has 'timestamp-query'). Programs are named by their
 * shaderKey (tfjs's own and ours). Returns the programs by total time, longest first.
 */
async function calmProfile(o: BenchOptions) {
  await useBackend('webgpu');
  installKernels();
  const gpu = activeWebGPUBackend()!;
  const timestampQuery = gpu.device.features.has('timestamp-query');
  const t = trainingStep(o.train, 'default');
  try {
    tf.dispose(t.step()); // warm-up: shader compilation
    await gpu.queue.onSubmittedWorkDone();
    const timed = gpu as unknown as TimedBackend;
    const seen: { key: string; query: Promise<number> }[] = [];
    const run = timed.runWebGPUProgram.bind(gpu);
    timed.runWebGPUProgram = (program, ...rest) => {
      const out = run(program, ...rest);
      const timers = timed.activeTimers;
      const last = timers?.[timers.length - 1];
      if (last && !seen.some((s) => s.query === last.query)) seen.push({ key: program.shaderKey, query: last.query });
      return out;
    };
    resetKernelUsage();
    const t0 = performance.now();
    let outs: tf.Tensor[] = [];
    try {
      await timed.time(() => {
        outs = t.step();
      });
    } finally {
      delete (timed as Partial<TimedBackend>).runWebGPUProgram; // the prototype's again
    }
    await Promise.all(outs.map((x) => x.data()));
    const wallMs = performance.now() - t0;
    tf.dispose(outs);
    const ms = await Promise.all(seen.map((s) => s.query));
    const byKey = new Map<string, { dispatches: number; ms: number }>();
    seen.forEach((s, i) => {
      const e = byKey.get(s.key) ?? { dispatches: 0, ms: 0 };
      e.dispatches++;
      e.ms += ms[i];
      byKey.set(s.key, e);
    });
    const programs = [...byKey].map(([key, e]) => ({ key, ...e })).sort((a, b) => b.ms - a.ms);
    return {
      method: timestampQuery ? 'timestamp queries (tfjs backend.time, one compute pass per program)' : 'no timestamp-query: tfjs reports 0 ms per program',
      timestamp_query: timestampQuery,
      train: o.train,
      spec: SPEC_DEFAULTS,
      step_wall_ms_while_timed: wallMs,
      total_program_ms: programs.reduce((a, p) => a + p.ms, 0),
      dispatches: seen.length,
      usage: kernelUsage(tf.getBackend()),
      programs,
    };
  } finally {
    t.dispose();
  }
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
  installKernels(); // as the worker does when it starts WebGPU
  const attention = await benchAttention(o, 0);
  const attentionBias = await benchAttention(o, o.buckets);
  const linear = await benchLinear(o);
  const trainWebgpuMs = await trainStepMs(o.train, o.repeats);
  const recipe = await benchDefaultRecipe(o);
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
      // > 1: our kernels make the page's default recipe faster than plain tfjs-webgpu ops
      default_recipe_train_step_ours_vs_plain: recipe.plain.trainMs / recipe.ours.trainMs,
      default_recipe_decode_ours_vs_plain: recipe.ours.tokensPerSecond / recipe.plain.tokensPerSecond,
    },
    cross_attention: attention,
    cross_attention_bias: attentionBias,
    linear,
    default_recipe: {
      ...o.train,
      spec: SPEC_DEFAULTS,
      decode_tokens: o.decodeTokens,
      ours: { train_step_ms: recipe.ours.trainMs, decode_tokens_per_s: recipe.ours.tokensPerSecond, train_usage: recipe.ours.trainUsage, decode_usage: recipe.ours.decodeUsage },
      plain: { train_step_ms: recipe.plain.trainMs, decode_tokens_per_s: recipe.plain.tokensPerSecond, train_usage: recipe.plain.trainUsage, decode_usage: recipe.plain.decodeUsage },
    },
    train_step: { ...o.train, connections: [[o.train.layers - 1, o.train.layers - 1]], webgpu_ms: trainWebgpuMs, wasm_ms: trainWasmMs, wasm_threads: wasmThreads },
    cross_origin_isolated: crossOriginIsolated,
    repeats: o.repeats,
  };
}

declare global {
  interface Window {
    calmBench?: typeof calmBench;
    calmProfile?: typeof calmProfile;
  }
}
window.calmBench = calmBench;
window.calmProfile = calmProfile;

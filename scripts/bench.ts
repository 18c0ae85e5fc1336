// npm run bench -- [--json] [--backend wasm|cpu] [--repeats N] [--only pair,builtin,smollm2,across]
//
// Ratios measured in one run (never timed assertions in tests):
// - train_cached_speedup: a bridge-training step with the frozen work cached vs recomputing it;
// - generate_kvcache_speedup: composed generation of 96 tokens after a 32-token prompt with KV
//   caches (both models and every bridge) vs recomputing the whole sequence every token.
// On a fixed benchmark pair of random GPT-2 models (8 layers, width 256, 8 heads; batch 4,
// T = 128, connections every:4 = anchor layers 3 and 7), and on the built-in pair.
// Section smollm2: the shapes of the SmolLM2 pair (Llama; SmolLM2-360M ← SmolLM2-135M, their
// published config.json sizes) with random weights, no download: each model's forward and
// cached-decoding tokens/s at batch 1, and a training step of the default spec's bridges
// (SPEC_DEFAULTS, as the page composes them: -1:f) at batch 1, T 64, cached vs recomputed.
// Section across: what a character alignment (docs/design.md § Across tokenizers) costs a
// bridge-training step (forward and gradients, frozen work recomputed) on the benchmark pair
// against a shared tokenizer: the same T anchor tokens with the augmenting model on the same T
// tokens by position (shared), on T tokens through a key limit (aligned, same lengths: the cost
// of the alignment itself), and on T/2 tokens of its own, each ending every second anchor token
// (aligned, half: an augmenting tokenizer with longer tokens). Then the tails (a BPE merging
// across anchor ends, as a character anchor over a BPE gives): a step from the frozen cache with
// the T whole-text states, against one where every anchor position also reads a tail of one
// token of its own (T more keys), and the cache-time cost of the whole text's augmenting states
// with those T tails per row against without.
// Sections run in the order above; --only picks some. --repeats (default 5; 3 for smollm2,
// whose figures take seconds each on a CPU) is the number of timed runs after one warm-up, the
// median kept; cached and recomputed training steps are timed in alternation.
import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tf, useBackend, type BackendName } from '../src/model/tf';
import { countParameters, type CausalLM } from '../src/model/causal-lm';
import { gpt2, type GPT2Config } from '../src/model/gpt2';
import { initModel } from '../src/model/init';
import { Composition, composedDecoder, composedRecomputeDecoder } from '../src/calm/compose';
import { greedyDecode } from '../src/pipeline/decode';
import { initBridge, bridgeVariables, disposeBridge } from '../src/calm/bridge';
import { parseConnections } from '../src/calm/connections';
import { AdamW } from '../src/train/adamw';
import { buildFrozenCache, compositionLoss, disposeFrozenCache, fitInputStats } from '../src/train/compose-train';
import type { EncodedExample } from '../src/train/batch';
import { layTails } from '../src/calm/align';
import { makeRng } from '../src/tasks/rng';
import { nodeFolderSource } from '../src/io/node-source';
import { loadModelFolder } from '../src/io/model-folder';
import { PLAIN_BRIDGE, SPEC_DEFAULTS, resolveSpec } from '../src/calm/spec';
import { freshComposition } from '../src/calm/experiment';
import { architecture, parseModelConfig } from '../src/model/registry';
import { cachedDecoder } from '../src/model/sampling';

const { values } = parseArgs({
  options: { json: { type: 'boolean' }, backend: { type: 'string', default: 'wasm' }, repeats: { type: 'string' }, only: { type: 'string' } },
});
const SECTIONS = ['pair', 'builtin', 'smollm2', 'across'] as const;
type Section = (typeof SECTIONS)[number];
const only = (values.only ?? SECTIONS.join(',')).split(',').map((x) => x.trim());
const unknown = only.filter((x) => !(SECTIONS as readonly string[]).includes(x));
if (unknown.length > 0) {
  process.stderr.write(`bench: --only ${unknown.join(',')}: unknown section (sections: ${SECTIONS.join(', ')})\n`);
  process.exit(2);
}
const runs = (x: Section) => only.includes(x);
if (values.repeats !== undefined && !(Number.isInteger(Number(values.repeats)) && Number(values.repeats) >= 1)) {
  process.stderr.write(`bench: --repeats must be a positive integer, found ${JSON.stringify(values.repeats)}\n`);
  process.exit(2);
}
const repeats = Number(values.repeats ?? 5);
const smolRepeats = Number(values.repeats ?? 3);
const log = (s: string) => process.stderr.write(s + '\n');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median seconds of `repeats` runs of f, after one warm-up run. */
async function time(f: () => Promise<void>, n = repeats): Promise<number> {
  await f();
  const ts: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await f();
    ts.push((performance.now() - t0) / 1000);
  }
  return median(ts);
}

function randomExamples(n: number, T: number, vocab: number, seed: number): EncodedExample[] {
  const rng = makeRng(seed);
  return Array.from({ length: n }, () => ({ ids: Array.from({ length: T + 1 }, () => rng.int(3, vocab - 1)), promptLength: Math.floor(T / 2) }));
}

interface PairFigures {
  train_step_cached_s: number;
  train_step_recompute_s: number;
  train_cached_speedup: number;
  generate_kvcache_tokens_per_s: number;
  generate_recompute_tokens_per_s: number;
  generate_kvcache_speedup: number;
}

/**
 * Median seconds of one bridge-training step on all of `data` (one batch of T positions), with
 * the frozen work cached (buildFrozenCache) and recomputing it, the two interleaved; `fit` (the default spec's
 * whitening) runs fitInputStats on the cache first, as trainComposition does before step 0.
 */
async function timeTrainSteps(
  comp: Composition,
  data: EncodedExample[],
  T: number,
  n: number,
  fit = false,
): Promise<{ cached: number; recompute: number; cacheBuild: number; fitStats: number; cacheBytes: number }> {
  const indices = data.map((_, i) => i);
  const params = comp.bridges.flatMap(bridgeVariables);
  const opt = new AdamW(params);
  let t0 = performance.now();
  const cache = await buildFrozenCache(comp, data, 0);
  const cacheBuild = (performance.now() - t0) / 1000;
  t0 = performance.now();
  if (fit) await fitInputStats(comp, data, 0, cache);
  const fitStats = (performance.now() - t0) / 1000;
  // One optimizer step, the loss read back as the training loop does.
  const step = (withCache: boolean) => async () => {
    const { value, grads } = tf.variableGrads(() => compositionLoss(comp, data, indices, 0, T, withCache ? cache : undefined), params);
    await value.data();
    opt.apply(params.map((p) => grads[p.name]), 1e-4);
    value.dispose();
    Object.values(grads).forEach((g) => g.dispose());
  };
  try {
    // Interleaved (one warm-up each, then n rounds of cached, recomputed), so that a load that
    // comes and goes on a shared CPU weighs on both alike.
    await step(true)();
    await step(false)();
    const ts: { cached: number[]; recompute: number[] } = { cached: [], recompute: [] };
    for (let i = 0; i < n; i++) {
      for (const withCache of [true, false]) {
        const t1 = performance.now();
        await step(withCache)();
        ts[withCache ? 'cached' : 'recompute'].push((performance.now() - t1) / 1000);
      }
    }
    return { cached: median(ts.cached), recompute: median(ts.recompute), cacheBuild, fitStats, cacheBytes: cache.bytes };
  } finally {
    disposeFrozenCache(cache);
    opt.dispose();
  }
}

async function benchPair(comp: Composition, o: { B: number; T: number; prompt: number; newTokens: number; vocab: number }): Promise<PairFigures> {
  const data = randomExamples(o.B, o.T, o.vocab, 7);
  const { cached, recompute } = await timeTrainSteps(comp, data, o.T, repeats);

  const rng = makeRng(3);
  const prompts = Array.from({ length: o.B }, () => Array.from({ length: o.prompt }, () => rng.int(3, o.vocab - 1)));
  const generate = (make: typeof composedDecoder) => async () => {
    const d = make(comp, o.B);
    await greedyDecode(d, prompts, { maxNew: o.newTokens }); // no eos: always newTokens tokens
    d.dispose();
  };
  const genRuns = Math.max(1, Math.floor(repeats / 2));
  const kv = await time(generate(composedDecoder), genRuns);
  const re = await time(generate(composedRecomputeDecoder), genRuns);
  const tokens = o.B * o.newTokens;
  return {
    train_step_cached_s: cached,
    train_step_recompute_s: recompute,
    train_cached_speedup: recompute / cached,
    generate_kvcache_tokens_per_s: tokens / kv,
    generate_recompute_tokens_per_s: tokens / re,
    generate_kvcache_speedup: re / kv,
  };
}

function randomModel(seed: number): CausalLM {
  const c: GPT2Config = { modelType: 'gpt2', vocabSize: 512, nPositions: 256, nEmbd: 256, nLayer: 8, nHead: 8, layerNormEpsilon: 1e-5, activation: 'gelu_new' };
  return initModel(gpt2, c, seed);
}

function compose(anchor: CausalLM, augment: CausalLM, connections: string): Composition {
  const conn = parseConnections(connections, anchor.config.nLayer, augment.config.nLayer);
  const spec = resolveSpec({ connections: conn, numHeads: anchor.config.nHead, output: 'rmsnorm', ...PLAIN_BRIDGE });
  // rmsnorm: every bridge is live from step one, so no work is skipped by a zero output
  return new Composition(anchor, augment, spec, conn.map((_, i) => initBridge(anchor.config.nEmbd, augment.config.nEmbd, 'rmsnorm', 100 + i)));
}

async function loadBuiltin(id: string): Promise<CausalLM> {
  const index = JSON.parse(await readFile(join('public', 'models', 'index.json'), 'utf8')) as { models: { id: string; path: string }[] };
  const entry = index.models.find((m) => m.id === id);
  if (!entry) throw new Error(`built-in model ${id} is not in public/models/index.json`);
  const loaded = await loadModelFolder(nodeFolderSource(join('public', 'models', entry.path)));
  return loaded.model;
}

/**
 * The SmolLM2 pair's config.json fields that fix the shapes (Hugging Face HuggingFaceTB/SmolLM2-360M
 * and HuggingFaceTB/SmolLM2-135M as published; weights random here, so nothing is downloaded).
 */
const SMOLLM2 = {
  anchor: {
    id: 'HuggingFaceTB/SmolLM2-360M',
    config: {
      model_type: 'llama',
      hidden_size: 960,
      intermediate_size: 2560,
      num_hidden_layers: 32,
      num_attention_heads: 15,
      num_key_value_heads: 5,
      vocab_size: 49152,
      max_position_embeddings: 8192,
      rope_theta: 100000,
      rms_norm_eps: 1e-5,
      tie_word_embeddings: true,
    },
  },
  augment: {
    id: 'HuggingFaceTB/SmolLM2-135M',
    config: {
      model_type: 'llama',
      hidden_size: 576,
      intermediate_size: 1536,
      num_hidden_layers: 30,
      num_attention_heads: 9,
      num_key_value_heads: 3,
      vocab_size: 49152,
      max_position_embeddings: 8192,
      rope_theta: 100000,
      rms_norm_eps: 1e-5,
      tie_word_embeddings: true,
    },
  },
} as const;

/** A model of a config.json's shapes with random weights: the registry's parser and initModel. */
function randomFromConfigJson(json: Record<string, unknown>, seed: number): CausalLM {
  const config = parseModelConfig(json);
  return initModel(architecture(config.modelType), config, seed);
}

// Training at batch 1: at batch 2 (T 64) the step's tape (≈1.1 GB of activations for the 32
// anchor blocks) on top of the two models' 1.9 GB of float32 weights ran out of the wasm
// backend's 4 GiB heap ("memory access out of bounds").
const SMOL = { prompt: 64, decodeTokens: 8, trainBatch: 1, trainT: 64 };

interface ModelSpeed {
  model: string;
  parameters: number;
  prefill_s: number; // one forward pass over the prompt (batch 1), its KV cache and the argmax of its last position
  forward_tokens_per_s: number;
  forward_ms_per_token: number;
  decode_s: number; // decode_tokens cached decoding steps (one token each) after the prompt
  decode_tokens_per_s: number;
  decode_ms_per_token: number;
}

/**
 * One model alone at batch 1, through cachedDecoder and greedyDecode: the prompt's forward pass
 * (SMOL.prompt tokens, one new token), then SMOL.decodeTokens cached decoding steps on the same
 * decoder, each timed apart. Medians of smolRepeats runs after a shorter warm-up run.
 */
async function modelSpeed(model: CausalLM, id: string): Promise<ModelSpeed> {
  const rng = makeRng(11);
  const prompt = [Array.from({ length: SMOL.prompt }, () => rng.int(3, model.config.vocabSize - 1))];
  const run = async (decodeTokens: number) => {
    const d = cachedDecoder(model, 1);
    const t0 = performance.now();
    const [first] = await greedyDecode(d, prompt, { maxNew: 1 }); // no eos: always maxNew tokens
    const t1 = performance.now();
    await greedyDecode(d, [first], { maxNew: decodeTokens }); // feeds one token per step
    const t2 = performance.now();
    d.dispose();
    return { prefill: (t1 - t0) / 1000, decode: (t2 - t1) / 1000 };
  };
  await run(1);
  const runs = [];
  for (let i = 0; i < smolRepeats; i++) runs.push(await run(SMOL.decodeTokens));
  const prefill = median(runs.map((r) => r.prefill));
  const decode = median(runs.map((r) => r.decode));
  return {
    model: id,
    parameters: countParameters(model),
    prefill_s: prefill,
    forward_tokens_per_s: SMOL.prompt / prefill,
    forward_ms_per_token: (1000 * prefill) / SMOL.prompt,
    decode_s: decode,
    decode_tokens_per_s: SMOL.decodeTokens / decode,
    decode_ms_per_token: (1000 * decode) / SMOL.decodeTokens,
  };
}

async function benchSmolLM2() {
  const anchor = randomFromConfigJson(SMOLLM2.anchor.config, 1);
  const augment = randomFromConfigJson(SMOLLM2.augment.config, 2);
  try {
    log(`SmolLM2 shapes, random weights: ${SMOLLM2.anchor.id} (${countParameters(anchor)} parameters) ← ${SMOLLM2.augment.id} (${countParameters(augment)})`);
    const anchorSpeed = await modelSpeed(anchor, SMOLLM2.anchor.id);
    log(`  anchor ${JSON.stringify(anchorSpeed)}`);
    const augmentSpeed = await modelSpeed(augment, SMOLLM2.augment.id);
    log(`  augment ${JSON.stringify(augmentSpeed)}`);
    // The page's composition: SPEC_DEFAULTS throughout (its connections -1:f resolve to [[-1, 30]]).
    const comp = freshComposition(anchor, augment, { seed: 0 });
    const { trainBatch: B, trainT: T } = SMOL;
    const data = randomExamples(B, T, anchor.config.vocabSize, 7);
    const t = await timeTrainSteps(comp, data, T, smolRepeats, true);
    const tokens = B * T;
    const train = {
      connections: SPEC_DEFAULTS.connections,
      connections_resolved: comp.spec.connections,
      bridges: comp.bridges.length,
      bridge_parameters: comp.bridges.flatMap(bridgeVariables).reduce((n, v) => n + v.size, 0),
      num_heads: comp.spec.numHeads,
      batch: B,
      T,
      cache_build_s: t.cacheBuild,
      cache_bytes: t.cacheBytes,
      fit_input_stats_s: t.fitStats,
      train_step_cached_s: t.cached,
      train_step_recompute_s: t.recompute,
      train_cached_ms_per_token: (1000 * t.cached) / tokens,
      train_recompute_ms_per_token: (1000 * t.recompute) / tokens,
      train_cached_speedup: t.recompute / t.cached,
    };
    comp.bridges.forEach(disposeBridge);
    log(`  train ${JSON.stringify(train)}`);
    return {
      weights: 'random',
      prompt: SMOL.prompt,
      decode_tokens: SMOL.decodeTokens,
      anchor: anchorSpeed,
      augment: augmentSpeed,
      train,
      ratios: {
        train_cached_speedup: train.train_cached_speedup,
        anchor_vs_augment_forward_time: anchorSpeed.prefill_s / augmentSpeed.prefill_s,
        anchor_decode_vs_forward_per_token: anchorSpeed.decode_ms_per_token / anchorSpeed.forward_ms_per_token,
        augment_decode_vs_forward_per_token: augmentSpeed.decode_ms_per_token / augmentSpeed.forward_ms_per_token,
      },
      repeats: smolRepeats,
    };
  } finally {
    anchor.dispose();
    augment.dispose();
  }
}

/**
 * Median seconds of a bridge-training step (forward, gradients of every bridge variable, the
 * loss read back) on batch B of T anchor tokens: shared tokenizer vs key limits (see the header).
 */
async function benchAcross(comp: Composition, B: number, T: number, vocab: number) {
  const rng = makeRng(11);
  const row = (n: number) => Array.from({ length: n }, () => rng.int(3, vocab - 1));
  const ids = tf.tensor2d(Array.from({ length: B }, () => row(T)), [B, T], 'int32'); // [B, T]
  const half = tf.tensor2d(Array.from({ length: B }, () => row(T / 2)), [B, T / 2], 'int32'); // [B, T/2]
  const targets = tf.oneHot(tf.tensor2d(Array.from({ length: B }, () => row(T)), [B, T], 'int32'), vocab); // [B, T, V]
  const same = [Array.from({ length: T }, (_, t) => t + 1)]; // the causal rule as a key limit
  const halfLimit = [Array.from({ length: T }, (_, t) => Math.floor((t + 1) / 2))]; // augmenting token j ends with anchor token 2j+1
  const params = comp.bridges.flatMap(bridgeVariables);
  const step = (logits: () => tf.Tensor3D) => async () => {
    const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(targets, logits()) as tf.Scalar, params);
    await value.data();
    value.dispose();
    Object.values(grads).forEach((g) => g.dispose());
  };
  const steps = {
    shared: step(() => comp.forward(ids)),
    aligned_same_lengths: step(() => comp.forwardAligned(ids, ids, { keyLimit: same })),
    aligned_half: step(() => comp.forwardAligned(ids, half, { keyLimit: halfLimit })),
  };
  // interleaved rounds after one warm-up each, as timeTrainSteps does
  for (const f of Object.values(steps)) await f();
  const ts: Record<keyof typeof steps, number[]> = { shared: [], aligned_same_lengths: [], aligned_half: [] };
  for (let i = 0; i < repeats; i++) {
    for (const [name, f] of Object.entries(steps) as [keyof typeof steps, () => Promise<void>][]) {
      const t0 = performance.now();
      await f();
      ts[name].push((performance.now() - t0) / 1000);
    }
  }
  const shared = median(ts.shared);
  const sameLengths = median(ts.aligned_same_lengths);
  const halfS = median(ts.aligned_half);

  // tails: position t ≥ 1 reads t whole-text tokens then a tail of one token of its own
  const rows = Array.from({ length: B }, () => ({
    tailOf: Array.from({ length: T }, (_, t) => t - 1),
    tails: Array.from({ length: T - 1 }, (_, t) => ({ shared: t + 1, ids: [rng.int(3, vocab - 1)] })),
  }));
  const layout = layTails(rows, T, T);
  const tailLimit = Array.from({ length: B }, () => Array.from({ length: T }, (_, t) => Math.max(t, 1))); // [B][T]
  const timeOnce = async (f: () => Map<number, tf.Tensor3D>) => {
    const t0 = performance.now();
    const m = f();
    await Promise.all([...m.values()].map((x) => x.data()));
    return { s: (performance.now() - t0) / 1000, m };
  };
  const wholeCache = await timeOnce(() => comp.augmentStates(ids)); // layer → [B, T, D_g]
  const withTails = (await timeOnce(() => comp.augmentStatesWithTails(ids, layout))).m; // layer → [B, 2T, D_g]
  const tailCache = await timeOnce(() => comp.augmentStatesWithTails(ids, layout)); // timed after a warm-up
  const prefix = comp.anchorPrefix(ids);
  const cached = {
    cached_shared: step(() => comp.forwardFromCache(prefix, wholeCache.m)),
    cached_tails: step(() => comp.forwardFromCache(prefix, withTails, { keyLimit: tailLimit, keyTail: layout.keyTail })),
  };
  for (const f of Object.values(cached)) await f();
  const tc: Record<keyof typeof cached, number[]> = { cached_shared: [], cached_tails: [] };
  for (let i = 0; i < repeats; i++) {
    for (const [name, f] of Object.entries(cached) as [keyof typeof cached, () => Promise<void>][]) {
      const t0 = performance.now();
      await f();
      tc[name].push((performance.now() - t0) / 1000);
    }
  }
  [ids, half, targets, prefix].forEach((t) => t.dispose());
  [wholeCache.m, tailCache.m, withTails].forEach((m) => m.forEach((t) => t.dispose()));
  const cachedShared = median(tc.cached_shared);
  const cachedTails = median(tc.cached_tails);
  return {
    step_shared_s: shared,
    step_aligned_same_lengths_s: sameLengths,
    step_aligned_half_s: halfS,
    aligned_vs_shared_same_lengths: sameLengths / shared,
    aligned_half_vs_shared: halfS / shared,
    step_cached_shared_s: cachedShared,
    step_cached_tails_s: cachedTails,
    tails_vs_shared_cached_step: cachedTails / cachedShared,
    cache_whole_s: wholeCache.s,
    cache_whole_and_tails_s: tailCache.s,
    whole_and_tails_vs_whole_cache: tailCache.s / wholeCache.s,
  };
}

async function main(): Promise<void> {
  const backend = await useBackend(values.backend as BackendName);
  const report: Record<string, unknown> = { backend, sections: only };
  const ratios: Record<string, number> = {};
  let pair: PairFigures | undefined;
  if (runs('pair')) {
    log(`backend ${backend}; benchmark pair: 2 × GPT-2 8 layers × 256 × 8 heads, batch 4, T 128, every:4`);
    pair = await benchPair(compose(randomModel(1), randomModel(2), 'every:4'), { B: 4, T: 128, prompt: 32, newTokens: 96, vocab: 512 });
    log(`  ${JSON.stringify(pair)}`);
    ratios.train_cached_speedup = pair.train_cached_speedup;
    ratios.generate_kvcache_speedup = pair.generate_kvcache_speedup;
    report.benchmark_pair = { layers: 8, width: 256, heads: 8, batch: 4, T: 128, connections: 'every:4', prompt: 32, new_tokens: 96, ...pair };
  }
  if (runs('builtin')) {
    let builtin: PairFigures | { error: string };
    try {
      const anchor = await loadBuiltin('arith-tiny');
      const augment = await loadBuiltin('kv-tiny');
      log(`built-in pair arith-tiny ← kv-tiny, connections ${SPEC_DEFAULTS.connections}, batch 64, T 16`);
      builtin = await benchPair(compose(anchor, augment, SPEC_DEFAULTS.connections), { B: 64, T: 16, prompt: 12, newTokens: 4, vocab: anchor.config.vocabSize });
      log(`  ${JSON.stringify(builtin)}`);
    } catch (e) {
      builtin = { error: e instanceof Error ? e.message : String(e) };
    }
    report.builtin_pair = builtin;
  }
  if (runs('pair') || runs('builtin')) report.repeats = repeats;
  let smol: Awaited<ReturnType<typeof benchSmolLM2>> | undefined;
  if (runs('smollm2')) {
    smol = await benchSmolLM2();
    ratios.smollm2_train_cached_speedup = smol.ratios.train_cached_speedup;
    report.smollm2 = smol;
  }
  if (runs('across')) {
    log(`across tokenizers: benchmark pair, batch 4, T 128, every:4; a training step shared vs aligned`);
    const comp = compose(randomModel(1), randomModel(2), 'every:4');
    const across = await benchAcross(comp, 4, 128, 512);
    log(`  ${JSON.stringify(across)}`);
    ratios.aligned_vs_shared_train_step = across.aligned_vs_shared_same_lengths;
    ratios.aligned_half_vs_shared_train_step = across.aligned_half_vs_shared;
    ratios.tails_vs_shared_cached_train_step = across.tails_vs_shared_cached_step;
    ratios.whole_and_tails_vs_whole_cache_time = across.whole_and_tails_vs_whole_cache;
    report.across = { batch: 4, T: 128, connections: 'every:4', repeats, ...across };
  }
  if (values.json) process.stdout.write(JSON.stringify({ backend, sections: only, ratios, ...report }, null, 2) + '\n');
  else {
    if (pair) log(`train_cached_speedup ${pair.train_cached_speedup.toFixed(2)}×, generate_kvcache_speedup ${pair.generate_kvcache_speedup.toFixed(2)}×`);
    if (smol) {
      log(
        `smollm2: forward ${smol.anchor.forward_tokens_per_s.toFixed(1)} / ${smol.augment.forward_tokens_per_s.toFixed(1)} tokens/s (anchor / augment), ` +
          `cached decoding ${smol.anchor.decode_tokens_per_s.toFixed(2)} / ${smol.augment.decode_tokens_per_s.toFixed(2)} tokens/s, ` +
          `train step ${smol.train.train_step_cached_s.toFixed(2)} s cached vs ${smol.train.train_step_recompute_s.toFixed(2)} s (${smol.train.train_cached_speedup.toFixed(2)}×)`,
      );
    }
  }
}

main().catch((e) => {
  process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});

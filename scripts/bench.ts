// npm run bench -- [--json] [--backend wasm|cpu] [--repeats N]
//
// Ratios measured in one run (never timed assertions in tests):
// - train_cached_speedup: a bridge-training step with the frozen work cached vs recomputing it;
// - generate_kvcache_speedup: composed generation of 96 tokens after a 32-token prompt with KV
//   caches (both models and every bridge) vs recomputing the whole sequence every token.
// On a fixed benchmark pair of random GPT-2 models (8 layers, width 256, 8 heads; batch 4,
// T = 128, connections every:4 = anchor layers 3 and 7), and on the built-in pair.
import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tf, useBackend, type BackendName } from '../src/model/tf';
import type { CausalLM } from '../src/model/causal-lm';
import { gpt2, type GPT2Config } from '../src/model/gpt2';
import { initModel } from '../src/model/init';
import { Composition, composedDecoder, composedRecomputeDecoder } from '../src/calm/compose';
import { greedyDecode } from '../src/pipeline/decode';
import { initBridge, bridgeVariables } from '../src/calm/bridge';
import { parseConnections } from '../src/calm/connections';
import { AdamW } from '../src/train/adamw';
import { buildFrozenCache, compositionLoss, disposeFrozenCache } from '../src/train/compose-train';
import type { EncodedExample } from '../src/train/batch';
import { makeRng } from '../src/tasks/rng';
import { nodeFolderSource } from '../src/io/node-source';
import { loadModelFolder } from '../src/io/model-folder';
import { PLAIN_BRIDGE, SPEC_DEFAULTS, resolveSpec } from '../src/calm/spec';

const { values } = parseArgs({
  options: { json: { type: 'boolean' }, backend: { type: 'string', default: 'wasm' }, repeats: { type: 'string', default: '5' } },
});
const repeats = Number(values.repeats);
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

async function benchPair(comp: Composition, o: { B: number; T: number; prompt: number; newTokens: number; vocab: number }): Promise<PairFigures> {
  const data = randomExamples(o.B, o.T, o.vocab, 7);
  const indices = data.map((_, i) => i);
  const params = comp.bridges.flatMap(bridgeVariables);
  const opt = new AdamW(params);
  const cache = await buildFrozenCache(comp, data, 0);
  // One optimizer step, the loss read back as the training loop does.
  const step = (withCache: boolean) => async () => {
    const { value, grads } = tf.variableGrads(() => compositionLoss(comp, data, indices, 0, o.T, withCache ? cache : undefined), params);
    await value.data();
    opt.apply(params.map((p) => grads[p.name]), 1e-4);
    value.dispose();
    Object.values(grads).forEach((g) => g.dispose());
  };
  const cached = await time(step(true));
  const recompute = await time(step(false));
  disposeFrozenCache(cache);
  opt.dispose();

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

async function main(): Promise<void> {
  const backend = await useBackend(values.backend as BackendName);
  log(`backend ${backend}; benchmark pair: 2 × GPT-2 8 layers × 256 × 8 heads, batch 4, T 128, every:4`);
  const pair = await benchPair(compose(randomModel(1), randomModel(2), 'every:4'), { B: 4, T: 128, prompt: 32, newTokens: 96, vocab: 512 });
  log(`  ${JSON.stringify(pair)}`);
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
  const report = {
    backend,
    ratios: { train_cached_speedup: pair.train_cached_speedup, generate_kvcache_speedup: pair.generate_kvcache_speedup },
    benchmark_pair: { layers: 8, width: 256, heads: 8, batch: 4, T: 128, connections: 'every:4', prompt: 32, new_tokens: 96, ...pair },
    builtin_pair: builtin,
    repeats,
  };
  if (values.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  else {
    log(`train_cached_speedup ${pair.train_cached_speedup.toFixed(2)}×, generate_kvcache_speedup ${pair.generate_kvcache_speedup.toFixed(2)}×`);
  }
}

main().catch((e) => {
  process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});

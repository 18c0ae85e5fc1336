// CALM composition (docs/design.md § CALM): golden logits and gradients from PyTorch, zero-init, frozen
// models, causality, padding, cached vs recomputed training, bundles, decoding.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf, useBackend } from '../../src/model/tf';
import type { CausalLM } from '../../src/model/causal-lm';
import { gpt2, type GPT2Config } from '../../src/model/gpt2';
import { initModel } from '../../src/model/init';
import { greedyDecode } from '../../src/pipeline/decode';
import { Composition, composedDecoder, composedRecomputeDecoder } from '../../src/calm/compose';
import { initBridge, bridgeVariables } from '../../src/calm/bridge';
import { parseBundle, bridgesFromRaw, exportBundle, BRIDGE_FILE, COMPOSITION_FILE } from '../../src/calm/bundle';
import { BRIDGE_TENSORS } from '../../src/calm/types';
import { PLAIN_BRIDGE, type CompositionSpec, type OutputVariant } from '../../src/calm/spec';
import { crossAttentionWeights } from '../../src/kernels/cross-attention';
import { trainComposition, compositionLoss, buildFrozenCache, disposeFrozenCache } from '../../src/train/compose-train';
import type { EncodedExample } from '../../src/train/batch';
import { makeRng } from '../../src/tasks/rng';
import { GOLDEN_DIR, loadGoldenModel, maxAbsDiff } from './helpers/golden';
import { modelFromTensors, parseConfig } from '../../src/io/model-folder';
import { parseSafetensors } from '../../src/io/safetensors';
import { bridgeKeysValues, bridgeOutput } from '../../src/calm/bridge';

/** A golden model folder without golden.json of its own (the augmenting model of calm-tiny). */
function loadGoldenWeightsOnly(name: string): CausalLM {
  const dir = join(GOLDEN_DIR, name);
  const config = parseConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
  const bytes = readFileSync(join(dir, 'model.safetensors'));
  const { tensors } = parseSafetensors(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), `${name}/model.safetensors`);
  return modelFromTensors(tensors, config);
}

beforeAll(async () => {
  await useBackend('wasm');
});

const cfg = (D: number, L: number, H: number): GPT2Config => ({
  modelType: 'gpt2',
  vocabSize: 30,
  nPositions: 32,
  nEmbd: D,
  nLayer: L,
  nHead: H,
  layerNormEpsilon: 1e-5,
  activation: 'gelu_new',
});

function tinyPair(output: OutputVariant, connections: [number, number][] = [[1, 2], [1, 0], [3, 2]], seed = 1, positionBias = 0): Composition {
  const anchor = initModel(gpt2, cfg(32, 4, 4), seed);
  const augment = initModel(gpt2, cfg(24, 3, 2), seed + 1);
  const spec: CompositionSpec = { connections, numHeads: 4, output, ...PLAIN_BRIDGE, positionBias };
  const position = positionBias ? { heads: 4, buckets: positionBias, init: 5 } : undefined;
  return new Composition(anchor, augment, spec, connections.map((_, i) => initBridge(32, 24, output, seed * 100 + i, { position })));
}

/** Random non-zero weights in every bridge parameter (a zero Wo would hide the math). */
function randomize(comp: Composition, seed: number): void {
  let s = seed;
  comp.bridges.flatMap(bridgeVariables).forEach((v) => v.assign(tf.randomNormal(v.shape, 0, 0.2, 'float32', s++)));
}

const ids = (rows: number[][]) => tf.tensor2d(rows, [rows.length, rows[0].length], 'int32');

describe('composition against PyTorch (tests/golden/calm-tiny)', () => {
  const golden = JSON.parse(readFileSync(join(GOLDEN_DIR, 'calm-tiny', 'golden.json'), 'utf8')) as {
    ids: number[][];
    R: number[][][];
    zero: { logits: number[][][] };
    rms: { logits: number[][][] };
    grads_zero: Record<string, number[][] | number[]>;
  };
  let anchor: ReturnType<typeof loadGoldenModel>;
  let aug: CausalLM;
  beforeAll(() => {
    anchor = loadGoldenModel('gpt2-tiny');
    aug = loadGoldenWeightsOnly('gpt2-tiny-aug');
  });
  const load = (bundle: string) => {
    const dir = join(GOLDEN_DIR, 'calm-tiny', bundle);
    const parsed = parseBundle(
      { composition: readFileSync(join(dir, COMPOSITION_FILE), 'utf8'), bridge: new Uint8Array(readFileSync(join(dir, BRIDGE_FILE))) },
      { anchor: anchor.config, augment: aug.config },
    );
    return new Composition(anchor.gpt, aug, parsed.spec, bridgesFromRaw(parsed.bridges));
  };

  it.each([
    ['bundle-zero', 'zero'],
    ['bundle-rms', 'rms'],
  ] as const)('%s gives the golden composed logits within 1e-4', (bundle, key) => {
    const comp = load(bundle);
    const logits = comp.forward(ids(golden.ids));
    const err = maxAbsDiff(logits.arraySync(), golden[key].logits);
    logits.dispose();
    console.info(`${bundle}: max |logits - golden| = ${err.toExponential(2)}`);
    expect(err).toBeLessThan(1e-4);
  });

  it('bundle-pos (position bias, augmenting final-LayerNorm connection) gives the golden logits within 1e-4', () => {
    const comp = load('bundle-pos');
    expect(comp.spec.positionBias).toBe(3);
    expect(comp.spec.connections[0]).toEqual([-1, 3]);
    const g = JSON.parse(readFileSync(join(GOLDEN_DIR, 'calm-tiny', 'golden-pos.json'), 'utf8')) as { ids: number[][]; logits: number[][][] };
    const logits = comp.forward(ids(g.ids));
    const err = maxAbsDiff(logits.arraySync(), g.logits);
    logits.dispose();
    console.info(`bundle-pos: max |logits - golden| = ${err.toExponential(2)}`);
    expect(err).toBeLessThan(1e-4);
  });

  it('gives the golden bridge gradients within 1e-4 (relative to the largest)', () => {
    const comp = load('bundle-zero');
    const R = tf.tensor3d(golden.R);
    const params = comp.bridges.flatMap(bridgeVariables);
    const { grads } = tf.variableGrads(() => tf.sum(tf.mul(comp.forward(ids(golden.ids)), R)) as tf.Scalar, params);
    let worst = 0;
    comp.bridges.forEach((b, k) => {
      for (const t of BRIDGE_TENSORS) {
        const v = b[t.field];
        if (!v) continue;
        const g = grads[v.name];
        // the bundle's (and PyTorch's) layout is [out, in]: transpose our [in, out] gradient
        const ours = t.linear ? tf.transpose(g).arraySync() : g.arraySync();
        const ref = golden.grads_zero[`bridges.${k}.${t.name}`];
        const scale = Math.max(1, ...((ref as number[]).flat(2) as number[]).map(Math.abs));
        worst = Math.max(worst, maxAbsDiff(ours, ref) / scale);
      }
    });
    console.info(`bridge gradients: max relative error ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-4);
    R.dispose();
    Object.values(grads).forEach((g) => g.dispose());
  });
});

describe('composition semantics', () => {
  const comps: Composition[] = [];
  afterAll(() => comps.forEach((c) => c.bridges.flatMap(bridgeVariables).forEach((v) => v.dispose())));
  const make = (...a: Parameters<typeof tinyPair>) => {
    const c = tinyPair(...a);
    comps.push(c);
    return c;
  };
  const x = [
    [1, 2, 3, 4, 5, 6, 7, 8],
    [8, 7, 6, 5, 4, 3, 2, 1],
  ];

  it('zero-init composition equals the anchor exactly before training', () => {
    const comp = make('zero-init');
    const a = comp.anchor.forward(ids(x)).logits!;
    const c = comp.forward(ids(x));
    expect(tf.max(tf.abs(tf.sub(a, c))).dataSync()[0]).toBe(0);
    // ...and a trained (non-zero) bridge does change it
    randomize(comp, 5);
    expect(tf.max(tf.abs(tf.sub(a, comp.forward(ids(x))))).dataSync()[0]).toBeGreaterThan(1e-3);
  });

  it.each([0, 3])('is causal: changing token t+1 cannot change composed logits at t (position bias %i)', (R) => {
    const comp = make('rmsnorm', [[-1, 2], [1, 0], [3, 2], [3, 1]], 1, R);
    randomize(comp, 7);
    const a = comp.forward(ids(x));
    for (const t of [0, 3, 6]) {
      const y = x.map((row) => row.map((v, j) => (j > t ? (v + 5) % 30 : v)));
      const b = comp.forward(ids(y));
      const head = (l: tf.Tensor3D) => tf.slice(l, [0, 0, 0], [-1, t + 1, -1]);
      expect(tf.max(tf.abs(tf.sub(head(a), head(b)))).dataSync()[0]).toBe(0);
      // the position right after t does change: the test can see a difference
      const next = (l: tf.Tensor3D) => tf.slice(l, [0, t + 1, 0], [-1, 1, -1]);
      expect(tf.max(tf.abs(tf.sub(next(a), next(b)))).dataSync()[0]).toBeGreaterThan(1e-4);
    }
  });

  it('never reads padded augmenting positions (key mask)', () => {
    const comp = make('rmsnorm', [[0, 2]]);
    randomize(comp, 9);
    const w = comp.bridges[0];
    // row 0: 5 real tokens, then 3 pads whose ids we vary; the anchor stream is held fixed
    const hAnchor = tf.randomNormal([2, 8, 32], 0, 1, 'float32', 21) as tf.Tensor3D;
    const mask = tf.tensor2d([[1, 1, 1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1, 1, 1]]);
    const out = (pad: number, keyMask?: tf.Tensor2D) => {
      const states = comp.augmentStates(ids([[1, 2, 3, 4, 5, pad, pad, pad], x[1]]));
      const kv = bridgeKeysValues(w, states.get(2)!, 4);
      return bridgeOutput(w, hAnchor, kv, 4, 'rmsnorm', { keyMask });
    };
    expect(tf.max(tf.abs(tf.sub(out(0, mask), out(9, mask)))).dataSync()[0]).toBe(0);
    // without the mask the last positions do read the pads: the test can fail
    expect(tf.max(tf.abs(tf.sub(out(0), out(9)))).dataSync()[0]).toBeGreaterThan(1e-4);
    // and the attention weights on padded keys are exactly zero
    const q = tf.randomNormal([2, 4, 8, 8]) as tf.Tensor4D;
    const k = tf.randomNormal([2, 4, 8, 8]) as tf.Tensor4D;
    const a = crossAttentionWeights(q, k, { keyMask: mask }).arraySync();
    for (let i = 0; i < 8; i++) for (let j = 5; j < 8; j++) expect(a[0][0][i][j]).toBe(0);
    expect(a[1][0][7][7]).toBeGreaterThan(0);
  });

  it('caches and recomputes the same composed logits and the same training losses', async () => {
    const comp = make('rmsnorm', [[1, 2], [3, 0]]);
    const rng = makeRng(3);
    const data: EncodedExample[] = Array.from({ length: 12 }, () => {
      const n = rng.int(6, 10);
      return { ids: Array.from({ length: n }, () => rng.int(3, 29)), promptLength: rng.int(2, n - 2) };
    });
    const snapshot = comp.bridges.flatMap(bridgeVariables).map((v) => v.clone());
    const cache = await buildFrozenCache(comp, data, 0);
    const idx = [0, 3, 5, 7];
    const l1 = compositionLoss(comp, data, idx, 0, cache.T, cache).dataSync()[0];
    const l2 = compositionLoss(comp, data, idx, 0, cache.T).dataSync()[0];
    expect(Math.abs(l1 - l2)).toBeLessThan(1e-5);
    disposeFrozenCache(cache);
    const run = (cacheFrozen: boolean) => trainComposition(comp, data, { steps: 6, lr: 1e-2, batchSize: 4, seed: 1, padId: 0, cacheFrozen });
    const cached = await run(true);
    comp.bridges.flatMap(bridgeVariables).forEach((v, i) => v.assign(snapshot[i]));
    const recomputed = await run(false);
    expect(cached.losses).toHaveLength(6);
    cached.losses.forEach((l, i) => expect(Math.abs(l - recomputed.losses[i])).toBeLessThan(1e-4));
    expect(cached.losses[5]).not.toBe(cached.losses[0]);
    snapshot.forEach((t) => t.dispose());
  });

  it('training changes the bridges and no weight of either model', async () => {
    const comp = make('zero-init');
    const frozen = [...comp.anchor.tensors().values(), ...comp.augment.tensors().values()].map((t) => t.dataSync().slice());
    const before = comp.bridges.flatMap(bridgeVariables).map((v) => v.dataSync().slice());
    const data: EncodedExample[] = [
      { ids: [1, 2, 3, 4, 5, 6], promptLength: 3 },
      { ids: [6, 5, 4, 3, 2, 1], promptLength: 3 },
    ];
    const r = await trainComposition(comp, data, { steps: 4, lr: 1e-2, batchSize: 2, seed: 1, padId: 0 });
    expect(r.stopped).toBe('done');
    [...comp.anchor.tensors().values(), ...comp.augment.tensors().values()].forEach((t, i) => expect(t.dataSync()).toEqual(frozen[i]));
    const after = comp.bridges.flatMap(bridgeVariables).map((v) => v.dataSync());
    expect(after.some((a, i) => a.some((v, j) => v !== before[i][j]))).toBe(true);
  });

  it.each([0, 3])('bridge gradients match finite differences (position bias %i)', (buckets) => {
    const comp = make('rmsnorm', [[0, 1]], 1, buckets);
    randomize(comp, 11);
    const inp = ids([[1, 5, 9, 2, 7]]);
    const R = tf.randomNormal([1, 5, 30], 0, 1, 'float32', 4);
    const f = () => tf.sum(tf.mul(comp.forward(inp), R)) as tf.Scalar;
    const params = comp.bridges.flatMap(bridgeVariables);
    const { grads } = tf.variableGrads(f, params);
    const rng = makeRng(2);
    let checked = 0;
    for (const p of params) {
      const g = grads[p.name].dataSync();
      for (let n = 0; n < 2; n++) {
        const i = rng.int(0, p.size - 1);
        const base = p.dataSync().slice();
        const eps = 1e-2;
        const at = (d: number) => {
          const v = base.slice();
          v[i] += d;
          p.assign(tf.tensor(v, p.shape));
          return f().dataSync()[0];
        };
        const fd = (at(eps) - at(-eps)) / (2 * eps);
        p.assign(tf.tensor(base, p.shape));
        expect(Math.abs(fd - g[i])).toBeLessThan(2e-2 * Math.max(1, Math.abs(g[i])));
        checked++;
      }
    }
    expect(checked).toBe(2 * params.length);
    expect(params.length).toBe(buckets ? 12 : 11);
  });

  it('a position bias starts each anchor position reading its own augmenting position', () => {
    const comp = make('zero-init', [[0, 2]], 1, 4);
    const w = comp.attentionWeights(ids([x[0]]), 0, crossAttentionWeights).arraySync(); // [h, T, S]
    for (let t = 1; t < 8; t++) expect(w[0][t][t]).toBeGreaterThan(0.5);
    // without the bias the first bridge's attention is spread out
    const plain = make('zero-init', [[0, 2]]);
    const p = plain.attentionWeights(ids([x[0]]), 0, crossAttentionWeights).arraySync();
    expect(p[0][7][7]).toBeLessThan(0.5);
  });

  it('reads the augmenting final norm output at layer N, cached and incrementally alike', async () => {
    const comp = make('rmsnorm', [[0, 3], [2, 1]]); // the augmenting model has 3 blocks
    randomize(comp, 19);
    const inp = ids(x);
    const states = comp.augmentStates(inp);
    const last = comp.augment.forward(inp, { taps: [2], noHead: true }).hidden.get(2)!;
    expect(tf.max(tf.abs(tf.sub(states.get(3)!, comp.augment.finalNorm(last)))).dataSync()[0]).toBe(0);
    expect([...states.keys()].sort()).toEqual([1, 3]); // block 2 itself is not kept
    const full = comp.forward(inp);
    const cached = comp.forwardFromCache(comp.anchorPrefix(inp), states);
    expect(tf.max(tf.abs(tf.sub(full, cached))).dataSync()[0]).toBeLessThan(1e-5);
    const d1 = composedDecoder(comp, 2);
    const d2 = composedRecomputeDecoder(comp, 2);
    expect(await greedyDecode(d1, [[1, 2, 3], [4, 5, 6]], { maxNew: 6 })).toEqual(await greedyDecode(d2, [[1, 2, 3], [4, 5, 6]], { maxNew: 6 }));
    d1.dispose();
    d2.dispose();
  });

  it.each([0, 5])('bundle export → import gives identical logits (position bias %i)', async (R) => {
    const comp = make('rmsnorm', [[0, 1], [2, 2]], 1, R);
    randomize(comp, 13);
    const files = await exportBundle(comp.spec, comp.bridges, {
      anchor: { id: 'a', n_layer: 4, n_embd: 32, vocab_size: 30 },
      augment: { id: 'g', n_layer: 3, n_embd: 24, vocab_size: 30 },
    });
    const parsed = parseBundle(
      { composition: files['composition.json'], bridge: files['bridge.safetensors'] },
      { anchor: comp.anchor.config, augment: comp.augment.config },
    );
    expect(parsed.spec).toEqual(comp.spec);
    if (R) expect(JSON.parse(files['composition.json']).position_bias).toBe(R);
    const again = new Composition(comp.anchor, comp.augment, parsed.spec, bridgesFromRaw(parsed.bridges));
    comps.push(again);
    const a = comp.forward(ids(x)).dataSync();
    const b = again.forward(ids(x)).dataSync();
    expect(b).toEqual(a);
  });

  it.each([0, 2])('KV-cached composed decoding equals recomputing, with no tensor leaks (position bias %i)', async (R) => {
    const comp = make('rmsnorm', undefined, 1, R);
    randomize(comp, 17);
    comp.disabled.add(1); // an ablated bridge is honoured on both paths
    const n0 = tf.memory().numTensors;
    const d1 = composedDecoder(comp, 2);
    const out1 = await greedyDecode(d1, [[1, 2, 3], [4, 5, 6]], { maxNew: 10 });
    d1.dispose();
    const d2 = composedRecomputeDecoder(comp, 2);
    const out2 = await greedyDecode(d2, [[1, 2, 3], [4, 5, 6]], { maxNew: 10 });
    d2.dispose();
    comp.disabled.clear();
    expect(out1).toEqual(out2);
    expect(tf.memory().numTensors).toBe(n0);
  });

  it('composed forward and training leak no tensors', async () => {
    const comp = make('zero-init');
    const inp = ids(x);
    const n0 = tf.memory().numTensors;
    comp.forward(inp).dispose();
    await trainComposition(comp, [{ ids: [1, 2, 3, 4], promptLength: 2 }], { steps: 2, lr: 1e-3, batchSize: 1, seed: 1, padId: 0 });
    expect(tf.memory().numTensors).toBe(n0);
    inp.dispose();
  });
});


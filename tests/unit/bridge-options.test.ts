// The bridges' optional parts (CompositionSpec.inputNorm 'whiten', queryNorm, valueGate):
// zero-init still starts at the anchor, the gate learns, the whitening statistics are
// measured once on the training data (real positions only), frozen, and kept when a bridge
// arrives with statistics of its own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf, useBackend } from '../../src/model/tf';
import type { CausalLM } from '../../src/model/causal-lm';
import { gpt2, type GPT2Config } from '../../src/model/gpt2';
import { initModel } from '../../src/model/init';
import { Composition } from '../../src/calm/compose';
import { bridgeKeysValues, bridgeOutput, bridgeVariables, disposeBridge, initBridges, needsInputStats } from '../../src/calm/bridge';
import { bridgesFromRaw, exportBundle, parseBundle } from '../../src/calm/bundle';
import { whiteningMatrix } from '../../src/calm/whiten';
import { PLAIN_BRIDGE, compositionEstimate, type CompositionSpec } from '../../src/calm/spec';
import { augmentStateMoments, buildFrozenCache, compositionLoss, disposeFrozenCache, fitInputStats, trainComposition } from '../../src/train/compose-train';
import type { EncodedExample } from '../../src/train/batch';
import { makeRng } from '../../src/tasks/rng';
import { maxAbsDiff } from './helpers/golden';


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
let anchor: CausalLM;
let augment: CausalLM;
beforeAll(async () => {
  await useBackend('cpu');
  anchor = initModel(gpt2, cfg(32, 3, 4), 1);
  augment = initModel(gpt2, cfg(24, 3, 2), 2);
});
const ALL: CompositionSpec = { connections: [[-1, 3], [1, 1], [1, 3]], numHeads: 4, output: 'zero-init', positionBias: 3, inputNorm: 'whiten', queryNorm: true, valueGate: true };
const comps: Composition[] = [];
function make(spec: CompositionSpec = ALL, seed = 1): Composition {
  const c = new Composition(anchor, augment, spec, initBridges(spec, 32, 24, seed));
  comps.push(c);
  return c;
}
afterAll(() => comps.forEach((c) => c.bridges.forEach(disposeBridge)));

/** Examples of different lengths, so that batches hold padding. */
function examples(n: number, seed: number): EncodedExample[] {
  const rng = makeRng(seed);
  return Array.from({ length: n }, () => {
    const len = rng.int(5, 11);
    return { ids: Array.from({ length: len }, () => rng.int(3, 29)), promptLength: rng.int(2, len - 2) };
  });
}
const ids = (rows: number[][]) => tf.tensor2d(rows, [rows.length, rows[0].length], 'int32');
const read = (v: tf.Tensor) => Array.from(v.dataSync());

describe('bridge options', () => {
  it('zero-init Wo: composed == anchor at init with whitening, query norm and value gate, before and after the statistics', async () => {
    const comp = make();
    const x = ids([[1, 5, 9, 2, 7, 3], [4, 4, 8, 1, 2, 6]]);
    const alone = anchor.forward(x).logits!;
    const before = comp.forward(x);
    expect(maxAbsDiff(before.arraySync(), alone.arraySync())).toBe(0);
    await fitInputStats(comp, examples(20, 1), 0);
    const after = comp.forward(x);
    expect(maxAbsDiff(after.arraySync(), alone.arraySync())).toBe(0);
    tf.dispose([x, alone, before, after]);
  });

  it('the frozen statistics are not trainable; the gate is, starts at zero and gets a gradient through Wo', async () => {
    const comp = make();
    const b = comp.bridges[0];
    const vars = bridgeVariables(b);
    expect(vars).not.toContain(b.inMean);
    expect(vars).not.toContain(b.inWhiten);
    expect(b.inMean!.trainable || b.inWhiten!.trainable).toBe(false);
    expect(vars).toContain(b.gateW);
    expect(vars).toContain(b.gateB);
    expect(b.gateW!.shape).toEqual([32, 4]);
    expect(read(b.gateW!).every((v) => v === 0) && read(b.gateB!).every((v) => v === 0)).toBe(true);
    // the estimate counts exactly the variables the optimizer gets, and the statistics apart
    const est = compositionEstimate(ALL, anchor.config, augment.config, { batch: 1, T: 8 });
    expect(est.trainableParameters).toBe(comp.bridges.flatMap(bridgeVariables).reduce((n, v) => n + v.size, 0));
    expect(est.frozenBytes).toBe(4 * 3 * (24 + 24 * 24));

    const data = examples(6, 2);
    await fitInputStats(comp, data, 0); // the zero placeholder reads nothing: no value to gate
    let s = 5;
    comp.bridges.forEach((w) => w.oW.assign(tf.randomNormal(w.oW.shape, 0, 0.3, 'float32', s++)));
    const params = comp.bridges.flatMap(bridgeVariables);
    const { value, grads } = tf.variableGrads(() => compositionLoss(comp, data, [0, 1, 2, 3], 0, 10), params);
    for (const w of comp.bridges) {
      expect(Math.max(...read(grads[w.gateW!.name]).map(Math.abs))).toBeGreaterThan(0);
      expect(Math.max(...read(grads[w.gateB!.name]).map(Math.abs))).toBeGreaterThan(0);
    }
    tf.dispose([value, ...Object.values(grads)]);
  });

  it('statistics: mean and covariance over real positions only, the same from the cache and in one pass, fitted before step 0 and frozen after', async () => {
    const comp = make();
    const data = examples(70, 3); // more than one chunk of 64
    // by hand: every example alone, no padding at all
    const D = 24;
    const want = new Map<number, { sum: Float64Array; n: number; rows: number[][] }>();
    for (const e of data) {
      const states = comp.augmentStates(ids([e.ids.slice(0, -1)]));
      states.forEach((t, g) => {
        const w = want.get(g) ?? { sum: new Float64Array(D), n: 0, rows: [] };
        for (const row of (t.arraySync() as number[][][])[0]) {
          w.rows.push(row);
          row.forEach((v, i) => (w.sum[i] += v));
          w.n++;
        }
        want.set(g, w);
        t.dispose();
      });
    }
    const cache = await buildFrozenCache(comp, data, 0);
    const cached = await augmentStateMoments(comp, data, 0, [1, 3], cache);
    const onePass = await augmentStateMoments(comp, data, 0, [1, 3]);
    disposeFrozenCache(cache);
    for (const g of [1, 3]) {
      const w = want.get(g)!;
      const mean = Array.from(w.sum, (v) => v / w.n);
      const cov = new Float64Array(D * D);
      for (const r of w.rows) for (let i = 0; i < D; i++) for (let j = 0; j < D; j++) cov[i * D + j] += ((r[i] - mean[i]) * (r[j] - mean[j])) / w.n;
      for (const got of [cached.get(g)!, onePass.get(g)!]) {
        expect(maxAbsDiff(Array.from(got.mean), mean)).toBeLessThan(1e-5);
        expect(maxAbsDiff(Array.from(got.cov), Array.from(cov))).toBeLessThan(1e-5);
      }
    }

    // trainComposition fits the fresh bridges first, then never changes the statistics
    expect(comp.bridges.every(needsInputStats)).toBe(true);
    const r = await trainComposition(comp, data, { steps: 3, lr: 1e-2, batchSize: 8, seed: 1, padId: 0 });
    expect(r.stopped).toBe('done');
    expect(comp.bridges.some(needsInputStats)).toBe(false);
    comp.spec.connections.forEach(([, g], k) => {
      const b = comp.bridges[k];
      expect(maxAbsDiff(read(b.inMean!), Array.from(cached.get(g)!.mean))).toBeLessThan(1e-5);
      expect(maxAbsDiff(read(b.inWhiten!), Array.from(whiteningMatrix(cached.get(g)!.cov, D)))).toBeLessThan(1e-3);
    });
    const stats = comp.bridges.map((b) => [read(b.inMean!), read(b.inWhiten!)]);
    const gate = read(comp.bridges[0].gateW!);
    const again = await trainComposition(comp, examples(30, 9), { steps: 3, lr: 1e-2, batchSize: 8, seed: 2, padId: 0 });
    expect(again.stopped).toBe('done');
    comp.bridges.forEach((b, k) => expect([read(b.inMean!), read(b.inWhiten!)]).toEqual(stats[k]));
    expect(read(comp.bridges[0].gateW!)).not.toEqual(gate); // while the gate learns
  });

  it('a second Train on the same frozen cache reuses its whitening statistics instead of measuring again', async () => {
    const data = examples(16, 6);
    const cache = await buildFrozenCache(make(), data, 0);
    try {
      const first = make();
      expect(await fitInputStats(first, data, 0, cache)).toBe(3);
      expect([...cache.inputStats.keys()].sort()).toEqual([1, 3]);
      // Zero the cached states: a second measurement would now give a zero mean.
      cache.states.forEach((t, g) => {
        cache.states.set(g, tf.zerosLike(t));
        t.dispose();
      });
      const second = make(ALL, 2);
      expect(await fitInputStats(second, data, 0, cache)).toBe(3);
      second.bridges.forEach((b, k) => {
        expect(read(b.inMean!)).toEqual(read(first.bridges[k].inMean!));
        expect(read(b.inWhiten!)).toEqual(read(first.bridges[k].inWhiten!));
      });
      expect(read(second.bridges[0].inMean!).some((v) => v !== 0)).toBe(true);
    } finally {
      disposeFrozenCache(cache);
    }
  });

  it('bridges from a bundle keep their statistics; a bundle written before any training gets them measured', async () => {
    const trained = make();
    const data = examples(16, 4);
    await fitInputStats(trained, data, 0);
    const meta = { anchor: { name: 'a', n_layer: 3, n_embd: 32, vocab_size: 30 }, augment: { name: 'g', n_layer: 3, n_embd: 24, vocab_size: 30 } };
    const files = await exportBundle(ALL, trained.bridges, meta);
    const parsed = parseBundle({ composition: files['composition.json'], bridge: files['bridge.safetensors'] });
    const imported = new Composition(anchor, augment, parsed.spec, bridgesFromRaw(parsed.bridges));
    comps.push(imported);
    expect(imported.bridges.some(needsInputStats)).toBe(false);
    await trainComposition(imported, examples(16, 5), { steps: 2, lr: 1e-2, batchSize: 4, seed: 1, padId: 0 });
    imported.bridges.forEach((b, k) => expect(read(b.inWhiten!)).toEqual(read(trained.bridges[k].inWhiten!)));

    const fresh = make();
    const early = await exportBundle(ALL, fresh.bridges, meta);
    const p2 = parseBundle({ composition: early['composition.json'], bridge: early['bridge.safetensors'] });
    const reopened = new Composition(anchor, augment, p2.spec, bridgesFromRaw(p2.bridges));
    comps.push(reopened);
    expect(reopened.bridges.every(needsInputStats)).toBe(true);
    expect(await fitInputStats(reopened, data, 0)).toBe(3);
    reopened.bridges.forEach((b, k) => expect(maxAbsDiff(read(b.inWhiten!), read(trained.bridges[k].inWhiten!))).toBeLessThan(1e-6));
  });

  it('query norm normalises only what the queries and the gate read', () => {
    // with a random Wo the bridge output differs with and without queryNorm; the anchor scale
    // of the stream itself is untouched: scaling the anchor state does not change a
    // query-normalised bridge's output
    const spec: CompositionSpec = { connections: [[1, 2]], numHeads: 4, output: 'zero-init', ...PLAIN_BRIDGE, queryNorm: true, valueGate: true };
    const comp = make(spec, 7);
    const w = comp.bridges[0];
    let s = 30;
    for (const v of bridgeVariables(w)) v.assign(tf.randomNormal(v.shape, 0, 0.3, 'float32', s++));
    const hAug = tf.randomNormal([1, 5, 24], 0, 1, 'float32', 3) as tf.Tensor3D;
    const h = tf.randomNormal([1, 5, 32], 0, 1, 'float32', 4) as tf.Tensor3D;
    const kv = { ...bridgeKV(comp, hAug) };
    const out1 = bridgeOut(comp, h, kv);
    const out2 = bridgeOut(comp, tf.mul(h, 7) as tf.Tensor3D, kv);
    expect(maxAbsDiff(out1.arraySync(), out2.arraySync())).toBeLessThan(1e-4);
    tf.dispose([hAug, h, kv.k, kv.v, out1, out2]);
  });
});

const bridgeKV = (comp: Composition, hAug: tf.Tensor3D) => bridgeKeysValues(comp.bridges[0], hAug, comp.spec.numHeads);
const bridgeOut = (comp: Composition, h: tf.Tensor3D, kv: { k: tf.Tensor4D; v: tf.Tensor4D }) =>
  bridgeOutput(comp.bridges[0], h, kv, comp.spec.numHeads, comp.spec.output, { queryNorm: comp.spec.queryNorm });

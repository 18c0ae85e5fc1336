// freshComposition (src/calm/experiment.ts): two models without tokenizers composed with the
// spec's defaults read against their sizes and bridges seeded as composeModels seeds them —
// what scripts/bench.ts builds for the SmolLM2 pair's shapes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf, useBackend } from '../../src/model/tf';
import { initModel } from '../../src/model/init';
import { llama, type LlamaConfig } from '../../src/model/llama';
import { freshComposition } from '../../src/calm/experiment';
import { bridgeVariables, disposeBridge, initBridges } from '../../src/calm/bridge';
import { BRIDGE_TENSORS } from '../../src/calm/types';
import { SPEC_DEFAULTS } from '../../src/calm/spec';
import { CompositionError } from '../../src/calm/errors';
import { buildFrozenCache, compositionLoss, disposeFrozenCache, fitInputStats } from '../../src/train/compose-train';
import { disposeResult, type CausalLM } from '../../src/model/causal-lm';

const cfg = (D: number, L: number, H: number, Hkv: number): LlamaConfig => ({
  modelType: 'llama',
  vocabSize: 40,
  nPositions: 64,
  nEmbd: D,
  nLayer: L,
  nHead: H,
  nKVHead: Hkv,
  headDim: D / H,
  intermediateSize: 2 * D,
  rmsNormEps: 1e-5,
  ropeTheta: 100000,
  ropeScaling: null,
  tieWordEmbeddings: true,
  initializerRange: 0.02,
});

let anchor: CausalLM;
let augment: CausalLM;

beforeAll(async () => {
  await useBackend('wasm');
  anchor = initModel(llama, cfg(32, 4, 4, 2), 1); // 4 blocks, like SmolLM2-360M's 32 in small
  augment = initModel(llama, cfg(24, 3, 3, 1), 2); // 3 blocks
});

afterAll(() => {
  anchor.dispose();
  augment.dispose();
});

describe('freshComposition', () => {
  it('reads the default connections -1:f against the depths and takes the anchor heads', () => {
    const comp = freshComposition(anchor, augment, { seed: 3 });
    expect(SPEC_DEFAULTS.connections).toBe('-1:f');
    expect(comp.spec.connections).toEqual([[-1, 3]]); // f = the augmenting model's 3 blocks, after its final norm
    expect(comp.spec).toMatchObject({ numHeads: 4, output: SPEC_DEFAULTS.output, positionBias: SPEC_DEFAULTS.positionBias, inputNorm: 'whiten', queryNorm: true, valueGate: true });
    expect(comp.bridges).toHaveLength(1);
    const b = comp.bridges[0];
    expect(b.posBias!.shape).toEqual([4, SPEC_DEFAULTS.positionBias]);
    expect(b.inWhiten!.shape).toEqual([24, 24]);
    expect(b.gateW!.shape).toEqual([32, 4]);
    comp.bridges.forEach(disposeBridge);
  });

  it('seeds the bridges as composeModels does (initBridges with the seed and positionInit)', async () => {
    const comp = freshComposition(anchor, augment, { seed: 5, connections: 'every:1', positionInit: 2 });
    expect(comp.spec.connections).toEqual([
      [0, 0],
      [1, 1],
      [2, 2],
    ]);
    const ref = initBridges(comp.spec, 32, 24, 5, 2);
    for (let i = 0; i < ref.length; i++) {
      for (const t of BRIDGE_TENSORS) {
        const got = comp.bridges[i][t.field];
        const want = ref[i][t.field];
        expect(got === undefined).toBe(want === undefined);
        if (got && want) expect(Array.from(await got.data())).toEqual(Array.from(await want.data()));
      }
    }
    expect(Array.from(await comp.bridges[0].posBias!.data()).slice(0, SPEC_DEFAULTS.positionBias)).toEqual([2, 0, 0, 0]);
    [...comp.bridges, ...ref].forEach(disposeBridge);
  });

  it('starts equal to the anchor (zero-init output), the augmenting model run on the same ids', async () => {
    const comp = freshComposition(anchor, augment, { seed: 0 });
    const ids = tf.tensor2d([[1, 5, 9, 2, 7]], [1, 5], 'int32');
    const composed = comp.forward(ids);
    const alone = anchor.forward(ids);
    const diff = tf.max(tf.abs(tf.sub(composed, alone.logits!)));
    expect((await diff.data())[0]).toBe(0);
    tf.dispose([ids, composed, diff]);
    disposeResult(alone);
    comp.bridges.forEach(disposeBridge);
  });

  it('refuses a head count that does not divide the anchor width, in one line', () => {
    expect(() => freshComposition(anchor, augment, { seed: 0, numHeads: 5 })).toThrow(CompositionError);
    expect(() => freshComposition(anchor, augment, { seed: 0, connections: 'every:4' })).toThrow(/every:4/);
  });

  it('trains through a grouped-query Llama anchor: cached and recomputed steps give the same finite gradients', async () => {
    const comp = freshComposition(anchor, augment, { seed: 1 }); // -1:f: the gradient crosses all 4 anchor blocks
    const data = [
      { ids: [1, 5, 9, 2, 7, 3], promptLength: 2 },
      { ids: [4, 8, 6, 2, 9, 11], promptLength: 3 },
    ];
    const cache = await buildFrozenCache(comp, data, 0);
    await fitInputStats(comp, data, 0, cache);
    const params = comp.bridges.flatMap(bridgeVariables);
    const step = async (withCache: boolean) => {
      const { value, grads } = tf.variableGrads(() => compositionLoss(comp, data, [0, 1], 0, 5, withCache ? cache : undefined), params);
      const out = { loss: (await value.data())[0], grads: await Promise.all(params.map((p) => grads[p.name].data())) };
      value.dispose();
      Object.values(grads).forEach((g) => g.dispose());
      return out;
    };
    const cached = await step(true);
    const recomputed = await step(false);
    expect(Number.isFinite(cached.loss)).toBe(true);
    expect(recomputed.loss).toBeCloseTo(cached.loss, 5);
    const oW = params.indexOf(comp.bridges[0].oW);
    expect(Math.max(...Array.from(cached.grads[oW]).map(Math.abs))).toBeGreaterThan(0); // zero-init Wo still learns
    cached.grads.forEach((g, i) => {
      expect(Array.from(g).every(Number.isFinite)).toBe(true);
      const d = Array.from(g).reduce((m, x, j) => Math.max(m, Math.abs(x - recomputed.grads[i][j])), 0);
      expect(d).toBeLessThan(1e-5);
    });
    disposeFrozenCache(cache);
    comp.bridges.forEach(disposeBridge);
  });
});

// The same seed gives the same bridges and the same model weights on every run — seed 0
// included, which tfjs reads as "no seed" (Math.random) unless tfSeed maps it.
import { describe, expect, it } from 'vitest';
import { tf, useBackend } from '../../src/model/tf';
import { initBridges } from '../../src/calm/bridge';
import { initTensors } from '../../src/model/init';
import { GPT2_TENSORS } from '../../src/model/gpt2/tensors';
import { PLAIN_BRIDGE, type CompositionSpec } from '../../src/calm/spec';

const spec: CompositionSpec = { connections: [[-1, 3], [0, 1]], numHeads: 4, output: 'rmsnorm', ...PLAIN_BRIDGE, positionBias: 4 };

/** Every tensor in a (nested) weights object, in a fixed order. */
function tensorsOf(x: unknown): tf.Tensor[] {
  if (x instanceof tf.Tensor) return [x];
  if (Array.isArray(x)) return x.flatMap(tensorsOf);
  if (x && typeof x === 'object') return Object.keys(x).sort().flatMap((k) => tensorsOf((x as Record<string, unknown>)[k]));
  return [];
}

async function values(tensors: tf.Tensor[]): Promise<number[][]> {
  const out = await Promise.all(tensors.map(async (t) => [...(await t.data())]));
  tensors.forEach((t) => t.dispose());
  return out;
}

describe('seeds', () => {
  for (const seed of [0, 1, 7]) {
    it(`seed ${seed}: two initialisations of the bridges and of a model are identical`, async () => {
      await useBackend('cpu');
      const bridges = () => values(tensorsOf(initBridges(spec, 16, 12, seed)));
      expect(await bridges()).toEqual(await bridges());
      const config = { modelType: 'gpt2' as const, vocabSize: 11, nPositions: 8, nEmbd: 16, nLayer: 1, nHead: 2, layerNormEpsilon: 1e-5, activation: 'gelu_new' as const };
      const model = () => values([...initTensors(GPT2_TENSORS, config, seed, { optional: true }).values()]);
      expect(await model()).toEqual(await model());
    });
  }

  it('different seeds give different bridges', async () => {
    const first = (seed: number) => values([initBridges(spec, 16, 12, seed)[0].projW]);
    expect(await first(0)).not.toEqual(await first(1));
  });
});

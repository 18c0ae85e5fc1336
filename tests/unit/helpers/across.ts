// Two tiny GPT-2 models of different vocabularies composed with random bridges (a position bias
// included): the compositions of the tests across tokenizers (docs/design.md § Across tokenizers).
import { tf } from '../../../src/model/tf';
import { gpt2, type GPT2Config } from '../../../src/model/gpt2';
import { initModel } from '../../../src/model/init';
import { Composition } from '../../../src/calm/compose';
import { initBridge, bridgeVariables } from '../../../src/calm/bridge';
import { PLAIN_BRIDGE, type CompositionSpec } from '../../../src/calm/spec';

const cfg = (V: number, D: number, L: number, H: number): GPT2Config => ({
  modelType: 'gpt2',
  vocabSize: V,
  nPositions: 64,
  nEmbd: D,
  nLayer: L,
  nHead: H,
  layerNormEpsilon: 1e-5,
  activation: 'gelu_new',
});

/** Anchor of vocabulary Va (4 blocks), augmenting model of Vg (3 blocks), random bridges with a position bias. */
export function acrossPair(Va: number, Vg: number, seed = 1): Composition {
  const anchor = initModel(gpt2, cfg(Va, 32, 4, 4), seed);
  const augment = initModel(gpt2, cfg(Vg, 24, 3, 2), seed + 1);
  const connections: [number, number][] = [[-1, 0], [1, 2], [1, 3], [3, 2]];
  const spec: CompositionSpec = { connections, numHeads: 4, output: 'zero-init', ...PLAIN_BRIDGE, positionBias: 3 };
  const comp = new Composition(anchor, augment, spec, connections.map((_, i) => initBridge(32, 24, 'zero-init', seed * 100 + i, { position: { heads: 4, buckets: 3, init: 5 } })));
  let s = seed * 7;
  comp.bridges.flatMap(bridgeVariables).forEach((v) => v.assign(tf.randomNormal(v.shape, 0, 0.3, 'float32', s++)));
  return comp;
}


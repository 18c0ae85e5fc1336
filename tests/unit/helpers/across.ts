// Two tiny GPT-2 models of different vocabularies composed with random bridges (a position bias
// included): the compositions of the tests across tokenizers (docs/design.md § Across tokenizers).
import { tf } from '../../../src/model/tf';
import { gpt2, type GPT2Config } from '../../../src/model/gpt2';
import { initModel } from '../../../src/model/init';
import { Composition } from '../../../src/calm/compose';
import { initBridge, bridgeVariables } from '../../../src/calm/bridge';
import { PLAIN_BRIDGE, type CompositionSpec } from '../../../src/calm/spec';
import { layTails, prefixReads, withBos, type Tokenized } from '../../../src/calm/align';
import type { Tokenizer } from '../../../src/tokenizer/tokenizer';

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


/**
 * The full composed forward across tokenizers as a training step reads it: anchor tokens `a`
 * (ends in UTF-8 bytes of `text`), each reading the augmenting tokenization of the text up to
 * its own end (prefixReads: the whole text's tokens it shares, then its tail) → logits [1, T, V].
 */
export function readsLogits(comp: Composition, augment: Tokenizer, text: string, a: Tokenized, augmentBos?: number): tf.Tensor3D {
  let g = augment.encodeWithEnds(text);
  if (augmentBos !== undefined) g = withBos(g, augmentBos);
  const reads = prefixReads(augment, text, a.ends, g, augmentBos);
  const tails = layTails([reads], g.ids.length, a.ids.length);
  return tf.tidy(() => {
    const x = tf.tensor2d([a.ids], [1, a.ids.length], 'int32');
    const y = tf.tensor2d([g.ids], [1, g.ids.length], 'int32');
    return comp.forwardAligned(x, y, { keyLimit: [reads.keyLimit], tails });
  });
}

/** readsLogits as numbers [T][V] (a synchronous read: not on WebGPU). */
export function readsForward(comp: Composition, augment: Tokenizer, text: string, a: Tokenized, augmentBos?: number): number[][] {
  const out = readsLogits(comp, augment, text, a, augmentBos);
  const rows = (out.arraySync() as number[][][])[0];
  out.dispose();
  return rows;
}

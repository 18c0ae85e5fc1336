// Composed decoding across tokenizers (docs/design.md § Across tokenizers): at every step the
// decoder's logits equal the full composed forward over the text so far, while the byte-level
// BPE re-tokenizes the text ('t' → 'th' → 'the') and the caches are cut back and recomputed.
import { beforeAll, describe, expect, it } from 'vitest';
import { tf, useBackend } from '../../src/model/tf';
import { keyLimits, withBos, type Tokenized } from '../../src/calm/align';
import { alignedDecoder } from '../../src/calm/align-decode';
import type { Composition } from '../../src/calm/compose';
import { bridgeVariables } from '../../src/calm/bridge';
import { truncateCache } from '../../src/model/sampling';
import { gpt2 } from '../../src/model/gpt2';
import { initModel } from '../../src/model/init';
import { buildCharTokenizerJson, CHAR_VOCAB_SIZE, Tokenizer } from '../../src/tokenizer';
import { byteBpeTokenizerJson, BYTE_BPE_VOCAB_SIZE } from './helpers/byte-bpe';
import { acrossPair } from './helpers/across';

beforeAll(async () => {
  await useBackend('wasm');
});

const char = Tokenizer.fromJSON(buildCharTokenizerJson());
const bpe = Tokenizer.fromJSON(byteBpeTokenizerJson());

/** The full composed forward over the anchor tokens fed so far and `text` re-read by the augmenting tokenizer: its last logits [V]. */
function fullLast(comp: Composition, tg: Tokenizer, text: string, a: Tokenized, augmentBos?: number): number[] {
  let g = tg.encodeWithEnds(text);
  if (augmentBos !== undefined) g = withBos(g, augmentBos);
  const x = tf.tensor2d([a.ids], undefined, 'int32');
  const y = tf.tensor2d([g.ids], undefined, 'int32');
  const out = comp.forwardAligned(x, y, { keyLimit: [keyLimits(a.ends, g.ends)] });
  const rows = (out.arraySync() as number[][][])[0];
  [x, y, out].forEach((t) => t.dispose());
  return rows[a.ids.length - 1];
}

function dispose(comp: Composition): void {
  comp.anchor.dispose();
  comp.augment.dispose();
  comp.bridges.flatMap(bridgeVariables).forEach((v) => v.dispose());
}

describe('aligned decoding', () => {
  it.each([
    ['char anchor, byte-level augment', 'the cat thé caé 😀 the', 0],
    ['char anchor, byte-level augment, augmenting BOS', 'the cat the', 1],
    ['byte-level anchor, char augment', 'the cat thé caé 😀 the', 0],
  ] as const)('%s: every step equals the full forward over the text so far (1e-5)', (name, text, bos) => {
    const anchorIsChar = name.startsWith('char');
    const [ta, tg] = anchorIsChar ? [char, bpe] : [bpe, char];
    const comp = anchorIsChar ? acrossPair(CHAR_VOCAB_SIZE, BYTE_BPE_VOCAB_SIZE, 3) : acrossPair(BYTE_BPE_VOCAB_SIZE, CHAR_VOCAB_SIZE, 4);
    const augmentBos = bos ? 0 : undefined;
    const whole = ta.encodeWithEnds(text);
    const n0 = tf.memory().numTensors;
    const dec = alignedDecoder(comp, tg, { augmentBos });
    let worst = 0;
    let cutAugment = 0;
    let cutAnchor = 0;
    let prevAug = 0;
    // the prompt is the first 2 anchor tokens, then one token per step
    const steps = [2, ...Array.from({ length: whole.ids.length - 2 }, (_, i) => i + 3)];
    let fed = 0;
    for (const n of steps) {
      const soFar = new TextDecoder().decode(new TextEncoder().encode(text).subarray(0, whole.ends[n - 1]));
      const fresh: Tokenized = { ids: whole.ids.slice(fed, n), ends: whole.ends.slice(fed, n) };
      const got = dec.feed(soFar, fresh);
      const ours = (got.arraySync() as number[][])[0];
      got.dispose();
      const want = fullLast(comp, tg, soFar, { ids: whole.ids.slice(0, n), ends: whole.ends.slice(0, n) }, augmentBos);
      worst = Math.max(worst, ...ours.map((z, v) => Math.abs(z - want[v])));
      if (dec.reused.augment < prevAug) cutAugment++;
      if (dec.reused.anchor < fed) cutAnchor++;
      prevAug = tg.encodeWithEnds(soFar).ids.length + (bos ? 1 : 0);
      fed = n;
    }
    dec.dispose();
    expect(tf.memory().numTensors).toBe(n0);
    console.info(`${name}: max |decoder − full| = ${worst.toExponential(2)}, ${cutAugment} augmenting and ${cutAnchor} anchor cache cuts`);
    expect(worst).toBeLessThan(1e-5);
    // re-tokenization did change an earlier augmenting token (and an anchor token that read it)
    if (anchorIsChar) {
      expect(cutAugment).toBeGreaterThan(0);
      expect(cutAnchor).toBeGreaterThan(0);
    }
    dispose(comp);
  });

  it('truncateCache keeps the first n positions', () => {
    const m = initModel(gpt2, { modelType: 'gpt2', vocabSize: 10, nPositions: 8, nEmbd: 8, nLayer: 1, nHead: 2, layerNormEpsilon: 1e-5, activation: 'gelu_new' }, 1);
    const cache = m.newCache(1);
    m.forward(tf.tensor2d([[1, 2, 3]], undefined, 'int32'), {}, cache).logits!.dispose();
    const k = cache.k[0].slice([0, 0, 0, 0], [-1, -1, 2, -1]).arraySync();
    truncateCache(cache, 2);
    expect(cache.length).toBe(2);
    expect(cache.k[0].arraySync()).toEqual(k);
    expect(() => truncateCache(cache, 3)).toThrow(/cannot keep 3 of 2/);
    m.dispose();
  });
});

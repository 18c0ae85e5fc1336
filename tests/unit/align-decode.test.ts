// Composed decoding across tokenizers (docs/design.md § Across tokenizers): at every step the
// decoder's logits equal the full composed forward over the text so far (each anchor token reading
// its own prefix's augmenting tokenization), while the byte-level BPE re-tokenizes the text
// ('t' → 'th' → 'the'), the augmenting cache is cut back and the prompt's tails are run.
import { beforeAll, describe, expect, it } from 'vitest';
import { tf, useBackend } from '../../src/model/tf';
import type { Tokenized } from '../../src/calm/align';
import { alignedDecoder } from '../../src/calm/align-decode';
import type { Composition } from '../../src/calm/compose';
import { bridgeVariables } from '../../src/calm/bridge';
import { truncateCache } from '../../src/model/sampling';
import { disposeCache } from '../../src/model/causal-lm';
import { gpt2 } from '../../src/model/gpt2';
import { initModel } from '../../src/model/init';
import { buildCharTokenizerJson, CHAR_VOCAB_SIZE, Tokenizer } from '../../src/tokenizer';
import { byteBpeTokenizerJson, BYTE_BPE_VOCAB_SIZE } from './helpers/byte-bpe';
import { acrossPair, readsForward } from './helpers/across';

beforeAll(async () => {
  await useBackend('wasm');
});

const char = Tokenizer.fromJSON(buildCharTokenizerJson());
const bpe = Tokenizer.fromJSON(byteBpeTokenizerJson());

/** The full composed forward over the anchor tokens fed so far and `text`: its last logits [V]. */
function fullLast(comp: Composition, tg: Tokenizer, text: string, a: Tokenized, augmentBos?: number): number[] {
  return readsForward(comp, tg, text, a, augmentBos)[a.ids.length - 1];
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
    let tails = 0;
    let prevAug = 0;
    // the prompt is the first 6 anchor tokens, then one token per step
    const steps = [6, ...Array.from({ length: whole.ids.length - 6 }, (_, i) => i + 7)];
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
      tails += dec.reused.tails;
      prevAug = tg.encodeWithEnds(soFar).ids.length + (bos ? 1 : 0);
      fed = n;
    }
    dec.dispose();
    expect(tf.memory().numTensors).toBe(n0);
    console.info(`${name}: max |decoder − full| = ${worst.toExponential(2)}, ${cutAugment} augmenting cache cuts, ${tails} tails run`);
    expect(worst).toBeLessThan(1e-5);
    // re-tokenization did change an earlier augmenting token, and a prompt token read a tail ('t' of 'the')
    if (anchorIsChar) {
      expect(cutAugment).toBeGreaterThan(0);
      expect(tails).toBeGreaterThan(0);
    }
    dispose(comp);
  });

  it('a KV cache may stop short of the last block (the tails continue it); every forward over it must stop there too', () => {
    const m = initModel(gpt2, { modelType: 'gpt2', vocabSize: 10, nPositions: 8, nEmbd: 8, nLayer: 2, nHead: 2, layerNormEpsilon: 1e-5, activation: 'gelu_new' }, 2);
    const cache = m.newCache(1);
    const at = (ids: number[], c?: typeof cache) => {
      const r = m.forward(tf.tensor2d([ids], undefined, 'int32'), { taps: [0], to: 1, noHead: true }, c);
      const out = r.hidden.get(0)!.arraySync() as number[][][];
      r.last.dispose();
      return out[0];
    };
    at([1, 2, 3], cache);
    const next = at([4], cache)[0];
    const full = at([1, 2, 3, 4])[3];
    next.forEach((x, i) => expect(Math.abs(x - full[i])).toBeLessThan(1e-6));
    expect(() => m.forward(tf.tensor2d([[5]], undefined, 'int32'), {}, cache)).toThrow('a KV cache of 1 blocks read by a forward through block 2');
    disposeCache(cache);
    m.dispose();
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

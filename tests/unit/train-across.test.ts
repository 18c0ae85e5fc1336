// Training, evaluation and bundles across tokenizers (docs/design.md § Across tokenizers): the
// examples carry each model's own tokenization and key limits, a training step reads them from the
// frozen cache as the full aligned forward does, decoding through the Decoder interface equals
// the full forward row by row, and a bundle records and checks both tokenizers.
import { beforeAll, describe, expect, it } from 'vitest';
import { tf, useBackend } from '../../src/model/tf';
import { ALIGNMENT_RULE } from '../../src/calm/align';
import { alignedIdsDecoder } from '../../src/calm/align-decode';
import { Composition } from '../../src/calm/compose';
import { bridgeVariables } from '../../src/calm/bridge';
import { composeModels } from '../../src/calm/experiment';
import { loadedAlignment, manifestJson, readBundleManifest, withAlignment } from '../../src/calm/bundle-manifest';
import { alignmentStability, encodeAligned, makeBatch, disposeBatch } from '../../src/train/batch';
import { buildFrozenCache, compositionLoss, disposeFrozenCache, trainComposition } from '../../src/train/compose-train';
import { columnDecoder, encodeForComposition, exactMatch, codecOf } from '../../src/pipeline/evaluate';
import { buildCharTokenizerJson, CHAR_VOCAB_SIZE, EOS_ID, Tokenizer } from '../../src/tokenizer';
import { byteBpeTokenizerJson, BYTE_BPE_VOCAB_SIZE } from './helpers/byte-bpe';
import { acrossPair, readsForward } from './helpers/across';

beforeAll(async () => {
  await useBackend('wasm');
});

const letters = Tokenizer.fromJSON(buildCharTokenizerJson(), 'letters');
const keys = Tokenizer.fromJSON(buildCharTokenizerJson(['abc', 'qd']), 'keys');
const bpe = Tokenizer.fromJSON(byteBpeTokenizerJson(), 'bpe');

/** A random composition of a character anchor and a byte-level BPE augmenting model, aligned. */
function aligned(seed = 3): Composition {
  const c = acrossPair(CHAR_VOCAB_SIZE, BYTE_BPE_VOCAB_SIZE, seed);
  return new Composition(c.anchor, c.augment, c.spec, c.bridges, ALIGNMENT_RULE);
}

function dispose(comp: Composition): void {
  comp.anchor.dispose();
  comp.augment.dispose();
  comp.bridges.flatMap(bridgeVariables).forEach((v) => v.dispose());
}

const EXAMPLES = [
  { prompt: 'the cat', completion: ' thé' },
  { prompt: 'a cat=', completion: '7' },
  { prompt: 'thethe the', completion: ' caé 😀' },
];

describe('aligned examples', () => {
  it('keys as letters for the anchor, as single tokens for the augmenting model: ids, prompt length and key limits', () => {
    const [e] = encodeAligned(letters, keys, [{ prompt: 'abc+qd=', completion: '5' }], { anchor: 32, augment: 32 });
    const id = (s: string) => keys.encode(s);
    expect(e.ids).toEqual([...letters.encode('abc+qd=5'), EOS_ID]);
    expect(e.promptLength).toBe(7);
    expect(e.augment!.ids).toEqual([...id('abc'), ...id('+'), ...id('qd'), ...id('='), ...id('5')]);
    // anchor input positions a b c + q d = 5 (the end token is only a target): the key 'abc' is
    // visible from 'c' on, 'qd' from 'd' on
    expect(e.augment!.keyLimit).toEqual([0, 0, 1, 2, 2, 3, 4, 5]);
    // 'a', 'b' and 'q' would read a letter token through their own prefix ('a', 'ab', 'abc+q'),
    // which the whole text's tokenization merged into a key token: three unstable positions
    expect(e.augment!.unstable).toBe(3);
  });

  it('the other way round (one anchor token per key, letters on the augmenting side) every position is stable', () => {
    const data = encodeAligned(keys, letters, [{ prompt: 'abc+qd=', completion: '5' }, { prompt: '4+abc-2=', completion: '2' }], { anchor: 32, augment: 32 });
    expect(data.map((e) => e.augment!.unstable)).toEqual([0, 0]);
    expect(data[0].augment!.keyLimit).toEqual([3, 4, 6, 7, 8]); // abc, +, qd, =, 5
    expect(alignmentStability(data)).toEqual({ positions: 5 + 7, unstable: 0 });
  });

  it('a byte-level BPE augmenting side: a merge across an anchor token end gives that position a tail of its own', () => {
    const [e] = encodeAligned(letters, bpe, [{ prompt: 'the', completion: ' cat' }], { anchor: 32, augment: 32 });
    // the whole text is 'the' ' ca' 't'; alone, 't' is 't', 'th' is 'th', 'the ' ends in ' ' and
    // 'the c' in ' c': four unstable positions; 'the ca' and 'the cat' read what the whole text has
    expect(e.augment!.unstable).toBe(4);
    expect(e.augment!.tails.map((t) => [t.shared, bpe.decode(t.ids)])).toEqual([[0, 't'], [0, 'th'], [1, ' '], [1, ' c']]);
    expect(e.augment!.tailOf).toEqual([0, 1, -1, 2, 3, -1, -1]);
    // a batch puts each row's tails after its S whole-text positions
    const b = makeBatch([e], 0);
    expect(b.augment!.tails.slots).toBe(4);
    expect(b.augment!.tails.keyTail![0]).toEqual([{ start: 3, length: 1 }, { start: 4, length: 1 }, { start: 0, length: 0 }, { start: 5, length: 1 }, { start: 6, length: 1 }, { start: 0, length: 0 }, { start: 0, length: 0 }]);
    expect(b.augment!.tails.runs.map((r) => [r.start, r.shared, bpe.decode([...e.augment!.ids.slice(0, r.shared), ...r.ids])])).toEqual([[3, 0, 't'], [4, 0, 'th'], [5, 1, 'the '], [6, 1, 'the c']]);
    disposeBatch(b);
  });

  it('a padded batch: the augmenting side padded to S, padded anchor positions keep their row last limit', () => {
    const data = encodeAligned(letters, bpe, EXAMPLES, { anchor: 64, augment: 64 });
    const b = makeBatch(data, 0);
    const S = Math.max(...data.map((e) => e.augment!.ids.length));
    expect(b.augment!.S).toBe(S);
    expect(b.augment!.ids.shape).toEqual([3, S]);
    const real = b.augment!.real.arraySync() as number[][];
    data.forEach((e, i) => {
      expect(real[i].reduce((x, y) => x + y, 0)).toBe(e.augment!.ids.length);
      const lim = b.augment!.keyLimit[i];
      expect(lim.length).toBe(b.T);
      expect(lim.slice(0, e.ids.length - 1)).toEqual(e.augment!.keyLimit);
      expect(new Set(lim.slice(e.ids.length - 1))).toEqual(new Set(lim.slice(e.ids.length - 1).length ? [e.augment!.keyLimit.at(-1)] : []));
      expect(Math.max(...lim)).toBeLessThanOrEqual(e.augment!.ids.length); // no limit reaches padding
    });
    disposeBatch(b);
  });

  it('names the example and the side that does not fit its context', () => {
    expect(() => encodeAligned(letters, bpe, EXAMPLES, { anchor: 8, augment: 64 })).toThrow("example 1 is 12 anchor tokens (with the end) but the anchor's context is 8");
    expect(() => encodeAligned(letters, bpe, EXAMPLES, { anchor: 64, augment: 3 })).toThrow(/example 1 is \d+ augmenting tokens but the augmenting model's context is 3/);
  });
});

describe('training across tokenizers', () => {
  it('a step from the frozen cache has the loss of the full aligned forward, and training lowers it', async () => {
    const comp = aligned();
    const data = encodeForComposition(comp, { anchor: letters, augment: bpe }, EXAMPLES);
    const T = Math.max(...data.map((e) => e.ids.length)) - 1;
    const cache = await buildFrozenCache(comp, data, 0);
    const idx = [2, 0, 1];
    const [cached, full] = [compositionLoss(comp, data, idx, 0, T, cache), compositionLoss(comp, data, idx, 0, T)];
    expect(Math.abs(cached.dataSync()[0] - full.dataSync()[0])).toBeLessThan(1e-5);
    expect(alignmentStability(data).unstable).toBeGreaterThan(0); // tails are read
    // the full forward by hand: each example alone, each anchor token reading its own prefix's tokenization
    const byHand = data.map((e, i) => {
      const text = EXAMPLES[i].prompt + EXAMPLES[i].completion;
      const a = letters.encodeWithEnds(text);
      expect(a.ids).toEqual(e.ids.slice(0, -1));
      const logits = tf.tensor3d([readsForward(comp, bpe, text, a)]);
      const rows = (tf.logSoftmax(logits).arraySync() as number[][][])[0];
      logits.dispose();
      const terms = rows.map((r, t) => (t + 1 >= e.promptLength ? -r[e.ids[t + 1]] : null)).filter((v): v is number => v !== null);
      return terms;
    });
    const all = byHand.flat();
    expect(full.dataSync()[0]).toBeCloseTo(all.reduce((a, b) => a + b, 0) / all.length, 4);
    [cached, full].forEach((t) => t.dispose());
    disposeFrozenCache(cache);
    const r = await trainComposition(comp, data, { batchSize: 3, steps: 20, lr: 3e-2, seed: 1, padId: 0 });
    expect(r.stopped).toBe('done');
    expect(r.losses.at(-1)!).toBeLessThan(r.losses[0]);
    dispose(comp);
  });

  it('aligned with one tokenizer on both sides, training follows the shared composition step for step', async () => {
    const ascii = [{ prompt: 'the cat', completion: ' the' }, { prompt: 'a cat=', completion: '7' }, { prompt: 'thethe the', completion: ' ca' }];
    const losses: number[][] = [];
    for (const alignment of [undefined, ALIGNMENT_RULE] as const) {
      const c = acrossPair(CHAR_VOCAB_SIZE, CHAR_VOCAB_SIZE, 3);
      const comp = new Composition(c.anchor, c.augment, c.spec, c.bridges, alignment);
      const data = encodeForComposition(comp, alignment ? { anchor: letters, augment: letters } : letters, ascii);
      expect(data.every((e) => (e.augment !== undefined) === (alignment !== undefined))).toBe(true);
      losses.push((await trainComposition(comp, data, { batchSize: 3, steps: 10, lr: 3e-2, seed: 1, padId: 0 })).losses);
      dispose(comp);
    }
    losses[1].forEach((l, i) => expect(Math.abs(l - losses[0][i])).toBeLessThan(1e-5));
  });

  it('refuses plain examples for an aligned composition, and aligned ones for a shared tokenizer', async () => {
    const comp = aligned();
    const plain = [{ ids: [5, 6, 1], promptLength: 1 }];
    await expect(trainComposition(comp, plain, { batchSize: 1, steps: 1, lr: 1e-3, seed: 0, padId: 0 })).rejects.toThrow(/aligns two tokenizers/);
    const shared = new Composition(comp.anchor, comp.augment, comp.spec, comp.bridges);
    const data = encodeAligned(letters, bpe, EXAMPLES, { anchor: 64, augment: 64 });
    await expect(trainComposition(shared, data, { batchSize: 1, steps: 1, lr: 1e-3, seed: 0, padId: 0 })).rejects.toThrow(/share one tokenizer/);
    dispose(comp);
  });
});

describe('decoding across tokenizers behind the Decoder interface', () => {
  it('two rows at once: every step of each equals the full aligned forward over its text so far (1e-5)', () => {
    const comp = aligned(5);
    // ASCII: the character tokenizer has no other characters (an unknown one spells nothing when generated)
    const texts = ['the cat the', 'a cat thethe c'];
    const rows = texts.map((t) => letters.encodeWithEnds(t));
    const dec = alignedIdsDecoder(comp, letters, bpe, 2);
    let worst = 0;
    const n = Math.min(...rows.map((r) => r.ids.length));
    for (let step = 2; step <= n; step++) {
      const feed = rows.map((r) => (step === 2 ? r.ids.slice(0, 2) : [r.ids[step - 1]]));
      const got = dec.feed(feed).arraySync() as number[][];
      rows.forEach((r, b) => {
        const text = letters.decode(r.ids.slice(0, step));
        const want = readsForward(comp, bpe, text, { ids: r.ids.slice(0, step), ends: r.ends.slice(0, step) })[step - 1];
        worst = Math.max(worst, ...want.map((v, i) => Math.abs(v - got[b][i])));
      });
    }
    dec.dispose();
    expect(worst).toBeLessThan(1e-5);
    dispose(comp);
  });

  it('exact match runs the composed column across tokenizers through columnDecoder', async () => {
    const comp = aligned(7);
    const tokenizers = { anchor: letters, augment: bpe };
    const examples = [{ prompt: 'the', completion: 'x' }, { prompt: 'a cat', completion: 'y' }];
    const r = await exactMatch(columnDecoder(comp, 'composed', tokenizers), codecOf(letters), examples, { maxLength: 64 });
    expect(r.n).toBe(2);
    expect(r.predictions.every((p) => typeof p === 'string')).toBe(true);
    expect(() => columnDecoder(comp, 'composed')).toThrow('decoding across tokenizers needs both tokenizers');
    dispose(comp);
  });
});

describe('the text of generated ids (Tokenizer.spell)', () => {
  it('character tokenizer: each token ends after its text; the end token spells nothing', () => {
    expect(keys.spell([...keys.encode('abc+q'), EOS_ID])).toEqual({ text: 'abc+q', ends: [3, 4, 5, 5] });
  });

  it('byte-level: a text ending inside a character is cut before it, the ends clamped there', () => {
    const ids = bpe.encode('aé'); // 'a' + first byte of 'é' merge, then the second byte
    expect(bpe.spell(ids)).toEqual({ text: 'aé', ends: bpe.encodeWithEnds('aé').ends });
    expect(bpe.spell(ids.slice(0, 1))).toEqual({ text: 'a', ends: [1] });
  });
});

describe('composing two tokenizers, and their bundle', () => {
  const handle = (name: string, tokenizer: Tokenizer, V: number, seed: number) => {
    const c = acrossPair(V, V, seed);
    return { name, model: c.anchor, tokenizer };
  };

  it('refuses different tokenizers unless asked to align them; aligned, the composition says so', () => {
    const a = handle('letters-model', letters, 1 + CHAR_VOCAB_SIZE, 1);
    const g = { ...handle('bpe-model', bpe, BYTE_BPE_VOCAB_SIZE, 2) };
    expect(() => composeModels(a, g, { seed: 0, connections: [[0, 1]], numHeads: 4 })).toThrow(/cannot compose letters-model with bpe-model: the tokenizers differ at id 0/);
    const comp = composeModels(a, g, { seed: 0, connections: [[0, 1]], numHeads: 4 }, { align: true });
    expect(comp.alignment).toBe(ALIGNMENT_RULE);
    expect(composeModels(a, { ...g, tokenizer: letters }, { seed: 0, connections: [[0, 1]], numHeads: 4 }, { align: true }).alignment).toBeUndefined();
    a.model.dispose();
    g.model.dispose();
  });

  it('a bundle records the rule and both digests; loading checks them and names the side that differs', async () => {
    const ref = { id: 'x', n_layer: 4, n_embd: 32, vocab_size: 100 };
    const meta = await withAlignment(ALIGNMENT_RULE, { anchor: letters, augment: bpe }, { anchor: ref, augment: ref });
    expect(meta.anchor.tokenizer).toBe(await letters.digest());
    const m = readBundleManifest(manifestJson({ connections: [[0, 1]], numHeads: 4, output: 'zero-init', positionBias: 0, inputNorm: 'none', queryNorm: false, valueGate: false }, meta));
    expect(m.alignment).toBe(ALIGNMENT_RULE);
    expect(await loadedAlignment(m, { anchor: letters, augment: bpe })).toBe(ALIGNMENT_RULE);
    await expect(loadedAlignment(m, { anchor: keys, augment: bpe })).rejects.toThrow(/the anchor's tokenizer.json is not the one the bridges were trained with/);
    await expect(loadedAlignment(m, { anchor: letters })).rejects.toThrow(/needs both models' tokenizer.json/);
    expect(await withAlignment(undefined, undefined, { anchor: ref, augment: ref })).toEqual({ anchor: ref, augment: ref });
    // the same file, written with other white space, has the same digest
    expect(await Tokenizer.fromJSON(JSON.parse(JSON.stringify(byteBpeTokenizerJson(), null, 2))).digest()).toBe(await bpe.digest());
  });
});

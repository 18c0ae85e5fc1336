// Composition across tokenizers (docs/design.md § Across tokenizers): a character-tokenizer model
// and a byte-level BPE model, each reading the text through its own tokenizer. No leak: changing
// the text after byte p leaves every anchor token that ends at or before p bit-identical (p inside
// a multi-byte character too); not vacuous: a change the bridges can see does change them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBundle, bridgesFromRaw, BRIDGE_FILE, COMPOSITION_FILE } from '../../src/calm/bundle';
import { modelFromTensors, parseConfig } from '../../src/io/model-folder';
import { parseSafetensors } from '../../src/io/safetensors';
import { GOLDEN_DIR, maxAbsDiff } from './helpers/golden';
import { tf, useBackend } from '../../src/model/tf';
import { Composition } from '../../src/calm/compose';
import { bridgeVariables, disposeBridge } from '../../src/calm/bridge';
import { alignText, alignedBatch, commonPrefix, keyLimits, layTails, type Alignment, type Tail } from '../../src/calm/align';
import { buildCharTokenizerJson, CHAR_VOCAB_SIZE, PAD_ID, Tokenizer } from '../../src/tokenizer';
import { utf8Length } from '../../src/tokenizer/offsets';
import { byteBpeTokenizerJson, BYTE_BPE_VOCAB_SIZE } from './helpers/byte-bpe';
import { acrossPair, readsForward } from './helpers/across';

beforeAll(async () => {
  await useBackend('wasm');
});

const char = Tokenizer.fromJSON(buildCharTokenizerJson());
const bpe = Tokenizer.fromJSON(byteBpeTokenizerJson());

const ids = (row: number[]) => tf.tensor2d([row], [1, row.length], 'int32');

/** Composed logits [T][V] of one alignment. */
function logitsOf(comp: Composition, a: Alignment): number[][] {
  const [x, g] = [ids(a.anchor.ids), ids(a.augment.ids)];
  const out = comp.forwardAligned(x, g, { keyLimit: [a.keyLimit] });
  const rows = (out.arraySync() as number[][][])[0];
  [x, g, out].forEach((t) => t.dispose());
  return rows;
}

// [text A, text B, p]: A and B share their first p bytes and differ right after
const CASES: [string, string, number][] = [
  ['the cat sat', 'the cat ran', utf8Length('the cat ')],
  ['the caé then', 'the caÃ now', utf8Length('the ca') + 1], // inside 'é' (C3 A9 vs C3 83): 'aÃ' ends at p
  ['hi 😀 x', 'hi 😃 yy', utf8Length('hi ') + 3], // inside the emoji (F0 9F 98 80 vs … 83)
  ['naïve café', 'naïve cafe!', utf8Length('naïve caf')],
];

describe('composition across tokenizers', () => {
  const pairs: [string, Composition, Tokenizer, Tokenizer][] = [];
  beforeAll(() => {
    pairs.push(['char anchor, byte-level augment', acrossPair(CHAR_VOCAB_SIZE, BYTE_BPE_VOCAB_SIZE), char, bpe]);
    pairs.push(['byte-level anchor, char augment', acrossPair(BYTE_BPE_VOCAB_SIZE, CHAR_VOCAB_SIZE, 2), bpe, char]);
  });
  afterAll(() => pairs.forEach(([, c]) => (c.anchor.dispose(), c.augment.dispose(), c.bridges.flatMap(bridgeVariables).forEach((v) => v.dispose()))));

  it('changing the text after byte p leaves every anchor token ending at or before p bit-identical', () => {
    for (const [name, comp, ta, tg] of pairs)
      for (const [A, B, p] of CASES) {
        expect(Buffer.from(A).subarray(0, p).equals(Buffer.from(B).subarray(0, p)), `${A} / ${B} share ${p} bytes`).toBe(true);
        const [a, b] = [alignText(ta, tg, A), alignText(ta, tg, B)];
        // what the rule promises given the tokenizations: the tokens ending by p are the same on both sides
        const upTo = (t: Alignment['anchor']) => t.ids.filter((_, j) => t.ends[j] <= p);
        expect(upTo(b.anchor), name).toEqual(upTo(a.anchor));
        expect(upTo(b.augment), name).toEqual(upTo(a.augment));
        const n = upTo(a.anchor).length;
        expect(n).toBeGreaterThan(0);
        expect(logitsOf(comp, b).slice(0, n), `${name}: ${A} / ${B}`).toEqual(logitsOf(comp, a).slice(0, n));
      }
  });

  it('each anchor token reads only the text up to its end: its logits are those of that text alone, a BPE merge across its end included (1e-5)', () => {
    const texts = ['the cat thé caé 😀 the', 'thethe naïve'];
    for (const [name, comp, ta, tg] of pairs)
      for (const text of texts) {
        const bytes = Buffer.from(text);
        const a = ta.encodeWithEnds(text);
        const g = tg.encodeWithEnds(text);
        const full = readsForward(comp, tg, text, a);
        const plain = logitsOf(comp, { anchor: a, augment: g, ...{ keyLimit: keyLimits(a.ends, g.ends), tailOf: [], tails: [], unstable: 0 } });
        let worst = 0;
        let leaked = 0;
        a.ids.forEach((_, t) => {
          // the text up to token t's end (cut before a character it ends inside), nothing after it
          let cut = a.ends[t];
          while (cut > 0 && cut < bytes.length && (bytes[cut] & 0xc0) === 0x80) cut--;
          const prefix = bytes.subarray(0, cut).toString();
          const own = readsForward(comp, tg, prefix, { ids: a.ids.slice(0, t + 1), ends: a.ends.slice(0, t + 1).map((e) => Math.min(e, cut)) });
          worst = Math.max(worst, ...own[t].map((z, v) => Math.abs(z - full[t][v])));
          if (Math.max(...own[t].map((z, v) => Math.abs(z - plain[t][v]))) > 1e-4) leaked++;
        });
        expect(worst, `${name}: ${text}`).toBeLessThan(1e-5);
        // not vacuous: with the whole text's tokens alone (the key limit, no tails) a char anchor
        // reads what the text after it made of its last letters
        if (name.startsWith('char')) expect(leaked, `${name}: ${text}`).toBeGreaterThan(0);
      }
  });

  it('is not vacuous: an augmenting token the anchor token may read changes its logits', () => {
    for (const [name, comp, ta, tg] of pairs) {
      // the same anchor ids, the augmenting side read from another text of the same byte length
      const a = alignText(ta, tg, 'the cat sat');
      const other = alignText(ta, tg, 'the cat sit');
      const b = { ...a, augment: other.augment, keyLimit: other.keyLimit };
      const [la, lb] = [logitsOf(comp, a), logitsOf(comp, b)];
      // the augmenting tokens differ from byte 10 on ('a' and 'i' are one token each on both sides)
      const first = a.anchor.ends.findIndex((e) => e >= 10);
      expect(first).toBeGreaterThan(0);
      expect(lb.slice(0, first), name).toEqual(la.slice(0, first));
      for (let t = first; t < la.length; t++) expect(lb[t], `${name}, token ${t}`).not.toEqual(la[t]);
      // and the whole text changed before p changes the anchor tokens after it
      const c = alignText(ta, tg, 'tho cat sat');
      expect(logitsOf(comp, c).at(-1)).not.toEqual(la.at(-1));
    }
  });

  it('a padded batch gives each text its own logits (key limits and tails differ by row, padding masked)', () => {
    const [, comp, ta, tg] = pairs[0];
    const texts = ['the cat', 'a caé!😀'];
    const rows = texts.map((t) => alignText(ta, tg, t));
    const batch = alignedBatch(rows, { anchor: PAD_ID, augment: 0 });
    expect(batch.tails.runs.length).toBeGreaterThan(0);
    const x = tf.tensor2d(batch.anchorIds, undefined, 'int32');
    const g = tf.tensor2d(batch.augmentIds, undefined, 'int32');
    const keyMask = tf.tensor2d(batch.augmentMask);
    const out = comp.forwardAligned(x, g, { keyLimit: batch.keyLimit, keyMask, tails: batch.tails });
    const got = out.arraySync() as number[][][];
    rows.forEach((r, b) => {
      const want = readsForward(comp, tg, texts[b], r.anchor);
      want.forEach((row, t) => row.forEach((z, v) => expect(Math.abs(got[b][t][v] - z)).toBeLessThan(1e-5)));
    });
    [x, g, keyMask, out].forEach((t) => t.dispose());
  });

  it('one tokenizer on both sides with keyLimit t + 1 is the plain forward, bit for bit; other ids without a keyLimit are refused', () => {
    const [, comp] = pairs[0];
    const a = alignText(char, char, 'the cat');
    const x = ids(a.anchor.ids);
    const plain = comp.forward(x);
    const aligned = comp.forwardAligned(x, ids(a.anchor.ids), { keyLimit: [a.keyLimit] });
    expect(aligned.arraySync()).toEqual(plain.arraySync());
    expect(() => comp.forwardAligned(x, ids([1, 2]))).toThrow(/need a keyLimit/);
    [x, plain, aligned].forEach((t) => t.dispose());
  });

  it('forwardFromCache with the key limit and tails equals forwardAligned (what a training step reads)', () => {
    const [, comp, ta, tg] = pairs[0];
    const a = alignText(ta, tg, 'the caé 😀');
    const tails = layTails([a], a.augment.ids.length, a.anchor.ids.length);
    expect(tails.slots).toBeGreaterThan(0);
    const [x, g] = [ids(a.anchor.ids), ids(a.augment.ids)];
    const prefix = comp.anchorPrefix(x);
    const states = comp.augmentStatesWithTails(g, tails);
    const cached = comp.forwardFromCache(prefix, states, { keyLimit: [a.keyLimit], keyTail: tails.keyTail });
    const full = comp.forwardAligned(x, g, { keyLimit: [a.keyLimit], tails });
    expect(tf.max(tf.abs(tf.sub(cached, full))).arraySync()).toBeLessThan(1e-5);
    [x, g, prefix, cached, full, ...states.values()].forEach((t) => t.dispose());
  });

  it('leaks no tensors', () => {
    const [, comp, ta, tg] = pairs[0];
    const a = alignText(ta, tg, 'the caé');
    logitsOf(comp, a); // warm-up (kernels' own caches)
    readsForward(comp, tg, 'the caé', a.anchor);
    const n0 = tf.memory().numTensors;
    logitsOf(comp, a);
    readsForward(comp, tg, 'the caé', a.anchor); // tails run and gathered
    expect(tf.memory().numTensors).toBe(n0);
  });
});

/** A golden model folder (config.json + model.safetensors) as a model. */
function goldenModel(name: string) {
  const dir = join(GOLDEN_DIR, name);
  const bytes = readFileSync(join(dir, 'model.safetensors'));
  const { tensors } = parseSafetensors(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), `${name}/model.safetensors`);
  return modelFromTensors(tensors, parseConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'))));
}

describe('composition across tokenizers against PyTorch (tests/golden/calm-tiny/golden-across.json)', () => {
  it('bundle-pos with own augmenting ids and hand-made key limits (and tails) gives the golden logits within 1e-4', () => {
    const g = JSON.parse(readFileSync(join(GOLDEN_DIR, 'calm-tiny', 'golden-across.json'), 'utf8')) as {
      anchor_ids: number[][];
      augment_ids: number[][];
      key_limit: number[][];
      logits: number[][][];
      reads: number[][][];
      logits_reads: number[][][];
    };
    const [anchor, augment] = [goldenModel('gpt2-tiny'), goldenModel('gpt2-tiny-aug')];
    const dir = join(GOLDEN_DIR, 'calm-tiny', 'bundle-pos');
    const parsed = parseBundle(
      { composition: readFileSync(join(dir, COMPOSITION_FILE), 'utf8'), bridge: new Uint8Array(readFileSync(join(dir, BRIDGE_FILE))) },
      { anchor: anchor.config, augment: augment.config },
    );
    const comp = new Composition(anchor, augment, parsed.spec, bridgesFromRaw(parsed.bridges));
    const x = tf.tensor2d(g.anchor_ids, undefined, 'int32');
    const y = tf.tensor2d(g.augment_ids, undefined, 'int32');
    const out = comp.forwardAligned(x, y, { keyLimit: g.key_limit });
    const err = maxAbsDiff(out.arraySync(), g.logits);
    console.info(`golden-across: max |logits - golden| = ${err.toExponential(2)}`);
    expect(err).toBeLessThan(1e-4);
    // each anchor position its own augmenting ids: the row's first keyLimit, then a tail (the
    // reference runs every list through the augmenting model alone)
    const rows = g.reads.map((row, b) => {
      const whole = g.augment_ids[b];
      const tails: Tail[] = [];
      const keyLimit = row.map((r) => commonPrefix(r, whole));
      const tailOf = row.map((r, t) => (r.length > keyLimit[t] ? tails.push({ shared: keyLimit[t], ids: r.slice(keyLimit[t]) }) - 1 : -1));
      return { keyLimit, tailOf, tails };
    });
    const tails = layTails(rows, g.augment_ids[0].length, g.anchor_ids[0].length);
    expect(tails.runs.length).toBeGreaterThan(3);
    const withTails = comp.forwardAligned(x, y, { keyLimit: rows.map((r) => r.keyLimit), tails });
    const errReads = maxAbsDiff(withTails.arraySync(), g.logits_reads);
    console.info(`golden-across reads: max |logits - golden| = ${errReads.toExponential(2)}`);
    expect(errReads).toBeLessThan(1e-4);
    [x, y, out, withTails].forEach((t) => t.dispose());
    anchor.dispose();
    augment.dispose();
    comp.bridges.forEach(disposeBridge);
  });
});

// The alignment of two tokenizations of one text (docs/design.md § Across tokenizers): token end
// offsets in UTF-8 bytes, and what each anchor token reads (keyLimit and its tail).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildCharTokenizerJson, Tokenizer, TokenizerError, UNK_ID } from '../../src/tokenizer';
import { utf8Length } from '../../src/tokenizer/offsets';
import { alignText, keyLimits, withBos } from '../../src/calm/align';
import { byteBpeTokenizerJson } from './helpers/byte-bpe';
import { GOLDEN_DIR } from './helpers/golden';

const char = Tokenizer.fromJSON(buildCharTokenizerJson(['key1']));
const bpe = Tokenizer.fromJSON(byteBpeTokenizerJson());
const TEXTS = ['the cat', 'aé', 'a😀b', 'naïve café', 'key1 the', ' the cat thé'];

describe('token end offsets (UTF-8 bytes)', () => {
  it('the character tokenizer: one code point per token, an unknown one included; a word token is its text', () => {
    expect(char.encodeWithEnds('aé😀bkey1 x')).toEqual({ ids: char.encode('aé😀bkey1 x'), ends: [1, 3, 7, 8, 12, 13, 14] });
    expect(char.encode('é')).toEqual([UNK_ID]);
  });

  it('a byte-level BPE: a token ends at the byte it ends at, inside a character too', () => {
    const r = bpe.encodeWithEnds('naïve café');
    expect(r.ids.map((id) => bpe.idToToken(id))).toEqual(['n', 'aÃ', '¯', 'v', 'e', 'Ġca', 'f', 'Ã', '©']);
    expect(r.ends).toEqual([1, 3, 4, 5, 6, 9, 10, 11, 12]);
  });

  it('the last end is the text length in bytes, for every text and both tokenizers (and the golden fixtures)', () => {
    const llama = Tokenizer.fromJSON(JSON.parse(readFileSync(join(GOLDEN_DIR, 'llama-tiny', 'tokenizer.json'), 'utf8')));
    const neox = Tokenizer.fromJSON(JSON.parse(readFileSync(join(GOLDEN_DIR, 'neox-tiny', 'tokenizer.json'), 'utf8')));
    for (const text of TEXTS) for (const tok of [char, bpe]) expect(tok.encodeWithEnds(text).ends.at(-1)).toBe(utf8Length(text));
    expect(llama.encodeWithEnds('the cat')).toEqual({ ids: llama.encode('the cat'), ends: [1, 3, 4, 5, 6, 7] });
    expect(neox.encodeWithEnds('<|endoftext|>the').ends).toEqual([13, 14, 16]); // '<|endoftext|>' 't' 'he'
  });

  it('refuses a normalizer that changes the text, and a tokenizer whose tokens do not spell it', () => {
    const neox = Tokenizer.fromJSON(JSON.parse(readFileSync(join(GOLDEN_DIR, 'neox-tiny', 'tokenizer.json'), 'utf8')));
    expect(() => neox.encodeWithEnds('e\u0301')).toThrow(/normalizer changes this text/);
    const json = buildCharTokenizerJson() as Record<string, unknown>;
    json.normalizer = { type: 'Lowercase' };
    const lower = Tokenizer.fromJSON(json);
    expect(lower.hasEnds).toBe(false);
    expect(() => lower.encodeWithEnds('A')).toThrow(TokenizerError);
  });
});

describe('keyLimit: anchor token t reads the augmenting tokens ending at or before it', () => {
  it('ASCII: the character anchor over byte-level BPE tokens', () => {
    // anchor t h e ␣ c a t ends 1..7; augmenting 'the' 3, 'Ġca' 6, 't' 7
    expect(alignText(char, bpe, 'the cat').keyLimit).toEqual([0, 0, 1, 1, 1, 2, 3]);
  });

  it('a token covering part of a multi-byte character is invisible to the anchor token before it', () => {
    // 'aé': anchor 'a' ends at byte 1, 'é' at 3; augmenting 'aÃ' ends at 2 (inside é), '©' at 3
    const a = alignText(char, bpe, 'aé');
    expect(a.augment.ends).toEqual([2, 3]);
    expect(a.keyLimit).toEqual([0, 2]);
    // the other way round: the anchor token 'aÃ' ends at byte 2 and reads the character 'a' only
    expect(alignText(bpe, char, 'aé').keyLimit).toEqual([1, 2]);
    // an emoji is 4 bytes: one anchor token, four augmenting byte tokens
    const e = alignText(char, bpe, 'a😀b');
    expect(e.augment.ends).toEqual([1, 2, 3, 4, 5, 6]);
    expect(e.keyLimit).toEqual([1, 5, 6]);
  });

  it('a BOS ends at 0: visible to every anchor token; an anchor BOS reads only zero-length tokens', () => {
    const plain = alignText(char, bpe, 'the cat').keyLimit;
    expect(alignText(char, bpe, 'the cat', { augmentBos: 0 }).keyLimit).toEqual(plain.map((k) => k + 1));
    expect(alignText(char, bpe, 'the cat', { anchorBos: 1, augmentBos: 0 }).keyLimit).toEqual([1, ...plain.map((k) => k + 1)]);
    expect(alignText(char, bpe, 'the cat', { anchorBos: 1 }).keyLimit).toEqual([0, ...plain]);
  });

  it('one tokenizer on both sides gives keyLimit[t] = t + 1 and no tail (the causal rule) where a token ends on a character boundary', () => {
    for (const tok of [char, bpe])
      for (const text of TEXTS)
        for (const opts of [{}, { anchorBos: 0, augmentBos: 0 }]) {
          const a = alignText(tok, tok, text, opts);
          const bytes = Buffer.from(text);
          a.anchor.ends.forEach((e, t) => {
            if (e < bytes.length && (bytes[e] & 0xc0) === 0x80) return; // inside a character: the next test
            expect([a.keyLimit[t], a.tailOf[t]], `${text} token ${t}`).toEqual([t + 1, -1]);
          });
        }
  });

  it('an anchor token reads the augmenting tokenization of the text up to its end: the whole text\'s first keyLimit tokens, then its tail', () => {
    let tails = 0;
    for (const text of TEXTS)
      for (const [x, y] of [[char, bpe], [bpe, char], [bpe, bpe]]) {
        const a = alignText(x, y, text);
        const bytes = Buffer.from(text);
        a.anchor.ends.forEach((e, t) => {
          let cut = e; // cut before a character the token ends inside
          while (cut > 0 && cut < bytes.length && (bytes[cut] & 0xc0) === 0x80) cut--;
          const own = cut > 0 ? y.encode(bytes.subarray(0, cut).toString()) : [];
          const tail = a.tailOf[t] < 0 ? [] : a.tails[a.tailOf[t]].ids;
          expect([...a.augment.ids.slice(0, a.keyLimit[t]), ...tail], `${text} token ${t}`).toEqual(own);
          a.augment.ends.slice(0, a.keyLimit[t]).forEach((g) => expect(g).toBeLessThanOrEqual(e));
          if (a.tailOf[t] >= 0) tails++;
        });
      }
    expect(tails).toBeGreaterThan(0);
    // 'the cat': 't', 'th', ' ' and 'c' tokenize otherwise alone than inside 'the', 'Ġca'
    const a = alignText(char, bpe, 'the cat');
    expect(a.tails.map((t) => [t.shared, t.ids.map((id) => bpe.idToToken(id))])).toEqual([[0, ['t']], [0, ['th']], [1, ['Ġ']], [1, ['Ġc']]]);
    expect(a.tailOf).toEqual([0, 1, -1, 2, 3, -1, -1]);
    expect(a.unstable).toBe(4);
  });

  it('refuses decreasing ends', () => {
    expect(() => keyLimits([2, 1], [1])).toThrow(/non-decreasing/);
    expect(withBos({ ids: [5], ends: [1] }, 0)).toEqual({ ids: [0, 5], ends: [0, 1] });
  });
});

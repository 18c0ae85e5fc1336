import { describe, it, expect } from 'vitest';
import { Tokenizer as HFTokenizer } from '@huggingface/tokenizers';
import {
  buildCharTokenizerJson,
  CHAR_ALPHABET,
  CHAR_VOCAB_SIZE,
  compareVocabularies,
  EOS_ID,
  PAD_ID,
  Tokenizer,
  TokenizerError,
  UNK_ID,
} from '../../src/tokenizer';

const PRINTABLE = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join('');

/** The char tokenizer.json with the tokens at ids `i` and `j` swapped. */
function swapped(i: number, j: number): Record<string, unknown> {
  const json = buildCharTokenizerJson() as { model: { vocab: Record<string, number> } };
  const vocab = json.model.vocab;
  const ti = Object.keys(vocab).find((t) => vocab[t] === i)!;
  const tj = Object.keys(vocab).find((t) => vocab[t] === j)!;
  vocab[ti] = j;
  vocab[tj] = i;
  return json;
}

describe('character tokenizer.json with word tokens (the key table)', () => {
  it('makes each word one token after the characters, and leaves other letters characters', () => {
    const tok = Tokenizer.fromJSON(buildCharTokenizerJson(['abc', 'qdx', 'kkr']));
    expect(tok.vocabSize).toBe(CHAR_VOCAB_SIZE + 3);
    expect(tok.encode('abc+qdx-kkr=')).toEqual([98, '+'.charCodeAt(0) - 29, 99, '-'.charCodeAt(0) - 29, 100, '='.charCodeAt(0) - 29]);
    // a word inside longer text is still cut out; the rest stays characters
    expect(tok.encode('abd+xkkr')).toEqual([...'abd+x'].map((c) => c.charCodeAt(0) - 29).concat([100]));
    expect(tok.decode(tok.encode('abc4 qdx7'))).toBe('abc4 qdx7');
    expect(tok.idToToken(99)).toBe('qdx');
  });

  it('refuses a word that is one character or already a token', () => {
    expect(() => buildCharTokenizerJson(['a'])).toThrow(/at least 2/);
    expect(() => buildCharTokenizerJson(['ab', 'ab'])).toThrow(/'ab'/);
  });
});

describe('character tokenizer.json', () => {
  it('loads in @huggingface/tokenizers directly, one id per character', () => {
    const hf = new HFTokenizer(buildCharTokenizerJson(), {});
    const enc = hf.encode('abc+qdx-kkr=', { add_special_tokens: false });
    expect(enc.tokens).toEqual('abc+qdx-kkr='.split(''));
    expect(enc.ids).toEqual('abc+qdx-kkr='.split('').map((c) => c.charCodeAt(0) - 29));
  });

  it('has V = 98 with pad/eos/unk at 0/1/2 and printable ASCII after them', () => {
    const tok = Tokenizer.fromJSON(buildCharTokenizerJson());
    expect(CHAR_VOCAB_SIZE).toBe(98);
    expect(tok.vocabSize).toBe(98);
    expect(CHAR_ALPHABET).toBe(PRINTABLE);
    expect(tok.padId).toBe(PAD_ID);
    expect(tok.eosId).toBe(EOS_ID);
    expect(tok.idToToken(UNK_ID)).toBe('<unk>');
    expect(tok.tokens()).toEqual(['<pad>', '<eos>', '<unk>', ...PRINTABLE.split('')]);
    expect(tok.idToToken(98)).toBeUndefined();
    expect(tok.idToToken(-1)).toBeUndefined();
  });

  it('round-trips every printable character exactly, spaces and punctuation included', () => {
    const tok = Tokenizer.fromJSON(buildCharTokenizerJson());
    const ids = tok.encode(PRINTABLE);
    expect(ids).toEqual(Array.from({ length: 95 }, (_, i) => i + 3));
    expect(tok.decode(ids)).toBe(PRINTABLE);
    // The library's default clean-up would turn " ." into "." and "do n't" into "don't".
    for (const s of ['a , b . c', "do n't", '  two  spaces  ', 'ABC abc 123 !?']) {
      expect(tok.decode(tok.encode(s))).toBe(s);
    }
  });

  it('maps an unknown character to <unk>, one per character', () => {
    const tok = Tokenizer.fromJSON(buildCharTokenizerJson());
    expect(tok.encode('aé\nb')).toEqual([68, UNK_ID, UNK_ID, 69]);
    expect(tok.encode('😀')).toEqual([UNK_ID]);
  });

  it('does not lowercase', () => {
    const tok = Tokenizer.fromJSON(buildCharTokenizerJson());
    expect(tok.encode('Aa')).toEqual([65 - 29, 97 - 29]);
  });

  it('decodes: drops special tokens unless asked, empty list gives ""', () => {
    const tok = Tokenizer.fromJSON(buildCharTokenizerJson());
    const ids = [...tok.encode('4+7'), EOS_ID, PAD_ID, PAD_ID];
    expect(tok.decode(ids)).toBe('4+7');
    expect(tok.decode(ids, false)).toBe('4+7<eos><pad><pad>');
    expect(tok.decode([])).toBe('');
    expect(tok.encode('')).toEqual([]);
  });

  it('encodes 10k short strings well within a second', () => {
    const tok = Tokenizer.fromJSON(buildCharTokenizerJson());
    const strings = Array.from({ length: 10_000 }, (_, i) => `k${i % 977}q+${i}-x=`);
    const start = performance.now();
    let total = 0;
    for (const s of strings) total += tok.encode(s).length;
    const elapsed = performance.now() - start;
    expect(total).toBe(strings.reduce((n, s) => n + s.length, 0));
    // Not a benchmark: only catches an accidental quadratic or per-call rebuild.
    expect(elapsed).toBeLessThan(5000);
  });

  it('finds a GPT-2 style end of text as eos', () => {
    const json = buildCharTokenizerJson() as {
      added_tokens: { id: number; content: string; special: boolean }[];
      model: { vocab: Record<string, number> };
    };
    for (const t of json.added_tokens) if (t.content === '<eos>') t.content = '<|endoftext|>';
    delete json.model.vocab['<eos>'];
    json.model.vocab['<|endoftext|>'] = EOS_ID;
    const tok = Tokenizer.fromJSON(json);
    expect(tok.eosId).toBe(EOS_ID);
    expect(tok.padId).toBe(PAD_ID);
  });
});

describe('other tokenizer.json models', () => {
  const wordLevel = (unk: boolean): Record<string, unknown> => ({
    added_tokens: unk ? [{ id: 0, content: '[UNK]', special: true }] : [],
    normalizer: null,
    pre_tokenizer: { type: 'WhitespaceSplit' },
    post_processor: null,
    decoder: null,
    model: { type: 'WordLevel', vocab: { '[UNK]': 0, hello: 1, world: 2 }, ...(unk ? { unk_token: '[UNK]' } : {}) },
  });

  it('loads a WordLevel tokenizer, unknown words going to its unknown token', () => {
    const tok = Tokenizer.fromJSON(wordLevel(true));
    expect(tok.encode('hello world foo')).toEqual([1, 2, 0]);
    expect(tok.vocabSize).toBe(3);
    expect(tok.eosId).toBeUndefined();
    expect(tok.padId).toBeUndefined();
  });

  it('refuses to encode what the vocabulary lacks when there is no unknown token', () => {
    const tok = Tokenizer.fromJSON(wordLevel(false), 'words');
    expect(tok.encode('hello world')).toEqual([1, 2]);
    expect(() => tok.encode('hello foo')).toThrow(TokenizerError);
  });
});

describe('Tokenizer.fromJSON errors', () => {
  const bad: [string, unknown][] = [
    ['a string', 'not json'],
    ['null', null],
    ['an array', []],
    ['no model', { ...buildCharTokenizerJson(), model: undefined }],
    ['no vocab', { ...buildCharTokenizerJson(), model: { type: 'BPE', merges: [] } }],
    ['an unknown model type', { ...buildCharTokenizerJson(), model: { type: 'Nope', vocab: 3 } }],
    ['an unknown decoder', { ...buildCharTokenizerJson(), decoder: { type: 'Nope' } }],
    ['no added_tokens', { ...buildCharTokenizerJson(), added_tokens: undefined }],
    ['an empty vocabulary', { ...buildCharTokenizerJson(), added_tokens: [], model: { type: 'BPE', vocab: {}, merges: [] } }],
  ];
  for (const [what, json] of bad) {
    it(`rejects ${what} with a one-line TokenizerError naming the label`, () => {
      let caught: unknown;
      try {
        Tokenizer.fromJSON(json, 'models/anchor/tokenizer.json');
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(TokenizerError);
      const message = (caught as Error).message;
      expect(message).toMatch(/^models\/anchor\/tokenizer\.json: not a valid tokenizer\.json: /);
      expect(message).not.toContain('\n');
    });
  }
});

describe('compareVocabularies', () => {
  it('finds identical tokenizers the same', () => {
    const a = Tokenizer.fromJSON(buildCharTokenizerJson(), 'anchor');
    const b = Tokenizer.fromJSON(buildCharTokenizerJson(), 'augment');
    expect(compareVocabularies(a, b)).toEqual({ same: true });
  });

  it('names the first differing id and both tokens', () => {
    const a = Tokenizer.fromJSON(buildCharTokenizerJson());
    const b = Tokenizer.fromJSON(swapped(68, 40)); // 'a' (68) and 'E' (40)
    const result = compareVocabularies(a, b);
    expect(result).toMatchObject({ same: false, id: 40, anchorToken: 'E', augmentToken: 'a' });
    if (result.same) throw new Error('unreachable');
    expect(result.message).toBe("the tokenizers differ at id 40: the anchor has 'E', the augmenting model has 'a'");
    // The swap also tokenizes differently, which is what the check protects against.
    expect(a.encode('a')).not.toEqual(b.encode('a'));
  });

  it('reports a size difference at the first id only one side has', () => {
    const json = buildCharTokenizerJson() as { model: { vocab: Record<string, number> } };
    json.model.vocab['ab'] = 98;
    const a = Tokenizer.fromJSON(buildCharTokenizerJson());
    const b = Tokenizer.fromJSON(json);
    expect(b.vocabSize).toBe(99);
    const result = compareVocabularies(a, b);
    expect(result).toMatchObject({ same: false, id: 98, anchorToken: undefined, augmentToken: 'ab' });
    if (result.same) throw new Error('unreachable');
    expect(result.message).toContain('the anchor has no token');
    expect(result.message).toContain('the anchor has 98 tokens, the augmenting model 99');
  });
});

import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
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
import { GOLDEN_DIR as GOLDEN } from './helpers/golden';

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

describe('byte-level BPE tokenizer.json of the Llama and GPT-NeoX fixtures (tests/golden/make_tokenizers.py)', () => {
  const read = (folder: string) => JSON.parse(readFileSync(join(GOLDEN, folder, 'tokenizer.json'), 'utf8')) as Record<string, unknown>;
  const LLAMA = ['llama-tiny', 'llama-tiny-sharded', 'llama-tiny-untied', 'llama-tiny-bf16', 'llama-tiny-f16'];
  const NEOX = ['neox-tiny', 'neox-tiny-serial'];
  const TEXTS = ['the cat in the rain', ' the', 'abc+qdx=', '4+7-3=8', 'eno2 lrp0 mtf5', '  two  spaces ', '<|endoftext|>on'];

  it.each([...LLAMA, ...NEOX])('%s: one id per row of the model, the families\' special tokens, the end-of-sequence token found', (folder) => {
    const json = read(folder);
    const config = JSON.parse(readFileSync(join(GOLDEN, folder, 'config.json'), 'utf8')) as { vocab_size: number; eos_token_id: number };
    const tok = Tokenizer.fromJSON(json, folder);
    expect(tok.vocabSize).toBe(config.vocab_size);
    expect(json).toMatchObject({ pre_tokenizer: { type: 'ByteLevel' }, decoder: { type: 'ByteLevel' }, model: { type: 'BPE', unk_token: null } });
    const specials = LLAMA.includes(folder) ? ['<|endoftext|>', '<|im_start|>', '<|im_end|>'] : ['<|endoftext|>', '<|padding|>'];
    expect(tok.tokens().slice(0, specials.length)).toEqual(specials);
    expect(tok.eosId).toBe(0);
    expect(tok.idToToken(tok.eosId!)).toBe('<|endoftext|>');
    expect(tok.padId).toBe(LLAMA.includes(folder) ? undefined : 1);
    // GPT-2's byte symbols: a space is 'Ġ'
    expect(tok.tokens()).toEqual(expect.arrayContaining(['Ġ', 'Ġthe', 'a', 'z', '0', '9', '+', '-', '=']));
  });

  it.each(['llama-tiny', 'neox-tiny'])('%s: encodes and decodes round trip, merges apply, special tokens stay whole', (folder) => {
    const tok = Tokenizer.fromJSON(read(folder), folder);
    for (const text of TEXTS) expect(tok.decode(tok.encode(text), false)).toBe(text);
    expect(tok.encode(' the').map((id) => tok.idToToken(id))).toEqual(['Ġthe']);
    expect(tok.encode('the').map((id) => tok.idToToken(id))).toEqual(['t', 'he']);
    expect(tok.encode('<|endoftext|>on')[0]).toBe(tok.eosId);
    // decode drops special tokens by default
    expect(tok.decode([tok.eosId!, ...tok.encode(' the')])).toBe(' the');
  });

  it('the same text and merges in both files, in the merges\' two spellings', () => {
    const llama = read('llama-tiny').model as { merges: unknown[] };
    const neox = read('neox-tiny').model as { merges: unknown[] };
    expect(llama.merges[0]).toEqual(['Ġ', 't']);
    expect(neox.merges[0]).toBe('Ġ t');
    expect(neox.merges.slice(0, llama.merges.length)).toEqual(llama.merges.map((m) => (m as string[]).join(' ')));
    const a = Tokenizer.fromJSON(read('llama-tiny'));
    const b = Tokenizer.fromJSON(read('neox-tiny'));
    // ids shift by one (three special tokens against two); the tokens are the same
    for (const text of TEXTS.slice(0, 5)) expect(a.encode(text).map((i) => a.idToToken(i))).toEqual(b.encode(text).map((i) => b.idToToken(i)));
    const cmp = compareVocabularies(a, b);
    expect(cmp.same).toBe(false);
    expect(cmp.same ? '' : cmp.message).toBe("the tokenizers differ at id 1: the anchor has '<|im_start|>', the augmenting model has '<|padding|>'");
  });

  it('text outside the cut-down byte alphabet is an error naming the character, not silently dropped', () => {
    const tok = Tokenizer.fromJSON(read('neox-tiny'), 'neox-tiny/tokenizer.json');
    expect(() => tok.encode('Hello')).toThrow(TokenizerError);
    expect(() => tok.encode('Hello')).toThrow('neox-tiny/tokenizer.json: the vocabulary cannot encode "H" (character 1 of the text) and it has no unknown token');
    expect(() => tok.encode('ab\ncd')).toThrow('cannot encode "\\n" (character 3 of the text)');
    // the library alone drops it
    expect(new HFTokenizer(read('neox-tiny'), {}).encode('Hello', { add_special_tokens: false }).ids).toHaveLength(4);
  });
});

/**
 * The character-level tokenizer every built-in model uses, written as a Hugging Face
 * `tokenizer.json` so built-in and imported models load through one path (docs/design.md § Files).
 *
 * Ids: `<pad>` 0, `<eos>` 1, `<unk>` 2, then printable ASCII 32..126 in order (ids 3..97).
 */

export const PAD_ID = 0;
export const EOS_ID = 1;
export const UNK_ID = 2;

export const PAD_TOKEN = '<pad>';
export const EOS_TOKEN = '<eos>';
export const UNK_TOKEN = '<unk>';

const SPECIAL_TOKENS = [PAD_TOKEN, EOS_TOKEN, UNK_TOKEN] as const;
const FIRST_CHAR = 32; // ' '
const LAST_CHAR = 126; // '~'

/** V of the character tokenizer: 3 special tokens + 95 printable ASCII characters. */
export const CHAR_VOCAB_SIZE = SPECIAL_TOKENS.length + (LAST_CHAR - FIRST_CHAR + 1);

/** The characters of the vocabulary in id order: `CHAR_ALPHABET[i]` has id `i + 3`. */
export const CHAR_ALPHABET: string = Array.from({ length: LAST_CHAR - FIRST_CHAR + 1 }, (_, i) =>
  String.fromCharCode(FIRST_CHAR + i),
).join('');

/**
 * A `tokenizer.json` for the character tokenizer.
 *
 * Why BPE with no merges: Hugging Face's WordLevel model needs a pre-tokenizer to cut the
 * text into characters and the JS port has no WordLevel at all, whereas a BPE model with
 * an empty merge list, fed the whole text as one word, splits it into single characters
 * and maps each to its id (or to `<unk>`) in both the Rust/Python and the JS library.
 * No normalizer (no lowercasing, no Unicode rewriting) and no pre-tokenizer, so spaces
 * are ordinary tokens; the `Fuse` decoder joins tokens with nothing between them, so
 * decoding gives the text back exactly.
 *
 * `wordTokens` (ids 98, 99, …) are whole strings made single tokens, as added tokens: the
 * library cuts them out of the text before the character model sees the rest. The built-in
 * models list every key of the key table here, so a key is one token as in the paper, whose
 * keys are tokens of the models' vocabulary (docs/reproduction.md).
 */
export function buildCharTokenizerJson(wordTokens: readonly string[] = []): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  SPECIAL_TOKENS.forEach((token, id) => {
    vocab[token] = id;
  });
  for (let i = 0; i < CHAR_ALPHABET.length; i++) vocab[CHAR_ALPHABET[i]] = SPECIAL_TOKENS.length + i;
  const words = wordTokens.map((content, i) => {
    if (content.length < 2 || content in vocab) throw new RangeError(`a word token must be new and at least 2 characters long, got '${content}'`);
    const id = CHAR_VOCAB_SIZE + i;
    vocab[content] = id;
    return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: false };
  });

  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((content: string, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })).concat(words),
    normalizer: null,
    pre_tokenizer: null,
    post_processor: null,
    decoder: { type: 'Fuse' },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: UNK_TOKEN,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      // One `<unk>` per unknown character, so positions stay aligned with characters.
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: [],
    },
  };
}

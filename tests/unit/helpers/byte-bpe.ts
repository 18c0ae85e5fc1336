// A byte-level BPE tokenizer.json with all 256 bytes (GPT-2's byte alphabet and split regex, no
// prefix space) and a few merges, one of which ends inside 'é' ('a' + its first byte): the
// augmenting tokenizer of the tests across tokenizers (docs/design.md § Across tokenizers).

function byteSymbols(): string[] {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let n = 0;
  return Array.from({ length: 256 }, (_, b) => String.fromCodePoint(printable(b) ? b : 256 + n++));
}

/** Merges in rank order: 'aÃ' is 'a' and the first byte of 'é' (C3 A9). */
export const BYTE_BPE_MERGES: [string, string][] = [
  ['t', 'h'],
  ['Ġ', 't'],
  ['th', 'e'],
  ['a', 'Ã'],
  ['Ġ', 'c'],
  ['Ġc', 'a'],
];

/** Ids: `<|endoftext|>` 0, the 256 byte symbols in byte order (1..256), then the merges. */
export function byteBpeTokenizerJson(): Record<string, unknown> {
  const vocab: Record<string, number> = { '<|endoftext|>': 0 };
  byteSymbols().forEach((s, b) => (vocab[s] = b + 1));
  for (const [a, b] of BYTE_BPE_MERGES) vocab[a + b] = Object.keys(vocab).length;
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [{ id: 0, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: byteLevel,
    decoder: byteLevel,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges: BYTE_BPE_MERGES.map(([a, b]) => `${a} ${b}`),
    },
  };
}

/** V of byteBpeTokenizerJson. */
export const BYTE_BPE_VOCAB_SIZE = 1 + 256 + BYTE_BPE_MERGES.length;

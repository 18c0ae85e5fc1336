export {
  buildCharTokenizerJson,
  CHAR_ALPHABET,
  CHAR_VOCAB_SIZE,
  EOS_ID,
  EOS_TOKEN,
  PAD_ID,
  PAD_TOKEN,
  UNK_ID,
  UNK_TOKEN,
} from './char';
export { Tokenizer, TokenizerError } from './tokenizer';
export { compareVocabularies, type VocabularyComparison } from './compare';

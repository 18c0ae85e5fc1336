// Composition across tokenizers on WebGPU (docs/design.md § Across tokenizers): a character
// anchor over a byte-level BPE, each anchor token reading the augmenting tokenization of the text
// up to its own end — key limits, tails continued from the augmenting KV cache, the keyTail mask
// and position bias of the reference attention — gives the CPU's logits.
import { expect, it } from 'vitest';
import { tf, useBackend } from '../../src/model/tf';
import { buildCharTokenizerJson, CHAR_VOCAB_SIZE, Tokenizer } from '../../src/tokenizer';
import { prefixReads } from '../../src/calm/align';
import { acrossPair, readsLogits } from '../unit/helpers/across';
import { byteBpeTokenizerJson, BYTE_BPE_VOCAB_SIZE } from '../unit/helpers/byte-bpe';
import { relativeError, requireWebGPU, TOLERANCE } from './kernels-helpers';

it(`a character anchor over a byte-level BPE with tails: WebGPU gives the CPU's logits within ${TOLERANCE}`, async () => {
  const char = Tokenizer.fromJSON(buildCharTokenizerJson());
  const bpe = Tokenizer.fromJSON(byteBpeTokenizerJson());
  const text = 'the cat thé caé';
  const a = char.encodeWithEnds(text);
  expect(prefixReads(bpe, text, a.ends, bpe.encodeWithEnds(text)).tails.length).toBeGreaterThan(3);
  await useBackend('cpu');
  const comp = acrossPair(CHAR_VOCAB_SIZE, BYTE_BPE_VOCAB_SIZE, 3);
  const want = readsLogits(comp, bpe, text, a);
  const wantData = tf.tensor(await want.data(), want.shape);
  await requireWebGPU();
  const got = readsLogits(comp, bpe, text, a); // the models' weights move to WebGPU as they are read
  expect(await relativeError(got, wantData)).toBeLessThan(TOLERANCE);
  [want, wantData, got].forEach((t) => t.dispose());
});

// composition.json across tokenizers (docs/design.md § Across tokenizers): both tokenizers'
// sha256 and the alignment rule are written and read back; loading checks the digests.
import { describe, expect, it } from 'vitest';
import { ALIGNMENT_RULE, checkTokenizers, manifestJson, readBundleManifest, tokenizerDigest } from '../../src/calm/bundle-manifest';
import { PLAIN_BRIDGE, type CompositionSpec } from '../../src/calm/spec';
import { buildCharTokenizerJson } from '../../src/tokenizer';
import { byteBpeTokenizerJson } from './helpers/byte-bpe';

const spec: CompositionSpec = { connections: [[1, 2]], numHeads: 2, output: 'zero-init', ...PLAIN_BRIDGE };

describe('composition.json across tokenizers', () => {
  it('writes and reads both tokenizer digests and the alignment rule; checks them on load', async () => {
    const [ta, tg] = [await tokenizerDigest(JSON.stringify(buildCharTokenizerJson())), await tokenizerDigest(JSON.stringify(byteBpeTokenizerJson()))];
    expect(ta).toMatch(/^[0-9a-f]{64}$/);
    expect(await tokenizerDigest('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    const meta = {
      anchor: { id: 'a', n_layer: 3, n_embd: 8, vocab_size: 98, tokenizer: ta },
      augment: { id: 'g', n_layer: 3, n_embd: 6, vocab_size: 263, tokenizer: tg },
      alignment: ALIGNMENT_RULE,
    };
    const m = readBundleManifest(manifestJson(spec, meta));
    expect(m.alignment).toBe('utf8-prefix@2');
    // a bundle of the previous rule reads as the current one (they differ only at a BPE merge across an anchor token's end)
    expect(readBundleManifest(manifestJson(spec, meta).replace('utf8-prefix@2', 'utf8-byte-ends@1')).alignment).toBe('utf8-prefix@2');
    expect(m.anchor.tokenizer).toBe(ta);
    expect(m.augment.tokenizer).toBe(tg);
    expect(() => checkTokenizers(m, { anchor: ta, augment: tg })).not.toThrow();
    expect(() => checkTokenizers(m, { anchor: ta, augment: ta })).toThrow(
      new RegExp(`^composition.json: the augmenting model's tokenizer.json is not the one the bridges were trained with \\(sha256 ${ta.slice(0, 12)}…, recorded ${tg.slice(0, 12)}…\\)$`),
    );
    // a bundle of one tokenizer records neither, and checks nothing
    const plain = readBundleManifest(manifestJson(spec, { anchor: { id: 'a', n_layer: 3, n_embd: 8, vocab_size: 98 }, augment: { id: 'g', n_layer: 3, n_embd: 6, vocab_size: 98 } }));
    expect(plain.alignment).toBeUndefined();
    expect(() => checkTokenizers(plain, { anchor: ta, augment: tg })).not.toThrow();
  });

  it('refuses an unknown alignment rule and a malformed digest with one line naming the field', () => {
    const doc = JSON.parse(manifestJson(spec, { anchor: { id: 'a', n_layer: 3, n_embd: 8, vocab_size: 98 }, augment: { id: 'g', n_layer: 3, n_embd: 6, vocab_size: 98 } }));
    expect(() => readBundleManifest(JSON.stringify({ ...doc, alignment: 'chars' }))).toThrow(/alignment.*utf8-prefix@2/);
    expect(() => readBundleManifest(JSON.stringify({ ...doc, anchor: { ...doc.anchor, tokenizer: 'xyz' } }))).toThrow(/anchor.tokenizer.*sha256/);
  });
});

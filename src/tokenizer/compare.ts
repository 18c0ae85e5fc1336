import type { Tokenizer } from './tokenizer';

export type VocabularyComparison =
  | { same: true }
  | { same: false; id: number; anchorToken?: string; augmentToken?: string; message: string };

/** A token as a message shows it: quoted, with control characters escaped; "no token" when absent. */
function show(token: string | undefined): string {
  return token === undefined ? 'no token' : `'${JSON.stringify(token).slice(1, -1)}'`;
}

/**
 * Whether the anchor and the augmenting model tokenize identically, judged by their
 * id→token tables (docs/design.md § CALM: both models read the same ids at the same positions, so a
 * difference anywhere would make the bridge read the augmenting model's view of other text).
 * On a difference, names the first differing id.
 */
export function compareVocabularies(anchor: Tokenizer, augment: Tokenizer): VocabularyComparison {
  const n = Math.max(anchor.vocabSize, augment.vocabSize);
  for (let id = 0; id < n; id++) {
    const anchorToken = anchor.idToToken(id);
    const augmentToken = augment.idToToken(id);
    if (anchorToken === augmentToken) continue;
    const sizes =
      anchor.vocabSize === augment.vocabSize
        ? ''
        : ` (the anchor has ${anchor.vocabSize} tokens, the augmenting model ${augment.vocabSize})`;
    return {
      same: false,
      id,
      anchorToken,
      augmentToken,
      message:
        `the tokenizers differ at id ${id}: the anchor has ${show(anchorToken)}, ` +
        `the augmenting model has ${show(augmentToken)}${sizes}`,
    };
  }
  return { same: true };
}

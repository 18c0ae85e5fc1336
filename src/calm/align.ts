// The alignment of two tokenizations of one text (docs/design.md § Across tokenizers): which
// augmenting tokens each anchor token's bridges may read when the two models tokenize
// differently. No tfjs: the bridges take the result as a key limit per anchor token.
//
// Rule: anchor token t may read every augmenting token that ends at or before anchor token t
// ends. Ends are in UTF-8 bytes of the text (src/tokenizer/offsets.ts), for both sides: a token
// that ends inside a multi-byte character ends at that byte, so an augmenting token covering part
// of character c is never visible to an anchor token that ends before c (it has read fewer bytes),
// and a token of zero length (a BOS) ends at 0 and is visible to every anchor token.
import type { Tokenizer } from '../tokenizer/tokenizer';

/**
 * The alignment rule of a composition across tokenizers, as composition.json records it:
 * anchor token t reads the augmenting tokens ending, in UTF-8 bytes, at or before its end.
 */
export const ALIGNMENT_RULE = 'utf8-byte-ends@1' as const;
export type AlignmentRule = typeof ALIGNMENT_RULE;

/** Token ids with each token's end in UTF-8 bytes of the text (non-decreasing). */
export interface Tokenized {
  ids: number[];
  ends: number[];
}

/** The two sides of one text, aligned: what a composition across tokenizers reads. */
export interface Alignment {
  anchor: Tokenized;
  augment: Tokenized;
  /** Per anchor token: how many augmenting tokens it may read (those are a prefix). */
  keyLimit: number[];
}

function checkEnds(ends: readonly number[], side: string): void {
  ends.forEach((e, i) => {
    if (!Number.isInteger(e) || e < 0 || (i > 0 && e < ends[i - 1])) throw new RangeError(`${side} token ends must be non-decreasing integers ≥ 0, got ${e} at ${i}`);
  });
}

/**
 * keyLimit[t] = the number of augmenting tokens j with augmentEnds[j] ≤ anchorEnds[t]. Ends are
 * non-decreasing, so the visible tokens are the first keyLimit[t]. With one tokenizer on both
 * sides (equal ends, each token non-empty) keyLimit[t] = t + 1: the causal rule.
 */
export function keyLimits(anchorEnds: readonly number[], augmentEnds: readonly number[]): number[] {
  checkEnds(anchorEnds, 'anchor');
  checkEnds(augmentEnds, 'augmenting');
  const out: number[] = [];
  let j = 0;
  for (const e of anchorEnds) {
    while (j < augmentEnds.length && augmentEnds[j] <= e) j++;
    out.push(j);
  }
  return out;
}

/** A token of zero length (a BOS) put first: it ends at 0. */
export function withBos(t: Tokenized, bosId: number): Tokenized {
  return { ids: [bosId, ...t.ids], ends: [0, ...t.ends] };
}

/** Options of alignText: a BOS id to put first on either side. */
export interface AlignOptions {
  anchorBos?: number;
  augmentBos?: number;
}

/** Tokenizes `text` with each model's own tokenizer and aligns the two. */
export function alignText(anchor: Tokenizer, augment: Tokenizer, text: string, opts: AlignOptions = {}): Alignment {
  let a: Tokenized = anchor.encodeWithEnds(text);
  let g: Tokenized = augment.encodeWithEnds(text);
  if (opts.anchorBos !== undefined) a = withBos(a, opts.anchorBos);
  if (opts.augmentBos !== undefined) g = withBos(g, opts.augmentBos);
  return { anchor: a, augment: g, keyLimit: keyLimits(a.ends, g.ends) };
}

/** Alignments of several texts as one right-padded batch (plain arrays; no tfjs). */
export interface AlignedBatch {
  anchorIds: number[][]; // [B][T]
  augmentIds: number[][]; // [B][S]
  /** [B][S] 1 for real augmenting tokens, 0 for padding (the bridges' keyMask). */
  augmentMask: number[][];
  /** [B][T]; a padded anchor position keeps its row's last limit. */
  keyLimit: number[][];
}

/** Pads each side to its longest row with `pad` ids. */
export function alignedBatch(rows: readonly Alignment[], pad: { anchor: number; augment: number }): AlignedBatch {
  const T = Math.max(...rows.map((r) => r.anchor.ids.length));
  const S = Math.max(...rows.map((r) => r.augment.ids.length));
  const fill = <X>(xs: readonly X[], n: number, x: X): X[] => [...xs, ...new Array<X>(n - xs.length).fill(x)];
  return {
    anchorIds: rows.map((r) => fill(r.anchor.ids, T, pad.anchor)),
    augmentIds: rows.map((r) => fill(r.augment.ids, S, pad.augment)),
    augmentMask: rows.map((r) => fill(r.augment.ids.map(() => 1), S, 0)),
    keyLimit: rows.map((r) => padKeyLimit(r.keyLimit, T)),
  };
}

/** A row's key limits padded to T anchor positions: a padded position keeps the row's last limit. */
export function padKeyLimit(keyLimit: readonly number[], T: number): number[] {
  const last = keyLimit.at(-1) ?? 0;
  return Array.from({ length: T }, (_, t) => keyLimit[t] ?? last);
}

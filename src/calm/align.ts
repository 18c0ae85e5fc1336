// The alignment of two tokenizations of one text (docs/design.md § Across tokenizers): which
// augmenting tokens each anchor token's bridges may read when the two models tokenize
// differently. No tfjs: the bridges take the result as a key limit per anchor token.
//
// Rule: anchor token t reads the augmenting model's states of the text up to its own end, as the
// augmenting tokenizer cuts that text. Ends are in UTF-8 bytes of the text (src/tokenizer/offsets.ts),
// for both sides. Mostly those tokens are the first keyLimit[t] of the whole text's tokenization
// (the tokens ending at or before t's end); where a BPE merges across t's end ('t', 'th', 'the'),
// the prefix's own tokenization differs from the whole text's after `keyLimit[t]` tokens and
// anchor token t also reads a *tail*: the differing tokens, run by the augmenting model after the
// shared ones (prefixReads). A token of zero length (a BOS) ends at 0 and is read by every anchor token.
import type { Tokenizer } from '../tokenizer/tokenizer';

/**
 * The alignment rule of a composition across tokenizers, as composition.json records it:
 * anchor token t reads the augmenting tokenization of the text up to its end (in UTF-8 bytes,
 * cut before a character it ends inside): prefixReads.
 */
export const ALIGNMENT_RULE = 'utf8-prefix@2' as const;
export type AlignmentRule = typeof ALIGNMENT_RULE;
/**
 * The rule before it: anchor token t read the whole text's augmenting tokens ending at or before
 * its end. The two differ only where the text up to t tokenizes otherwise than the whole text
 * (a BPE merge across t's end); a bundle recording it is read under ALIGNMENT_RULE.
 */
export const PREVIOUS_ALIGNMENT_RULE = 'utf8-byte-ends@1' as const;

/** Token ids with each token's end in UTF-8 bytes of the text (non-decreasing). */
export interface Tokenized {
  ids: number[];
  ends: number[];
}

/**
 * The tokenization of an anchor token's own prefix where it is not a prefix of the whole text's:
 * the whole text's first `shared` augmenting tokens, then `ids`.
 */
export interface Tail {
  shared: number;
  ids: number[];
}

/**
 * What each anchor token reads of the augmenting side: the first keyLimit[t] tokens of the whole
 * text's tokenization, then tails[tailOf[t]] when tailOf[t] ≥ 0 (its prefix tokenizes otherwise).
 */
export interface PrefixReads {
  keyLimit: number[];
  tailOf: number[];
  /** Distinct per text; empty when every prefix tokenizes as the whole text does. */
  tails: Tail[];
  /**
   * Anchor tokens whose prefix does not tokenize as the first keyLimits(…)[t] tokens of the
   * whole text: those a plain key limit would have let read other tokens than their own.
   */
  unstable: number;
}

/** The two sides of one text, aligned: what a composition across tokenizers reads. */
export interface Alignment extends PrefixReads {
  anchor: Tokenized;
  augment: Tokenized;
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
  return { anchor: a, augment: g, ...prefixReads(augment, text, a.ends, g, opts.augmentBos) };
}

/** The number of leading entries two id lists share. */
export function commonPrefix(a: readonly number[], b: readonly number[]): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** `end` moved back to the start of the character it falls inside (bytes[end] a continuation byte). */
function charStart(bytes: Uint8Array, end: number): number {
  while (end > 0 && end < bytes.length && (bytes[end] & 0xc0) === 0x80) end--;
  return end;
}

/**
 * What each anchor token (ends `anchorEnds` in UTF-8 bytes of `text`) reads of the augmenting
 * side, given the whole text's augmenting tokenization `whole` (with the BOS `bos` first, if
 * any): the augmenting tokenization of the text up to its end — cut before a character it ends
 * inside, as Tokenizer.spell cuts a decoder's text — as the tokens it shares with `whole` and a
 * tail. Each distinct end is tokenized once. docs/design.md § Across tokenizers.
 */
export function prefixReads(
  augment: { encodeWithEnds(text: string): Tokenized },
  text: string,
  anchorEnds: readonly number[],
  whole: Tokenized,
  bos?: number,
): PrefixReads {
  const bytes = utf8.encode(text);
  const plain = keyLimits(anchorEnds, whole.ends);
  const byEnd = new Map<number, [limit: number, tail: number, unstable: boolean]>();
  const tails: Tail[] = [];
  const out: PrefixReads = { keyLimit: [], tailOf: [], tails, unstable: 0 };
  anchorEnds.forEach((end, t) => {
    let r = byEnd.get(end);
    if (!r) {
      const cut = charStart(bytes, end);
      // the whole text is `whole` already
      const own = cut === bytes.length ? null : cut > 0 ? augment.encodeWithEnds(fromUtf8.decode(bytes.subarray(0, cut))).ids : [];
      const ids = own === null ? whole.ids : bos === undefined ? own : [bos, ...own];
      const shared = commonPrefix(ids, whole.ids);
      const unstable = ids.length !== plain[t] || shared !== plain[t];
      if (ids.length > shared) tails.push({ shared, ids: ids.slice(shared) });
      r = [shared, ids.length > shared ? tails.length - 1 : -1, unstable];
      byEnd.set(end, r);
    }
    out.keyLimit.push(r[0]);
    out.tailOf.push(r[1]);
    if (r[2]) out.unstable++;
  });
  return out;
}

/**
 * Extra keys of one anchor token: its tail's states, at key positions [start, start + length)
 * (after the whole text's S). length 0: none.
 */
export interface KeyTail {
  start: number;
  length: number;
}

/** One tail to run through the augmenting model, after row `row`'s first `shared` whole-text tokens: its states go to key positions start… */
export interface TailRun extends Tail {
  row: number;
  start: number;
}

/** Where a batch's tails sit: each row's tails one after another from key position S on. */
export interface TailLayout {
  /** [B][T] per anchor position (a padded one keeps its row's last); undefined when no row has a tail. */
  keyTail?: KeyTail[][];
  runs: TailRun[];
  /** Key positions after S that tails take: the most any row needs, or the `slots` asked for. */
  slots: number;
}

/** Key positions a text's tails take after its whole tokenization. */
export function tailSlots(reads: Pick<PrefixReads, 'tails'>): number {
  return reads.tails.reduce((n, t) => n + t.ids.length, 0);
}

/**
 * Lays out the tails of a batch: the rows' reads, S whole positions and T anchor positions.
 * `slots` fixes the tail positions (a cache's).
 */
export function layTails(rows: readonly Pick<PrefixReads, 'tailOf' | 'tails'>[], S: number, T: number, slots?: number): TailLayout {
  const need = Math.max(0, ...rows.map(tailSlots));
  if (slots !== undefined && need > slots) throw new RangeError(`a row's tails need ${need} key positions, more than ${slots}`);
  const runs: TailRun[] = [];
  if (need === 0) return { runs, slots: slots ?? 0 };
  const none: KeyTail = { start: 0, length: 0 };
  const keyTail = rows.map((reads, row) => {
    let start = S;
    const placed = reads.tails.map((t) => {
      runs.push({ ...t, row, start });
      const k = { start, length: t.ids.length };
      start += t.ids.length;
      return k;
    });
    const out = reads.tailOf.map((i) => (i < 0 ? none : placed[i]));
    return Array.from({ length: T }, (_, t) => out[t] ?? out.at(-1) ?? none);
  });
  return { keyTail, runs, slots: slots ?? need };
}

/** Alignments of several texts as one right-padded batch (plain arrays; no tfjs). */
export interface AlignedBatch {
  anchorIds: number[][]; // [B][T]
  augmentIds: number[][]; // [B][S]
  /** [B][S] 1 for real augmenting tokens, 0 for padding (the bridges' keyMask). */
  augmentMask: number[][];
  /** [B][T]; a padded anchor position keeps its row's last limit. */
  keyLimit: number[][];
  /** The tails (Composition.forwardAligned's `tails`, the bridges' keyTail). */
  tails: TailLayout;
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
    tails: layTails(rows, S, T),
  };
}

/** A row's key limits padded to T anchor positions: a padded position keeps the row's last limit. */
export function padKeyLimit(keyLimit: readonly number[], T: number): number[] {
  const last = keyLimit.at(-1) ?? 0;
  return Array.from({ length: T }, (_, t) => keyLimit[t] ?? last);
}

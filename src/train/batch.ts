// Examples → padded token batches with a loss mask on the completion only. Across tokenizers
// (docs/design.md § Across tokenizers) an example also carries the augmenting model's own
// tokenization of its text and each anchor input position's key limit.
import { tf } from '../model/tf';
import { layTails, padKeyLimit, prefixReads, tailSlots, type PrefixReads, type TailLayout, type Tokenized } from '../calm/align';

export interface EncodedExample {
  ids: number[]; // prompt + completion + eos
  promptLength: number;
  /**
   * Across tokenizers: the augmenting ids of prompt + completion and, per anchor input position
   * (ids[:-1]), what it reads of them (src/calm/align.ts prefixReads): the first keyLimit, then
   * its tail where the text up to its own end tokenizes otherwise (a BPE merge across its end).
   * `unstable` counts those positions: docs/design.md § Across tokenizers.
   */
  augment?: { ids: number[] } & PrefixReads;
}

/** What aligned encoding needs of a tokenizer (src/tokenizer/tokenizer.ts). */
export interface EndsCodec {
  encodeWithEnds(text: string): Tokenized;
  eosId?: number;
  label: string;
}

/**
 * Tokenizes examples for a composition across tokenizers: the anchor reads prompt then
 * completion (each encoded on its own, as encodeExamples) then its end token, which ends where
 * the text ends; the augmenting model reads its own tokenization of prompt + completion. Throws
 * naming the example when a side is longer than its context.
 */
export function encodeAligned(
  anchor: EndsCodec,
  augment: EndsCodec,
  examples: { prompt: string; completion: string }[],
  context: { anchor: number; augment: number },
): EncodedExample[] {
  if (anchor.eosId === undefined) throw new Error(`the tokenizer ${anchor.label} has no end-of-sequence token`);
  return examples.map((e, i) => {
    const p = anchor.encodeWithEnds(e.prompt);
    const c = anchor.encodeWithEnds(e.completion);
    const at = p.ends.at(-1) ?? 0;
    const ids = [...p.ids, ...c.ids, anchor.eosId!];
    const ends = [...p.ends, ...c.ends.map((x) => x + at), (c.ends.at(-1) ?? 0) + at];
    const text = e.prompt + e.completion;
    const g = augment.encodeWithEnds(text);
    if (ids.length > context.anchor) throw new Error(`example ${i + 1} is ${ids.length} anchor tokens (with the end) but the anchor's context is ${context.anchor}`);
    if (g.ids.length > context.augment) throw new Error(`example ${i + 1} is ${g.ids.length} augmenting tokens but the augmenting model's context is ${context.augment}`);
    return { ids, promptLength: p.ids.length, augment: { ids: g.ids, ...prefixReads(augment, text, ends.slice(0, -1), g) } };
  });
}

/** Across tokenizers: anchor input positions, and how many of them are unstable (see EncodedExample.augment). */
export function alignmentStability(data: readonly EncodedExample[]): { positions: number; unstable: number } {
  let positions = 0;
  let unstable = 0;
  for (const e of data) {
    if (!e.augment) continue;
    positions += e.augment.keyLimit.length;
    unstable += e.augment.unstable;
  }
  return { positions, unstable };
}

export interface TokenCodec {
  encode(text: string): number[];
  eosId: number;
}

/** Tokenizes examples; throws naming the example when one is longer than maxLength tokens. */
export function encodeExamples(
  codec: TokenCodec,
  examples: { prompt: string; completion: string }[],
  maxLength: number,
): EncodedExample[] {
  return examples.map((e, i) => {
    const p = codec.encode(e.prompt);
    const c = codec.encode(e.completion);
    const ids = [...p, ...c, codec.eosId];
    if (ids.length > maxLength) {
      throw new Error(
        `example ${i + 1} is ${ids.length} tokens (prompt ${p.length}, completion ${c.length} + end) but the models' context is ${maxLength}`,
      );
    }
    return { ids, promptLength: p.length };
  });
}

export interface Batch {
  ids: tf.Tensor2D; // [B, T] int32, inputs (right-padded)
  targets: tf.Tensor2D; // [B, T] int32, the next token at every position
  mask: tf.Tensor2D; // [B, T] float32, 1 where the target is a completion token or the end
  real: tf.Tensor2D; // [B, T] float32, 1 at real (not padding) input positions
  T: number;
  /** Across tokenizers: the augmenting side, right-padded to S, and the tails after it. */
  augment?: {
    ids: tf.Tensor2D; // [B, S] int32
    real: tf.Tensor2D; // [B, S] float32, 1 at real augmenting tokens
    keyLimit: number[][]; // [B][T]; a padded anchor position keeps its row's last limit
    S: number;
    tails: TailLayout; // tail keys at positions S … S + slots − 1
  };
}

/** The lengths a batch is padded to: anchor input positions T, augmenting positions S and tail positions after S. */
export interface BatchLengths {
  T?: number;
  S?: number;
  slots?: number;
}

/** Right-pads rows to the longest (or to `fixed`'s lengths); input = ids[:-1], target = ids[1:]. */
export function makeBatch(examples: EncodedExample[], padId: number, fixed: BatchLengths = {}): Batch {
  const T = fixed.T ?? Math.max(...examples.map((e) => e.ids.length)) - 1;
  const B = examples.length;
  const ids = new Int32Array(B * T).fill(padId);
  const targets = new Int32Array(B * T).fill(padId);
  const mask = new Float32Array(B * T);
  const real = new Float32Array(B * T);
  examples.forEach((e, b) => {
    for (let t = 0; t < e.ids.length - 1; t++) {
      real[b * T + t] = 1;
      ids[b * T + t] = e.ids[t];
      targets[b * T + t] = e.ids[t + 1];
      // position t predicts token t+1: a completion token when t+1 ≥ promptLength
      if (t + 1 >= e.promptLength) mask[b * T + t] = 1;
    }
  });
  return {
    ids: tf.tensor2d(ids, [B, T], 'int32'),
    targets: tf.tensor2d(targets, [B, T], 'int32'),
    mask: tf.tensor2d(mask, [B, T], 'float32'),
    real: tf.tensor2d(real, [B, T], 'float32'),
    T,
    ...(examples[0]?.augment ? { augment: augmentSide(examples, T, fixed) } : {}),
  };
}

/** The longest augmenting side of aligned examples (0 without one). */
export function augmentLength(examples: EncodedExample[]): number {
  return Math.max(0, ...examples.map((e) => e.augment?.ids.length ?? 0));
}

/** The most tail positions an aligned example needs (0 without one). */
export function tailLength(examples: EncodedExample[]): number {
  return Math.max(0, ...examples.map((e) => (e.augment ? tailSlots(e.augment) : 0)));
}

// Augmenting padding is id 0 (any id of its vocabulary): no key limit reaches a padded position,
// and the augmenting model is causal, so what pads it is never read.
function augmentSide(examples: EncodedExample[], T: number, fixed: BatchLengths): NonNullable<Batch['augment']> {
  const S = fixed.S ?? augmentLength(examples);
  const B = examples.length;
  const ids = new Int32Array(B * S);
  const real = new Float32Array(B * S);
  const keyLimit = examples.map((e, b) => {
    const a = e.augment;
    if (!a) throw new Error(`example ${b + 1} of an aligned batch has no augmenting side`);
    a.ids.forEach((id, j) => ((ids[b * S + j] = id), (real[b * S + j] = 1)));
    return padKeyLimit(a.keyLimit, T);
  });
  const tails = layTails(examples.map((e) => e.augment!), S, T, fixed.slots);
  return { ids: tf.tensor2d(ids, [B, S], 'int32'), real: tf.tensor2d(real, [B, S], 'float32'), keyLimit, S, tails };
}

export function disposeBatch(b: Batch): void {
  b.ids.dispose();
  b.targets.dispose();
  b.mask.dispose();
  b.real.dispose();
  b.augment?.ids.dispose();
  b.augment?.real.dispose();
}

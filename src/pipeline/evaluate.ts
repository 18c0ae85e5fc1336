// Evaluation: exact-match accuracy with greedy decoding, batched by prompt length (no padding
// needed), of a model alone or of a composition; and Table 1 of the paper at toy scale (tasks ×
// anchor / augmenting / composition). Asynchronous throughout (src/pipeline/decode.ts); the CLI,
// the worker and the scripts all evaluate here.
import { cachedDecoder, type Decoder } from '../model/sampling';
import type { Tokenizer } from '../tokenizer';
import { Composition, composedDecoder } from '../calm/compose';
import { alignedIdsDecoder } from '../calm/align-decode';
import { answerChance, makeExamples, type Example, type KeyTable, type TaskName } from '../tasks/kv';
import { greedyDecode } from './decode';
import { encodeAligned, encodeExamples, type EncodedExample } from '../train/batch';

const nextTick = () => new Promise<void>((r) => setTimeout(r, 0));

export interface Codec {
  encode(text: string): number[];
  decode(ids: number[]): string;
  eosId: number;
}

export function codecOf(t: Tokenizer): Codec {
  if (t.eosId === undefined) throw new Error(`the tokenizer ${t.label} has no end-of-sequence token`);
  return { encode: (s: string) => t.encode(s), decode: (ids: number[]) => t.decode(ids), eosId: t.eosId };
}

export interface ExactMatchResult {
  accuracy: number;
  n: number;
  correct: number;
  predictions: string[]; // in the order of the examples
}

export interface ExactMatchOptions {
  batchSize?: number; // default 64
  /** The longest sequence the decoders accept (the context). */
  maxLength?: number;
  /** Checked before each batch: throws an AbortError when it has fired. */
  signal?: AbortSignal;
  /** Called after each batch with its size (progress). */
  onBatch?: (size: number) => void;
}

/**
 * Greedy decoding of every prompt, one token past the longest answer of its batch (so an
 * answer that does not stop counts as wrong), compared with the completion as text. Yields to
 * the event loop between batches, so a stop arrives in time.
 */
export async function exactMatch(
  makeDecoder: (B: number) => Decoder,
  codec: Codec,
  examples: { prompt: string; completion: string }[],
  opts: ExactMatchOptions = {},
): Promise<ExactMatchResult> {
  const batchSize = opts.batchSize ?? 64;
  const encoded = examples.map((e) => ({ prompt: codec.encode(e.prompt), answer: codec.encode(e.completion).length }));
  const byLength = new Map<number, number[]>();
  encoded.forEach((e, i) => {
    const group = byLength.get(e.prompt.length) ?? [];
    group.push(i);
    byLength.set(e.prompt.length, group);
  });
  const predictions = new Array<string>(examples.length).fill('');
  for (const group of byLength.values()) {
    for (let s = 0; s < group.length; s += batchSize) {
      if (opts.signal?.aborted) throw new DOMException('evaluation cancelled', 'AbortError');
      const chunk = group.slice(s, s + batchSize);
      const maxNew = Math.max(...chunk.map((i) => encoded[i].answer)) + 1;
      const decoder = makeDecoder(chunk.length);
      try {
        const out = await greedyDecode(decoder, chunk.map((i) => encoded[i].prompt), { maxNew, eosId: codec.eosId, maxLength: opts.maxLength });
        chunk.forEach((i, j) => (predictions[i] = codec.decode(out[j])));
      } finally {
        decoder.dispose();
      }
      opts.onBatch?.(chunk.length);
      await nextTick();
    }
  }
  const correct = predictions.filter((p, i) => p === examples[i].completion).length;
  return { accuracy: examples.length ? correct / examples.length : 0, n: examples.length, correct, predictions };
}

export type Column = 'anchor' | 'augment' | 'composed';
export type Table = Record<'kv-subs' | 'num-arith' | 'kv-arith', Record<Column, number>>;

/** Which keys each row of the table is evaluated on: kv-arith on held-out keys only. */
export const TABLE_ROWS: { task: TaskName & keyof Table; keys: 'held-out' | 'all' }[] = [
  { task: 'kv-subs', keys: 'held-out' },
  { task: 'num-arith', keys: 'all' },
  { task: 'kv-arith', keys: 'held-out' },
];

/** The tokenizers of a composition: one, or across tokenizers (docs/design.md § Across tokenizers) each model's own. */
export type Tokenizers = Tokenizer | { anchor: Tokenizer; augment: Tokenizer };

function sides(t: Tokenizers): { anchor: Tokenizer; augment: Tokenizer } {
  return 'anchor' in t ? t : { anchor: t, augment: t };
}

/**
 * The training examples of a composition, tokenized: one id sequence for a shared tokenizer,
 * each model's own tokenization aligned by characters across tokenizers (encodeAligned).
 * Throws naming the example that does not fit the context.
 */
export function encodeForComposition(comp: Composition, tokenizers: Tokenizers, examples: { prompt: string; completion: string }[]): EncodedExample[] {
  const t = sides(tokenizers);
  if (comp.alignment) return encodeAligned(t.anchor, t.augment, examples, { anchor: comp.anchor.config.nPositions, augment: comp.augment.config.nPositions });
  return encodeExamples(codecOf(t.anchor), examples, columnContext(comp, 'composed'));
}

/** The tokenizers a composition reads with: both across tokenizers, else the anchor's. */
export function compositionTokenizers(comp: Composition, anchor: Tokenizer, augment: Tokenizer): Tokenizers {
  return comp.alignment ? { anchor, augment } : anchor;
}

/** The tokenizer a column reads and writes with: the augmenting model's own in its column, else the anchor's. */
export function columnTokenizer(tokenizers: Tokenizers, column: Column): Tokenizer {
  return column === 'augment' ? sides(tokenizers).augment : sides(tokenizers).anchor;
}

/**
 * Decoders of one column: a model alone (KV cache) or the composition (caches + bridge K/V);
 * across tokenizers, an aligned decoder per row.
 */
export function columnDecoder(comp: Composition, column: Column, tokenizers?: Tokenizers): (B: number) => Decoder {
  if (column === 'anchor') return (B) => cachedDecoder(comp.anchor, B);
  if (column === 'augment') return (B) => cachedDecoder(comp.augment, B);
  if (comp.alignment) {
    if (!tokenizers || !('anchor' in tokenizers)) throw new Error('decoding across tokenizers needs both tokenizers');
    const t = tokenizers;
    return (B) => alignedIdsDecoder(comp, t.anchor, t.augment, B);
  }
  return (B) => composedDecoder(comp, B);
}

/** The context of one column; the composition's is the shorter of the two (sequences must fit both). */
export function columnContext(comp: Composition, column: Column): number {
  if (column === 'anchor') return comp.anchor.config.nPositions;
  if (column === 'augment') return comp.augment.config.nPositions;
  return Math.min(comp.anchor.config.nPositions, comp.augment.config.nPositions);
}

export interface EvaluateOptions {
  signal?: AbortSignal;
  onBatch?: (size: number) => void;
}

/** Exact-match accuracy of one column on examples. */
export async function evaluateColumn(
  comp: Composition,
  tokenizers: Tokenizers,
  column: Column,
  examples: Example[],
  opts: EvaluateOptions = {},
): Promise<number> {
  // every column decodes within the composition's context, so the three columns see the same room
  const maxLength = columnContext(comp, 'composed');
  const codec = codecOf(columnTokenizer(tokenizers, column));
  return (await exactMatch(columnDecoder(comp, column, tokenizers), codec, examples, { maxLength, ...opts })).accuracy;
}

/** Table 1 at toy scale: tasks × anchor / augmenting / composition, plus each row's chance. */
export async function evaluateTable(
  comp: Composition,
  tokenizers: Tokenizers,
  table: KeyTable,
  n: number,
  seed: number,
  opts: EvaluateOptions = {},
): Promise<{ table: Table; chance: Record<keyof Table, number> }> {
  const out = {} as Table;
  const chance = {} as Record<keyof Table, number>;
  for (const row of TABLE_ROWS) {
    const examples = makeExamples(row.task, n, { seed: seed + 9001, table, keys: row.keys });
    chance[row.task] = answerChance(examples).share;
    out[row.task] = {
      anchor: await evaluateColumn(comp, tokenizers, 'anchor', examples, opts),
      augment: await evaluateColumn(comp, tokenizers, 'augment', examples, opts),
      composed: await evaluateColumn(comp, tokenizers, 'composed', examples, opts),
    };
  }
  return { table: out, chance };
}

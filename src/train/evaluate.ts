// Exact-match accuracy with greedy decoding, batched by prompt length (no padding needed).
import { greedyDecode, type Decoder } from '../model/sampling';

export interface Codec {
  encode(text: string): number[];
  decode(ids: number[]): string;
  eosId: number;
}

export interface ExactMatchResult {
  accuracy: number;
  n: number;
  correct: number;
  predictions: string[]; // in the order of the examples
}

export function exactMatch(
  makeDecoder: (B: number) => Decoder,
  codec: Codec,
  examples: { prompt: string; completion: string }[],
  opts: { batchSize?: number; maxLength?: number; signal?: AbortSignal } = {},
): ExactMatchResult {
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
      // one token past the longest answer, so an answer that does not stop counts as wrong
      const maxNew = Math.max(...chunk.map((i) => encoded[i].answer)) + 1;
      const decoder = makeDecoder(chunk.length);
      try {
        const out = greedyDecode(decoder, chunk.map((i) => encoded[i].prompt), { maxNew, eosId: codec.eosId, maxLength: opts.maxLength });
        chunk.forEach((i, j) => (predictions[i] = codec.decode(out[j])));
      } finally {
        decoder.dispose();
      }
    }
  }
  const correct = predictions.filter((p, i) => p === examples[i].completion).length;
  return { accuracy: examples.length ? correct / examples.length : 0, n: examples.length, correct, predictions };
}

// Examples → padded token batches with a loss mask on the completion only.
import { tf } from '../model/tf';

export interface EncodedExample {
  ids: number[]; // prompt + completion + eos
  promptLength: number;
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
}

/** Right-pads rows to the longest (or to T); input = ids[:-1], target = ids[1:]. */
export function makeBatch(examples: EncodedExample[], padId: number, fixedT?: number): Batch {
  const T = fixedT ?? Math.max(...examples.map((e) => e.ids.length)) - 1;
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
  };
}

export function disposeBatch(b: Batch): void {
  b.ids.dispose();
  b.targets.dispose();
  b.mask.dispose();
  b.real.dispose();
}

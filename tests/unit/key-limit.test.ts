// Cross-attention with a character alignment (keyLimit, docs/design.md § Across tokenizers): the
// causal rule as its special case (bit-identical, gradients included), a hand-made limit against
// a dense computation, queries that see nothing, and the fused kernel's refusal.
import { beforeAll, describe, expect, it } from 'vitest';
import { tf, useBackend } from '../../src/model/tf';
import { crossAttention, crossAttentionReference, crossAttentionWeights, fusedCrossAttentionUnsupported, type CrossAttentionOptions } from '../../src/kernels/cross-attention';
import { kernelUsage, resetKernelUsage } from '../../src/kernels/usage';

beforeAll(async () => {
  await useBackend('cpu');
});

const B = 2;
const h = 2;
const T = 4;
const S = 6;
const hd = 3;
const R = 3;
const rnd = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, 'float32', seed) as unknown as tf.Tensor4D;

/** Output and gradients (q, k, v, posBias) of sum(out · w). */
function run(opts: CrossAttentionOptions, seed = 1) {
  const [q, k, v, w] = [rnd([B, h, T, hd], seed), rnd([B, h, S, hd], seed + 1), rnd([B, h, S, hd], seed + 2), rnd([B, h, T, hd], seed + 3)];
  const pos = rnd([h, R], seed + 4);
  const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, p: tf.Tensor) =>
    tf.sum(tf.mul(crossAttentionReference(a as tf.Tensor4D, b as tf.Tensor4D, c as tf.Tensor4D, { ...opts, positionBias: p }), w));
  const grads = tf.grads(f)([q, k, v, pos]).map((g) => g.arraySync() as unknown);
  const out = crossAttentionReference(q, k, v, { ...opts, positionBias: pos }).arraySync();
  return { out, grads };
}

describe('keyLimit', () => {
  it('keyLimit = past + i + 1 gives bit-identical outputs and gradients (position bias included), with padding', () => {
    const keyMask = tf.tensor2d([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]]);
    for (const past of [0, 2]) {
      const causal = Array.from({ length: T }, (_, i) => past + i + 1);
      const a = run({ past, keyMask });
      const b = run({ keyLimit: [causal, causal], keyMask });
      expect(b.out).toEqual(a.out);
      expect(b.grads).toEqual(a.grads);
    }
  });

  it('a hand-made limit per row matches a dense-mask computation', () => {
    const keyLimit = [[1, 3, 3, 6], [2, 2, 5, 6]];
    const keyMask = [[1, 1, 1, 1, 1, 1], [1, 0, 1, 1, 1, 1]];
    const [q, k, v] = [rnd([B, h, T, hd], 5), rnd([B, h, S, hd], 6), rnd([B, h, S, hd], 7)];
    const posBias = [[0.5, -1, 2], [3, 0.25, -2]];
    const ours = crossAttentionReference(q, k, v, { keyLimit, keyMask: tf.tensor2d(keyMask), positionBias: tf.tensor2d(posBias) }).arraySync();
    // dense: every (b, head, i, j) written out, bucket = min(keyLimit − 1 − j, R − 1) for visible keys
    const [qa, ka, va] = [q.arraySync(), k.arraySync(), v.arraySync()];
    for (let b = 0; b < B; b++)
      for (let x = 0; x < h; x++)
        for (let i = 0; i < T; i++) {
          const vis = Array.from({ length: S }, (_, j) => j).filter((j) => j < keyLimit[b][i] && keyMask[b][j] === 1);
          const s = vis.map((j) => qa[b][x][i].reduce((acc, qc, c) => acc + qc * ka[b][x][j][c], 0) / Math.sqrt(hd) + posBias[x][Math.min(keyLimit[b][i] - 1 - j, R - 1)]);
          const m = Math.max(...s);
          const e = s.map((z) => Math.exp(z - m));
          const Z = e.reduce((p, c) => p + c, 0);
          for (let c = 0; c < hd; c++) {
            const want = vis.reduce((acc, j, n) => acc + (e[n] / Z) * va[b][x][j][c], 0);
            expect(ours[b][x][i][c]).toBeCloseTo(want, 5);
          }
        }
  });

  it('a tail per query (keyTail): its keys read too, the bias counting back over the keys read, against a dense computation', () => {
    // keys 0..3 are a whole text's, 4..5 tails: query (0, 1) reads keys 0 then 4, 5; (1, 0) only its tail 5
    const keyLimit = [[1, 1, 3, 4], [0, 2, 2, 4]];
    const none = { start: 0, length: 0 };
    const keyTail = [
      [none, { start: 4, length: 2 }, { start: 5, length: 1 }, none],
      [{ start: 5, length: 1 }, { start: 4, length: 1 }, none, { start: 4, length: 2 }],
    ];
    const [q, k, v] = [rnd([B, h, T, hd], 15), rnd([B, h, S, hd], 16), rnd([B, h, S, hd], 17)];
    const posBias = [[0.5, -1, 2], [3, 0.25, -2]];
    const ours = crossAttentionReference(q, k, v, { keyLimit, keyTail, positionBias: tf.tensor2d(posBias) }).arraySync();
    const [qa, ka, va] = [q.arraySync(), k.arraySync(), v.arraySync()];
    for (let b = 0; b < B; b++)
      for (let x = 0; x < h; x++)
        for (let i = 0; i < T; i++) {
          // the keys read, in order: j < keyLimit, then the tail; offset = how far back from the last
          const tail = keyTail[b][i];
          const read = [...Array.from({ length: keyLimit[b][i] }, (_, j) => j), ...Array.from({ length: tail.length }, (_, n) => tail.start + n)];
          const s = read.map((j, n) => qa[b][x][i].reduce((acc, qc, c) => acc + qc * ka[b][x][j][c], 0) / Math.sqrt(hd) + posBias[x][Math.min(read.length - 1 - n, R - 1)]);
          const m = Math.max(...s);
          const e = s.map((z) => Math.exp(z - m));
          const Z = e.reduce((p, c) => p + c, 0);
          for (let c = 0; c < hd; c++) {
            const want = read.reduce((acc, j, n) => acc + (e[n] / Z) * va[b][x][j][c], 0);
            expect(ours[b][x][i][c]).toBeCloseTo(want, 5);
          }
        }
    expect(fusedCrossAttentionUnsupported(q, k, v, { keyLimit, keyTail })).toBe('a character alignment (keyLimit) is not fused');
    expect(() => crossAttentionReference(q, k, v, { keyLimit: [[1, 1, 1, 1]], keyTail: [[none, { start: 0, length: 1 }, none, none]] })).toThrow(/not after keyLimit 1/);
    expect(() => crossAttentionReference(q, k, v, { keyLimit: [[1, 1, 1, 1]], keyTail: [[none, { start: 5, length: 2 }, none, none]] })).toThrow(/within 6 keys/);
    expect(() => crossAttentionReference(q, k, v, { keyTail })).toThrow(/keyTail needs a keyLimit/);
  });

  it('a query with limit 0 gives 0 and no gradient, and keys beyond a limit change nothing', () => {
    const keyLimit = [[0, 2, 2, 4], [0, 0, 1, 6]];
    const [q, k, v] = [rnd([B, h, T, hd], 8), rnd([B, h, S, hd], 9), rnd([B, h, S, hd], 10)];
    const out = crossAttentionReference(q, k, v, { keyLimit }).arraySync();
    for (const [b, i] of [[0, 0], [1, 0], [1, 1]]) for (let x = 0; x < h; x++) expect(out[b][x][i]).toEqual([0, 0, 0]);
    const dq = tf.grad((a: tf.Tensor) => tf.sum(crossAttentionReference(a as tf.Tensor4D, k, v, { keyLimit })))(q).arraySync() as number[][][][];
    for (let x = 0; x < h; x++) expect(dq[1][x][1]).toEqual([0, 0, 0]);
    // the weights of such a query are 0 too
    const w = crossAttentionWeights(q, k, { keyLimit }).arraySync();
    expect(w[1][0][1]).toEqual([0, 0, 0, 0, 0, 0]);
    // keys and values at j ≥ 4 (row 0) are invisible to every query of row 0 but its last
    const bump = tf.concat([k.slice([0, 0, 0, 0], [B, h, 4, hd]), tf.add(k.slice([0, 0, 4, 0], [B, h, 2, hd]), 7)], 2) as tf.Tensor4D;
    const out2 = crossAttentionReference(q, bump, v, { keyLimit }).arraySync();
    for (let x = 0; x < h; x++) for (let i = 0; i < 3; i++) expect(out2[0][x][i]).toEqual(out[0][x][i]);
  });

  it('is refused by the fused kernel (the reference runs), and checked', () => {
    const [q, k, v] = [rnd([1, h, T, hd], 11), rnd([1, h, S, hd], 12), rnd([1, h, S, hd], 13)];
    expect(fusedCrossAttentionUnsupported(q, k, v, { keyLimit: [[1, 2, 3, 4]] })).toBe('a character alignment (keyLimit) is not fused');
    resetKernelUsage();
    crossAttention(q, k, v, { keyLimit: [[1, 2, 3, 4]] }).dispose();
    expect(kernelUsage('cpu').kernels.crossAttention).toEqual({ fused: 0, reference: 1, lastReason: 'a character alignment (keyLimit) is not fused' });
    expect(() => crossAttentionReference(q, k, v, { keyLimit: [[1, 2, 3]] })).toThrow(/3 entries for 4 queries/);
    expect(() => crossAttentionReference(q, k, v, { keyLimit: [[1, 2, 3, 7]] })).toThrow(/not an integer in \[0, 6\]/);
  });
});

// The relative-position bias's reference (positionScoreBias, src/kernels/cross-attention.ts):
// the bucket rule the fused WGSL kernel reproduces in-kernel, written out by hand here, and its
// gradient per bucket. The fused kernel is checked against it in tests/browser.
import { beforeAll, describe, expect, it } from 'vitest';
import { tf, useBackend } from '../../src/model/tf';
import { crossAttentionReference, positionScoreBias } from '../../src/kernels/cross-attention';
import { positionScoreBias as fromBridge } from '../../src/calm/bridge';

// posBias [h 2, R 3]: head 0 reads 0, 1, 2 and head 1 reads 10, 11, 12 for buckets 0, 1, 2
const POS = [
  [0, 1, 2],
  [10, 11, 12],
];

beforeAll(async () => {
  await useBackend('cpu');
});

describe('positionScoreBias', () => {
  it('bucket = past + i − j, R − 1 beyond the last bucket and for future keys (T 2, S 5, past 2)', () => {
    const b = positionScoreBias(tf.tensor2d(POS), 2, 5, 2);
    expect(b.shape).toEqual([1, 2, 2, 5]);
    // query 0 sits at position 2: offsets 2, 1, 0, -1, -2; query 1 at 3: offsets 3, 2, 1, 0, -1
    expect(b.arraySync()).toEqual([
      [
        [
          [2, 1, 0, 2, 2],
          [2, 2, 1, 0, 2],
        ],
        [
          [12, 11, 10, 12, 12],
          [12, 12, 11, 10, 12],
        ],
      ],
    ]);
  });

  it('one bucket (R = 1): every key reads it', () => {
    expect(positionScoreBias(tf.tensor2d([[7]]), 2, 3, 0).arraySync()).toEqual([
      [
        [
          [7, 7, 7],
          [7, 7, 7],
        ],
      ],
    ]);
  });

  it('its gradient sums the score gradient per bucket', () => {
    const w = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [1, 1, 2, 5]); // one head: dscores
    const g = tf.grad((p: tf.Tensor) => tf.sum(tf.mul(positionScoreBias(p, 2, 5, 2), w)))(tf.tensor2d([[0, 0, 0]]));
    // buckets [2, 1, 0, 2, 2] and [2, 2, 1, 0, 2] (see above)
    expect(g.arraySync()).toEqual([[3 + 9, 2 + 8, 1 + 4 + 5 + 6 + 7 + 10]]);
  });

  it('is what calm/bridge.ts exports, and what crossAttentionReference adds for positionBias', async () => {
    expect(fromBridge).toBe(positionScoreBias);
    const q = tf.randomNormal([1, 2, 2, 4], 0, 1, 'float32', 1) as tf.Tensor4D;
    const k = tf.randomNormal([1, 2, 5, 4], 0, 1, 'float32', 2) as tf.Tensor4D;
    const v = tf.randomNormal([1, 2, 5, 4], 0, 1, 'float32', 3) as tf.Tensor4D;
    const pos = tf.tensor2d(POS).div(5);
    const a = await crossAttentionReference(q, k, v, { past: 2, positionBias: pos }).data();
    const b = await crossAttentionReference(q, k, v, { past: 2, bias: positionScoreBias(pos, 2, 5, 2) }).data();
    const plain = await crossAttentionReference(q, k, v, { past: 2 }).data();
    expect([...a]).toEqual([...b]);
    expect([...a]).not.toEqual([...plain]);
  });
});

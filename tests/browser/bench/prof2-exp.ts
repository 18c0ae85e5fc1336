import { tf, useBackend } from '../../../src/model/tf';
import { crossAttentionFused, crossAttentionReference } from '../../../src/kernels/cross-attention';

async function prof2() {
  await useBackend('webgpu');
  const out: Record<string, unknown> = {};
  const [q, k, v, w] = [1, 2, 3, 4].map((s) => tf.randomNormal([1, 4, 64, 64], 0, 1, 'float32', s));
  for (const [name, f] of [['fused', crossAttentionFused], ['ref', crossAttentionReference]] as const) {
    const run = () => { const { value, grads } = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(f(a as tf.Tensor4D, b as tf.Tensor4D, c as tf.Tensor4D), w)))([q, k, v]); return [value, ...grads]; };
    for (let i = 0; i < 2; i++) { const o = run(); await Promise.all(o.map((t) => t.data())); tf.dispose(o); }
    const walls: number[] = [];
    for (let i = 0; i < 5; i++) { const t0 = performance.now(); const o = run(); await Promise.all(o.map((t) => t.data())); walls.push(performance.now() - t0); tf.dispose(o); }
    const t0 = performance.now();
    const info = await tf.profile(async () => { const o = run(); await Promise.all(o.map((t) => t.data())); tf.dispose(o); });
    const wall = performance.now() - t0;
    const by: Record<string, number> = {};
    for (const kk of info.kernels) by[kk.name] = (by[kk.name] ?? 0) + (typeof kk.kernelTimeMs === 'number' ? kk.kernelTimeMs : NaN);
    out[name] = { walls, wall, n: info.kernels.length, by };
  }
  return out;
}
(window as unknown as { prof2: typeof prof2 }).prof2 = prof2;

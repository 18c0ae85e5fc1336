// The one place tfjs is imported from. `@tensorflow/tfjs` (not only tfjs-core) because it
// registers the gradient functions that training needs; the wasm backend is added beside it,
// and the WebGPU one, which registers itself only where navigator.gpu exists (a no-op in Node).
// The fused WGSL kernels in src/kernels run on it.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-webgpu';

export { tf };

export type BackendName = 'wasm' | 'cpu' | 'webgpu' | 'webgl';

/** Selects a backend and waits until it is ready; returns the name actually in use. */
export async function useBackend(name: BackendName): Promise<string> {
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`the ${name} backend could not be initialised`);
  await tf.ready();
  return tf.getBackend();
}

/**
 * A seed for tfjs's random ops (tf.randomNormal and friends). tfjs reads a seed of 0 as "no
 * seed" and draws from Math.random, so a composition or model seeded 0 came out different on
 * every run; 0 maps to 0.5, which no integer seed can collide with. Every other seed is kept.
 */
export function tfSeed(seed: number): number {
  return seed === 0 ? 0.5 : seed;
}

/** A variable holding t's values; t itself is disposed (tf.variable copies, it does not adopt). */
export function toVariable(t: tf.Tensor, trainable = true): tf.Variable {
  const v = tf.variable(t, trainable);
  t.dispose();
  return v;
}

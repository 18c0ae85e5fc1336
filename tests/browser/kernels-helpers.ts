// Shared by the kernel tests in tests/browser: the error measure and the WebGPU set-up.
import { expect } from 'vitest';
import { tf, useBackend } from '../../src/model/tf';

/** Every kernel must match its reference to this relative error (the bar). */
export const TOLERANCE = 1e-4;

/**
 * max |a - b| / max |b|: the error relative to the reference's scale (the absolute error where
 * the reference is exactly 0, as dQ and dK are when a query sees a single key). Reads
 * asynchronously: a synchronous read on WebGPU goes through a canvas, which loses the device
 * in this Chromium on SwiftShader.
 */
export async function relativeError(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  expect(a.shape).toEqual(b.shape);
  const [x, y] = await Promise.all([a.data(), b.data()]);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < y.length; i++) {
    diff = Math.max(diff, Math.abs(x[i] - y[i]));
    scale = Math.max(scale, Math.abs(y[i]));
  }
  expect(Number.isFinite(diff)).toBe(true);
  return scale > 0 ? diff / scale : diff;
}

/** max |t|: a reference that is all zeros (what a lost device reads back) would prove nothing. */
export async function maxAbs(t: tf.Tensor): Promise<number> {
  let m = 0;
  for (const v of await t.data()) m = Math.max(m, Math.abs(Number(v)));
  return m;
}

/** Selects the WebGPU backend; no adapter is a failure, not a skip (docs/design.md § Tests). */
export async function requireWebGPU(): Promise<void> {
  expect(navigator.gpu, 'navigator.gpu: is Chromium running with --enable-unsafe-webgpu?').toBeDefined();
  const adapter = await navigator.gpu.requestAdapter();
  expect(adapter, 'no WebGPU adapter').not.toBeNull();
  expect(await useBackend('webgpu')).toBe('webgpu');
}

// The tensor operations the architectures and the bridges share: matmuls with fast gradients,
// x·W + b, LayerNorm, GELU, the causal mask and the head split. Legend: B batch, T new
// positions, S = past + T positions, D width, H heads, hd = D / H.
import { tf } from './tf';

const GELU_C = Math.sqrt(2 / Math.PI);

/** Swaps the last two axes: [..., m, n] → [..., n, m]. */
export function swapLast(t: tf.Tensor): tf.Tensor {
  const perm = t.shape.map((_, i) => i);
  [perm[t.rank - 2], perm[t.rank - 1]] = [perm[t.rank - 1], perm[t.rank - 2]];
  return tf.transpose(t, perm);
}

/**
 * a·b ([..., m, k] × [..., k, n], same batch axes) with a gradient that transposes explicitly
 * and multiplies plainly: tfjs-wasm runs transposed matMuls (what the built-in gradient uses)
 * about 20× slower than plain ones, which made the backward pass 7× the forward.
 */
export const matmul: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor = tf.customGrad(((
  a: tf.Tensor,
  b: tf.Tensor,
  save: tf.GradSaveFunc,
) => {
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.matMul(dy, swapLast(saved[1])), tf.matMul(swapLast(saved[0]), dy)],
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;

/** Whether t is a variable that training updates (a frozen model's weights are plain tensors). */
/** Whether t is a variable that training updates (a frozen model's weights are plain tensors). */
export const isTrainable = (t: tf.Tensor | undefined) => t instanceof tf.Variable && t.trainable;

/**
 * x·W for a weight W: like `matmul`, but the gradient for W is only computed when W is a
 * trainable variable. A frozen model's weights are plain tensors, so bridge training does not
 * pay for weight gradients of the anchor blocks it backpropagates through.
 */
const matmulWeight: (x: tf.Tensor, w: tf.Tensor) => tf.Tensor = tf.customGrad(((
  x: tf.Tensor,
  w: tf.Tensor,
  save: tf.GradSaveFunc,
) => {
  save([x, w]);
  const trainable = isTrainable(w);
  return {
    value: tf.matMul(x, w),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
      tf.matMul(dy, swapLast(saved[1])),
      trainable ? tf.matMul(swapLast(saved[0]), dy) : tf.zerosLike(saved[1]),
    ],
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor, w: tf.Tensor) => tf.Tensor;

/** gelu_new: the tanh approximation GPT-2 uses. */
export function geluNew(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    // x·x·x, not pow(x, 3): pow's gradient is slow (log, where) and needs no exponent here
    const inner = tf.mul(GELU_C, tf.add(x, tf.mul(0.044715, tf.mul(x, tf.mul(x, x)))));
    return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)));
  });
}

export function layerNorm(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): tf.Tensor {
  return tf.tidy(() => {
    const fused = backendNorm(x, gamma, beta, eps, true);
    if (fused) return fused;
    const mean = tf.mean(x, -1, true);
    const centred = tf.sub(x, mean);
    const variance = tf.mean(tf.square(centred), -1, true);
    return tf.add(tf.mul(tf.mul(centred, tf.rsqrt(tf.add(variance, eps))), gamma), beta);
  });
}

/**
 * A backend's own x·W (+ b) for x [M, K], W [K, N], b [N] → [M, N], or null to leave the plain
 * tfjs path to run (the kernel records why). weightGrads false: W and b are frozen, so their
 * gradients may be zeros without the work.
 */
export type BackendLinear = (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D | undefined, weightGrads: boolean) => tf.Tensor2D | null;

/**
 * Backend kernels by tfjs backend name, one registry per op (linear, causal attention, norm)
 * that the op consults. src/model may not import
 * src/kernels (docs/design.md § Layering): the kernels put themselves here through one explicit
 * call where the backend is chosen (installKernels in src/kernels/install.ts).
 */
function kernelRegistry<K>() {
  const byBackend = new Map<string, K>();
  return {
    /** Makes `kernel` the one of `backend` (undefined: plain tfjs again). */
    set(backend: string, kernel: K | undefined): void {
      if (kernel) byBackend.set(backend, kernel);
      else byBackend.delete(backend);
    },
    /** The active backend's kernel, if one is installed. */
    active: (): K | undefined => byBackend.get(tf.getBackend()),
  };
}

const backendLinears = kernelRegistry<BackendLinear>();

/** Makes `kernel` the x·W + b of `backend` (undefined: plain tfjs again). */
export const setBackendLinear = backendLinears.set;

/**
 * A backend's own causal attention softmax(q·kᵀ/√hd + causal mask)·v for q [B, H, T, hd] at
 * positions past … past+T−1 over k, v [B, H, S, hd] (S = past + T, heads already matched) →
 * [B, H, T, hd], or null to leave the plain tfjs path to run (the kernel records why).
 */
export type BackendAttention = (q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, past: number) => tf.Tensor4D | null;

const backendAttentions = kernelRegistry<BackendAttention>();

/** Makes `kernel` the causal attention of `backend` (undefined: plain tfjs again). */
export const setBackendAttention = backendAttentions.set;

/** The active backend's causal attention of q over k, v (see BackendAttention), or null when none is installed or it declines. */
export function backendAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, past: number): tf.Tensor4D | null {
  const kernel = backendAttentions.active();
  return kernel ? kernel(q, k, v, past) : null;
}

/**
 * A backend's own LayerNorm (centre: true, with β) or RMSNorm (centre: false) over the rows of
 * x [M, D] → [M, D], or null to leave the plain tfjs path to run (the kernel records why).
 * frozen: γ and β are no trainable variables, so they need no gradient.
 */
export type BackendNorm = (x: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D | undefined, eps: number, centre: boolean, frozen: boolean) => tf.Tensor2D | null;

const backendNorms = kernelRegistry<BackendNorm>();

/** Makes `kernel` the LayerNorm / RMSNorm of `backend` (undefined: plain tfjs again). */
export const setBackendNorm = backendNorms.set;

/** The active backend's norm over x's last axis [..., D] → [..., D] (see BackendNorm), or null when none is installed or it declines. */
export function backendNorm(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D | undefined, eps: number, centre: boolean): tf.Tensor | null {
  const kernel = backendNorms.active();
  if (!kernel) return null;
  const D = x.shape[x.shape.length - 1];
  const y = kernel(tf.reshape(x, [-1, D]) as tf.Tensor2D, gamma, beta, eps, centre, !isTrainable(gamma) && !isTrainable(beta)); // [M, D]
  return y ? tf.reshape(y, x.shape) : null;
}

/**
 * x·W + b over the last axis: [..., in] × [in, out] → [..., out]. The active backend's kernel
 * when one is installed and takes these inputs, else matmulWeight (+ b).
 */
export function linear(x: tf.Tensor, w: tf.Tensor2D, b?: tf.Tensor1D): tf.Tensor {
  return tf.tidy(() => {
    const shape = x.shape;
    const inDim = shape[shape.length - 1];
    const x2 = tf.reshape(x, [-1, inDim]) as tf.Tensor2D; // [M = B·T, in]
    const kernel = backendLinears.active();
    const fused = kernel ? kernel(x2, w, b, isTrainable(w) || isTrainable(b)) : null;
    const y = fused ?? (b ? tf.add(matmulWeight(x2, w), b) : matmulWeight(x2, w)); // [M, out]
    return tf.reshape(y, [...shape.slice(0, -1), w.shape[1]]);
  });
}

/**
 * Additive causal mask for T queries at positions past..past+T-1 over S = past+T keys:
 * 0 where key ≤ query position, -1e9 elsewhere. [T, S]
 */
export function causalMask(T: number, S: number, past: number): tf.Tensor2D {
  const m = new Float32Array(T * S);
  for (let i = 0; i < T; i++) for (let j = past + i + 1; j < S; j++) m[i * S + j] = -1e9;
  return tf.tensor2d(m, [T, S]);
}

/** [B, T, D] → [B, H, T, hd] */
export function splitHeads(x: tf.Tensor, H: number): tf.Tensor4D {
  const [B, T, D] = x.shape;
  return tf.transpose(tf.reshape(x, [B, T, H, D / H]), [0, 2, 1, 3]);
}

/** [B, H, T, hd] → [B, T, D] */
export function mergeHeads(x: tf.Tensor4D): tf.Tensor3D {
  const [B, H, T, hd] = x.shape;
  return tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [B, T, H * hd]);
}


// x·W + b, the layer behind every projection (GPT-2's c_attn/c_proj/c_fc, a bridge's proj and
// q/k/v/o). linearReference is plain tfjs: what runs on wasm/cpu, and the oracle for the WGSL
// version (matmul-register-tiled-webgpu.ts), whose backward is WGSL too (dx, dW, db).
// Legend: M rows (B·T), K input width, N output width.
import { tf } from '../model/tf';
import { activeWebGPUBackend, runProgram } from './webgpu-program';
import { ColumnSumProgram, MatMulRegisterTiledProgram } from './matmul-register-tiled-webgpu';
import { SWITCHED_OFF, kernelsEnabled, recordCall } from './usage';

export interface LinearOptions {
  /**
   * Compute dW and db (default true). false gives zeros for them without the work: for frozen
   * weights that the gradient only passes through (what model/ops.ts's matmulWeight does).
   */
  weightGrads?: boolean;
}

/** x [M, K] · W [K, N] (+ b [N]) → [M, N], with tfjs's own gradients. */
export function linearReference(x: tf.Tensor2D, w: tf.Tensor2D, b?: tf.Tensor1D): tf.Tensor2D {
  return tf.tidy(() => {
    const y = tf.matMul(x, w);
    return (b ? tf.add(y, b) : y) as tf.Tensor2D;
  });
}

/**
 * Why the WGSL linear cannot compute these inputs (null when it can): it needs the WebGPU
 * backend, float32 x [M, K], W [K, N], b [N], and K and N multiples of 4 (vec4 columns for y
 * and for dx).
 */
export function fusedLinearUnsupported(x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor): string | null {
  if (activeWebGPUBackend() === null) return `backend is ${tf.getBackend()}, not webgpu`;
  if (x.rank !== 2 || w.rank !== 2 || (b && b.rank !== 1)) return 'x and W must have rank 2, b rank 1';
  if (x.dtype !== 'float32' || w.dtype !== 'float32' || (b && b.dtype !== 'float32')) return 'x, W and b must be float32';
  const [M, K] = x.shape as [number, number];
  const [K2, N] = w.shape as [number, number];
  if (K !== K2) return `x ${JSON.stringify(x.shape)} and W ${JSON.stringify(w.shape)} do not chain`;
  if (b && b.shape[0] !== N) return `b ${JSON.stringify(b.shape)} is not [${N}]`;
  if (M < 1 || K < 1 || N < 1) return 'empty tensor';
  if (K % 4 !== 0 || N % 4 !== 0) return `widths ${K} → ${N} are not multiples of 4`;
  if (Math.max(M, K) * Math.max(K, N) >= 2 ** 31) return 'too large for i32 indexing';
  return null;
}

/**
 * The WGSL linear, with a custom gradient whose backward is WGSL too: dx = dy·Wᵀ and
 * dW = xᵀ·dy read their operands transposed in place (no transpose op), db sums dy's columns.
 * Throws when fusedLinearUnsupported says why it cannot.
 */
export function linearFused(x: tf.Tensor2D, w: tf.Tensor2D, b?: tf.Tensor1D, opts: LinearOptions = {}): tf.Tensor2D {
  const why = fusedLinearUnsupported(x, w, b);
  const backend = activeWebGPUBackend();
  if (why !== null || backend === null) throw new Error(`fused linear: ${why}`);
  const [M, K] = x.shape;
  const N = w.shape[1];
  const hasBias = b !== undefined;
  const weightGrads = opts.weightGrads ?? true;
  const f = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const inputs = args.slice(0, -1) as tf.Tensor[]; // x, W (, b)
    const save = args[args.length - 1] as tf.GradSaveFunc;
    save(inputs.slice(0, 2));
    return {
      value: runProgram(backend, new MatMulRegisterTiledProgram(M, N, false, false, hasBias), inputs, []),
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const [sx, sw] = saved;
        const dx = runProgram(backend, new MatMulRegisterTiledProgram(M, K, false, true, false), [dy, sw], []); // dy [M, N] · Wᵀ
        const dw = weightGrads ? runProgram(backend, new MatMulRegisterTiledProgram(K, N, true, false, false), [sx, dy], []) : tf.zeros([K, N]); // xᵀ · dy
        if (!hasBias) return [dx, dw];
        return [dx, dw, weightGrads ? runProgram(backend, new ColumnSumProgram(N), [dy], []) : tf.zeros([N])];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (...inputs: tf.Tensor[]) => tf.Tensor2D;
  return hasBias ? f(x, w, b) : f(x, w);
}

/**
 * The WGSL linear where it applies and our kernels are on, else null (the caller runs its plain
 * tfjs path); records the call as fused, or as reference with the reason (./usage.ts). What
 * installKernels puts on WebGPU's path of model/ops.ts's `linear`.
 */
export function linearFusedOrNull(x: tf.Tensor2D, w: tf.Tensor2D, b?: tf.Tensor1D, opts: LinearOptions = {}): tf.Tensor2D | null {
  const why = kernelsEnabled() ? fusedLinearUnsupported(x, w, b) : SWITCHED_OFF;
  recordCall('linear', why);
  return why === null ? linearFused(x, w, b, opts) : null;
}

/** The implementation to use: the WGSL linear where it applies (WebGPU), else the reference. */
export function linear2d(x: tf.Tensor2D, w: tf.Tensor2D, b?: tf.Tensor1D, opts: LinearOptions = {}): tf.Tensor2D {
  return linearFusedOrNull(x, w, b, opts) ?? linearReference(x, w, b);
}

// LayerNorm (GPT-2, GPT-NeoX) and RMSNorm (Llama) over the last axis of x [M, D] with frozen
// weights: normReference is plain tfjs (what runs on wasm/cpu, and the oracle), the WGSL
// version is ./norm-rowwise-webgpu.ts (forward and dx; γ and β get no gradient, so it declines
// trainable ones). Installed as WebGPU's BackendNorm by ./install.ts (docs/design.md § Kernels).
// Legend: M rows (B·T), D the row width.
import { tf } from '../model/tf';
import { activeWebGPUBackend, runProgram } from './webgpu-program';
import { NormRowwiseBackwardProgram, NormRowwiseForwardProgram } from './norm-rowwise-webgpu';
import { SWITCHED_OFF, kernelsEnabled, recordCall } from './usage';

/**
 * centre: LayerNorm, (x − μ)/√(var + eps) ⊙ γ + β; else RMSNorm, x/√(mean(x²) + eps) ⊙ γ.
 * x [M, D], γ, β [D] → [M, D], with tfjs's own gradients.
 */
export function normReference(x: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D | undefined, eps: number, centre: boolean): tf.Tensor2D {
  return tf.tidy(() => {
    const c = centre ? tf.sub(x, tf.mean(x, -1, true)) : x;
    const y = tf.mul(tf.mul(c, tf.rsqrt(tf.add(tf.mean(tf.square(c), -1, true), eps))), gamma);
    return (beta ? tf.add(y, beta) : y) as tf.Tensor2D;
  });
}

/**
 * Why the WGSL norm cannot compute these inputs (null when it can): it needs the WebGPU backend,
 * float32 x [M, D] with D a multiple of 4, γ (and β) [D], and frozen weights (it computes no
 * gradient for them).
 */
export function fusedNormUnsupported(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor | undefined, frozen: boolean): string | null {
  if (activeWebGPUBackend() === null) return `backend is ${tf.getBackend()}, not webgpu`;
  if (!frozen) return 'trainable norm weights are not fused (no γ, β gradient)';
  if (x.rank !== 2 || gamma.rank !== 1 || (beta && beta.rank !== 1)) return 'x must have rank 2, γ and β rank 1';
  if (x.dtype !== 'float32' || gamma.dtype !== 'float32' || (beta && beta.dtype !== 'float32')) return 'x, γ and β must be float32';
  const [M, D] = x.shape as [number, number];
  if (gamma.shape[0] !== D || (beta && beta.shape[0] !== D)) return `γ ${JSON.stringify(gamma.shape)} or β is not [${D}]`;
  if (M < 1 || D < 1) return 'empty tensor';
  if (D % 4 !== 0) return `width ${D} is not a multiple of 4`;
  if (M * D >= 2 ** 31) return 'too large for i32 indexing';
  return null;
}

/** The WGSL norm with a WGSL backward for x (zeros for the frozen γ, β). Throws when fusedNormUnsupported says why it cannot. */
export function normFused(x: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D | undefined, eps: number, centre: boolean): tf.Tensor2D {
  const why = fusedNormUnsupported(x, gamma, beta, true);
  const backend = activeWebGPUBackend();
  if (why !== null || backend === null) throw new Error(`fused norm: ${why}`);
  const [M, D] = x.shape;
  const uniforms = [{ type: 'float32' as const, data: [eps] }];
  const f = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const inputs = args.slice(0, -1) as tf.Tensor[]; // x, γ (, β)
    const save = args[args.length - 1] as tf.GradSaveFunc;
    save(inputs.slice(0, 2));
    return {
      value: runProgram(backend, new NormRowwiseForwardProgram(M, D, centre, beta !== undefined), inputs, uniforms),
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const [sx, sg] = saved;
        const dx = runProgram(backend, new NormRowwiseBackwardProgram(M, D, centre), [sx, sg, dy], uniforms); // [M, D]
        return beta ? [dx, tf.zerosLike(sg), tf.zerosLike(sg)] : [dx, tf.zerosLike(sg)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (...inputs: tf.Tensor[]) => tf.Tensor2D;
  return beta ? f(x, gamma, beta) : f(x, gamma);
}

/** The WGSL norm where it applies and ours are on, else null (the caller's tfjs ops run); recorded as 'norm'. */
export function normFusedOrNull(x: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D | undefined, eps: number, centre: boolean, frozen: boolean): tf.Tensor2D | null {
  const why = kernelsEnabled() ? fusedNormUnsupported(x, gamma, beta, frozen) : SWITCHED_OFF;
  recordCall('norm', why);
  return why === null ? normFused(x, gamma, beta, eps, centre) : null;
}

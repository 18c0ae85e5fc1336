// Running our own WGSL programs on tfjs's WebGPU backend. Only types come from
// @tensorflow/tfjs-backend-webgpu here, so this module loads (and does nothing) in Node.
import type { WebGPUBackend, WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import { tf } from '../model/tf';
import { recordDispatch } from './usage';

export type { WebGPUProgram };

/** A program-defined uniform, appended after the shapes tfjs passes (see `uniforms` in a program). */
export interface ProgramUniform {
  type: 'int32' | 'float32';
  data: number[];
}

/** The WebGPU backend when it is the active one, else null (the caller then uses its reference). */
export function activeWebGPUBackend(): WebGPUBackend | null {
  return tf.getBackend() === 'webgpu' ? (tf.backend() as unknown as WebGPUBackend) : null;
}

/**
 * Storage buffers `program` binds: one per input, plus its output. WebGPU caps them per shader
 * stage (maxStorageBuffersPerShaderStage; tfjs asks for no more than the default 8): a program
 * over the cap fails validation when its pipeline is built, and tfjs does not throw.
 */
export function storageBuffersOf(program: WebGPUProgram): number {
  return program.variableNames.length + 1;
}

/**
 * Runs `program` on `inputs` (bound in `program.variableNames` order) → a float32 tensor of
 * `program.outputShape`, and counts the dispatch under its shaderKey (./usage.ts). Throws, instead of computing zeros, when the program binds more storage
 * buffers than the device allows.
 */
export function runProgram(backend: WebGPUBackend, program: WebGPUProgram, inputs: tf.Tensor[], uniforms: ProgramUniform[]): tf.Tensor {
  const limit = backend.device.limits.maxStorageBuffersPerShaderStage;
  if (storageBuffersOf(program) > limit) {
    throw new Error(`${program.shaderKey} binds ${storageBuffersOf(program)} storage buffers; this device allows ${limit} per shader stage`);
  }
  recordDispatch(program.shaderKey);
  const info = backend.runWebGPUProgram(program, inputs, 'float32', uniforms);
  return tf.engine().makeTensorFromTensorInfo(info);
}

/** Invocations per workgroup for the flat one-row-per-invocation programs. */
export const ROW_WORKGROUP = 64;

/** A flat dispatch of one invocation per row; tfjs reshapes it when it exceeds a dimension's limit. */
export function flatDispatch(rows: number, workgroup = ROW_WORKGROUP): [number, number, number] {
  return [Math.ceil(rows / workgroup), 1, 1];
}

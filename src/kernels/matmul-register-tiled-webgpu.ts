// Matrix products for `linear` in WGSL, "register-tiled" strategy: each invocation computes a
// 4 × 4 block of the output (four rows, one vec4 of columns) in registers, reading both operands
// straight from their buffers, transposed in place when asked. No workgroup memory and no
// barriers: on SwiftShader (WebGPU on the CPU) tfjs's shared-memory tiled matmul, its transpose
// and its reductions are slow because of them (measured: 3–20× slower than this at linear-layer
// sizes). Reference: linearReference in ./linear.ts (the oracle in tests/browser).
//
// Legend: C [M, N] = op(A) [M, K] · op(B) [K, N] (+ bias [N]); op(X) = X or Xᵀ. N % 4 == 0.
// Baked constants (each one in shaderKey): transA, transB, bias or not, the workgroup size.
// Sizes come from tfjs's shape uniforms.
import type { WebGPUProgram } from './webgpu-program';
import { ROW_WORKGROUP, flatDispatch } from './webgpu-program';

/** C = op(A)·op(B) (+ bias): a [M, K] (or [K, M] when transA), b [K, N] (or [N, K] when transB), bias [N] → [M, N]. */
export class MatMulRegisterTiledProgram implements WebGPUProgram {
  variableNames: string[];
  variableComponents: number[];
  outputComponent = 4;
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [0, 1] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [ROW_WORKGROUP, 1, 1];
  private readonly transA: boolean;
  private readonly transB: boolean;
  private readonly hasBias: boolean;

  constructor(M: number, N: number, transA: boolean, transB: boolean, hasBias: boolean) {
    this.transA = transA;
    this.transB = transB;
    this.hasBias = hasBias;
    this.variableNames = hasBias ? ['a', 'b', 'bias'] : ['a', 'b'];
    this.variableComponents = hasBias ? [1, transB ? 1 : 4, 4] : [1, transB ? 1 : 4];
    this.outputShape = [M, N];
    this.dispatch = flatDispatch(Math.ceil(M / 4) * (N / 4));
    this.shaderKey = `matmulRegisterTiled_tA${transA ? 1 : 0}_tB${transB ? 1 : 0}_bias${hasBias ? 1 : 0}_wg${ROW_WORKGROUP}`;
  }

  getUserCode(): string {
    const { transA, transB } = this;
    const a = (r: string) => (transA ? `a[k * M + ${r}]` : `a[${r} * K + k]`);
    const bRow = transB ? 'vec4<f32>(b[n0 * K + k], b[(n0 + 1) * K + k], b[(n0 + 2) * K + k], b[(n0 + 3) * K + k])' : 'b[k * N4 + c4]';
    return `
  fn main(index : i32) {
    let M = uniforms.outShape.x;
    let N4 = uniforms.outShape.y / 4;
    let K = ${transA ? 'uniforms.aShape.x' : 'uniforms.aShape.y'};
    if (index >= ((M + 3) / 4) * N4) { return; }
    let r0 = (index / N4) * 4;
    let c4 = index % N4;
    let n0 = c4 * 4;
    // rows past the end read the last row (in bounds) and are not written
    let r1 = min(r0 + 1, M - 1);
    let r2 = min(r0 + 2, M - 1);
    let r3 = min(r0 + 3, M - 1);
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    for (var k = 0; k < K; k++) {
      let bk = ${bRow};
      acc0 = acc0 + ${a('r0')} * bk;
      acc1 = acc1 + ${a('r1')} * bk;
      acc2 = acc2 + ${a('r2')} * bk;
      acc3 = acc3 + ${a('r3')} * bk;
    }
    ${
      this.hasBias
        ? `let bb = bias[c4];
    acc0 = acc0 + bb;
    acc1 = acc1 + bb;
    acc2 = acc2 + bb;
    acc3 = acc3 + bb;`
        : ''
    }
    result[r0 * N4 + c4] = acc0;
    if (r0 + 1 < M) { result[(r0 + 1) * N4 + c4] = acc1; }
    if (r0 + 2 < M) { result[(r0 + 2) * N4 + c4] = acc2; }
    if (r0 + 3 < M) { result[(r0 + 3) * N4 + c4] = acc3; }
  }
  `;
  }
}

/** Column sums: x [M, N] → [N] (the bias gradient), one invocation per vec4 of columns. */
export class ColumnSumProgram implements WebGPUProgram {
  variableNames = ['x'];
  variableComponents = [4];
  outputComponent = 4;
  outputShape: number[];
  shaderKey = `columnSum_wg${ROW_WORKGROUP}`;
  dispatchLayout = { x: [0] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [ROW_WORKGROUP, 1, 1];

  constructor(N: number) {
    this.outputShape = [N];
    this.dispatch = flatDispatch(N / 4);
  }

  getUserCode(): string {
    return `
  fn main(index : i32) {
    let N4 = uniforms.xShape.y / 4;
    if (index >= N4) { return; }
    var s = vec4<f32>(0.0);
    for (var r = 0; r < uniforms.xShape.x; r++) { s = s + x[r * N4 + index]; }
    result[index] = s;
  }
  `;
  }
}

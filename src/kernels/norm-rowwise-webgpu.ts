// Row-wise LayerNorm / RMSNorm in WGSL: one invocation per row of x [M, D], the row's statistics
// in two passes over its D values (vec4 reads), the output written in a third. The backward
// recomputes the statistics from x instead of saving them, so neither program writes anything but
// its [M, D] result (no packed columns to slice off).
//
// Reference (the oracle in tests/browser): normReference in ./norm.ts, i.e. layerNorm in
// src/model/ops.ts (centre = true) and rmsNorm in src/model/decoder.ts (centre = false):
//   centre:  μ = mean(x),  x̂ = (x − μ) · r,  r = 1/√(mean((x − μ)²) + eps),  y = x̂ ⊙ γ + β
//   no centre:             x̂ = x · r,        r = 1/√(mean(x²) + eps),         y = x̂ ⊙ γ
//   backward (γ, β frozen), g = dy ⊙ γ:
//   centre:    dx = r · (g − mean(g) − x̂ · mean(g ⊙ x̂))
//   no centre: dx = r · (g − x̂ · mean(g ⊙ x̂))
//
// Legend: M rows (B·T), D the row width (a multiple of 4: rows are read as vec4). Baked constants
// (in shaderKey): centre, whether β is bound, the workgroup size. Uniform: eps (f32) after tfjs's
// own shape uniforms.
import type { WebGPUProgram } from './webgpu-program';
import { ROW_WORKGROUP, flatDispatch } from './webgpu-program';

/** The row's r = 1/√(var + eps) and μ (0 without centring), from x's row `row` of D4 vec4s. */
function statsWGSL(centre: boolean): string {
  return `
  fn rowStats(row : i32, D4 : i32) -> vec2<f32> {
    let D = f32(D4 * 4);
    var mu = 0.0;
    ${
      centre
        ? `var s = vec4<f32>(0.0);
    for (var d = 0; d < D4; d++) { s = s + x[row * D4 + d]; }
    mu = (s.x + s.y + s.z + s.w) / D;`
        : ''
    }
    var q = vec4<f32>(0.0);
    for (var d = 0; d < D4; d++) {
      let c = x[row * D4 + d] - vec4<f32>(mu);
      q = q + c * c;
    }
    let r = inverseSqrt((q.x + q.y + q.z + q.w) / D + uniforms.eps);
    return vec2<f32>(r, mu);
  }`;
}

/** Forward: x [M, D], γ [D] (, β [D]) → y [M, D]. */
export class NormRowwiseForwardProgram implements WebGPUProgram {
  variableNames: string[];
  variableComponents: number[];
  outputComponent = 4;
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [0, 1] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [ROW_WORKGROUP, 1, 1];
  uniforms = 'eps : f32,';
  private readonly centre: boolean;
  private readonly hasBeta: boolean;

  constructor(M: number, D: number, centre: boolean, hasBeta: boolean) {
    this.centre = centre;
    this.hasBeta = hasBeta;
    this.variableNames = hasBeta ? ['x', 'gamma', 'beta'] : ['x', 'gamma'];
    this.variableComponents = this.variableNames.map(() => 4);
    this.outputShape = [M, D];
    this.dispatch = flatDispatch(M);
    this.shaderKey = `normRowwise_forward_centre${centre ? 1 : 0}_beta${hasBeta ? 1 : 0}_wg${ROW_WORKGROUP}`;
  }

  getUserCode(): string {
    return `
  ${statsWGSL(this.centre)}
  fn main(index : i32) {
    if (index >= uniforms.xShape.x) { return; }
    let D4 = uniforms.xShape.y / 4;
    let st = rowStats(index, D4);
    for (var d = 0; d < D4; d++) {
      let xh = (x[index * D4 + d] - vec4<f32>(st.y)) * st.x;
      result[index * D4 + d] = xh * gamma[d]${this.hasBeta ? ' + beta[d]' : ''};
    }
  }
  `;
  }
}

/** Backward with γ (and β) frozen: x [M, D], γ [D], dy [M, D] → dx [M, D]. */
export class NormRowwiseBackwardProgram implements WebGPUProgram {
  variableNames = ['x', 'gamma', 'dy'];
  variableComponents = [4, 4, 4];
  outputComponent = 4;
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [0, 1] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [ROW_WORKGROUP, 1, 1];
  uniforms = 'eps : f32,';
  private readonly centre: boolean;

  constructor(M: number, D: number, centre: boolean) {
    this.centre = centre;
    this.outputShape = [M, D];
    this.dispatch = flatDispatch(M);
    this.shaderKey = `normRowwise_dx_centre${centre ? 1 : 0}_wg${ROW_WORKGROUP}`;
  }

  getUserCode(): string {
    return `
  ${statsWGSL(this.centre)}
  fn main(index : i32) {
    if (index >= uniforms.xShape.x) { return; }
    let D4 = uniforms.xShape.y / 4;
    let D = f32(D4 * 4);
    let st = rowStats(index, D4);
    var sg = vec4<f32>(0.0);
    var sgx = vec4<f32>(0.0);
    for (var d = 0; d < D4; d++) {
      let g = dy[index * D4 + d] * gamma[d];
      let xh = (x[index * D4 + d] - vec4<f32>(st.y)) * st.x;
      sg = sg + g;
      sgx = sgx + g * xh;
    }
    let mg = ${this.centre ? '(sg.x + sg.y + sg.z + sg.w) / D' : '0.0'};
    let mgx = (sgx.x + sgx.y + sgx.z + sgx.w) / D;
    for (var d = 0; d < D4; d++) {
      let g = dy[index * D4 + d] * gamma[d];
      let xh = (x[index * D4 + d] - vec4<f32>(st.y)) * st.x;
      result[index * D4 + d] = (g - vec4<f32>(mg) - xh * mgx) * st.x;
    }
  }
  `;
  }
}

// Fused causal cross-attention in WGSL, "row-wise" strategy: one invocation per query row
// (forward, dQ) or per key row (dK/dV), an online softmax over the keys the row may see, q/k/v
// read straight from their buffers. No [T, S] score tensor is ever written to GPU memory.
// Reference: crossAttentionReference in ./cross-attention.ts (the oracle in tests/browser).
//
// Legend: B batch, h heads, T query (anchor) rows, S key (augmenting) rows, HD head width.
// Query i sits at position past + i and sees keys j ≤ past + i; keyMask [B, S] (1 real, 0 pad).
//
// Scores are formed exactly as the reference forms them, s = (q·k)·scale + mask, with the
// same additive mask (-1e9 causal, (1 - keyMask)·-1e9 padding). A row that sees at least one
// real key (keyMask exactly 1) only loops over keys j < min(S, past + i + 1): every later key
// has mask ≤ -1e9 and weight exactly 0 in the reference too. A row that sees no real key (only
// padding at and before its position: left padding, or an all-padding example) is
// "degenerate": the reference then spreads its weight over every key whose mask is the largest,
// future keys included, so such a row loops over all S keys with the full mask and reproduces
// that. These are the rows i < first real key - past; the dK/dV program finds them the same way.
//
// Baked constants (each one in shaderKey): HD (private array sizes, loop bounds), VEC (4 when
// HD % 4 == 0: q/k/v/dy are read as vec4), whether a keyMask buffer is bound, the workgroup size.
// Uniforms: past (i32), scale (f32) after tfjs's own shape uniforms.
import type { WebGPUProgram } from './webgpu-program';
import { ROW_WORKGROUP, flatDispatch } from './webgpu-program';

/** Largest head width the programs take (private arrays of HD floats per invocation). */
export const MAX_HEAD_WIDTH = 128;

/** Columns of the forward's packed output: out[0..HD), row max m, log of the softmax sum l. */
export const forwardColumns = (hd: number) => hd + 2;
/** Columns of the dQ program's packed output: dQ[0..HD), D = rowsum(dy ⊙ out). */
export const dqColumns = (hd: number) => hd + 1;

const UNIFORMS = 'past : i32, scale : f32,';

/** WGSL shared by the three programs: the mask value and the degenerate-row rule. */
function commonWGSL(hd: number, hasMask: boolean): string {
  return `
  const HD : i32 = ${hd};

  // The reference's additive mask for query i, key j: causal -1e9, then padding (1 - m)·-1e9.
  fn maskValue(b : i32, i : i32, j : i32, S : i32) -> f32 {
    var m = 0.0;
    if (j > uniforms.past + i) { m = -1e9; }
    ${hasMask ? 'm = m + (1.0 - keyMask[b * S + j]) * -1e9;' : ''}
    return m;
  }

  // Keys query row i loops over: j < min(S, past + i + 1), or all S for a degenerate row.
  fn rowLimit(b : i32, i : i32, S : i32) -> i32 {
    let lim = min(S, uniforms.past + i + 1);
    ${
      hasMask
        ? `for (var j = 0; j < lim; j++) {
      if (keyMask[b * S + j] == 1.0) { return lim; }
    }
    return S;`
        : 'return lim;'
    }
  }
  `;
}

/** Private array type and element access for a row of HD floats, as vec4s when VEC = 4. */
function rowType(hd: number, vec: number): string {
  return vec === 4 ? `array<vec4<f32>, ${hd / 4}>` : `array<f32, ${hd}>`;
}

function keyFor(kind: string, hd: number, vec: number, hasMask: boolean): string {
  return `crossAttentionRowwise_${kind}_hd${hd}_vec${vec}_mask${hasMask ? 1 : 0}_wg${ROW_WORKGROUP}`;
}

/** The inputs' element width: vec4 reads need HD % 4 == 0. */
export function vectorWidth(hd: number): number {
  return hd % 4 === 0 ? 4 : 1;
}

/**
 * Forward: q [B,h,T,HD], k, v [B,h,S,HD] (, keyMask [B,S]) → [B,h,T,HD+2]: the attention
 * output, then the row max m and log(sum of exp(s - m)) that the backward programs reuse.
 */
export class CrossAttentionRowwiseForwardProgram implements WebGPUProgram {
  variableNames: string[];
  variableComponents: number[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [0, 1, 2] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [ROW_WORKGROUP, 1, 1];
  uniforms = UNIFORMS;
  private readonly hd: number;
  private readonly vec: number;
  private readonly hasMask: boolean;

  constructor(B: number, h: number, T: number, hd: number, hasMask: boolean) {
    this.hd = hd;
    this.vec = vectorWidth(hd);
    this.hasMask = hasMask;
    this.variableNames = hasMask ? ['q', 'k', 'v', 'keyMask'] : ['q', 'k', 'v'];
    this.variableComponents = hasMask ? [this.vec, this.vec, this.vec, 1] : [this.vec, this.vec, this.vec];
    this.outputShape = [B, h, T, forwardColumns(hd)];
    this.dispatch = flatDispatch(B * h * T);
    this.shaderKey = keyFor('forward', hd, this.vec, hasMask);
  }

  getUserCode(): string {
    const { hd, vec } = this;
    const n = hd / vec; // elements of a row as read (vec4s or floats)
    const dot = vec === 4 ? 'dot(qr[d], k[kv + d])' : 'qr[d] * k[kv + d]';
    return `
  ${commonWGSL(hd, this.hasMask)}
  fn main(index : i32) {
    let H = uniforms.qShape.y;
    let T = uniforms.qShape.z;
    let S = uniforms.kShape.z;
    if (index >= uniforms.qShape.x * H * T) { return; }
    let i = index % T;
    let bh = index / T;
    let b = bh / H;
    let lim = rowLimit(b, i, S);
    var qr : ${rowType(hd, vec)};
    var acc : ${rowType(hd, vec)};
    for (var d = 0; d < ${n}; d++) {
      qr[d] = q[index * ${n} + d];
      acc[d] = ${vec === 4 ? 'vec4<f32>(0.0)' : '0.0'};
    }
    var mx = -3.0e38;
    var l = 0.0;
    var kv = bh * S * ${n};
    for (var j = 0; j < lim; j++) {
      var s = 0.0;
      for (var d = 0; d < ${n}; d++) { s = s + ${dot}; }
      s = s * uniforms.scale + maskValue(b, i, j, S);
      if (s > mx) {
        // online softmax: rescale what was summed under the old maximum
        let c = exp(mx - s);
        l = l * c;
        for (var d = 0; d < ${n}; d++) { acc[d] = acc[d] * c; }
        mx = s;
      }
      let p = exp(s - mx);
      l = l + p;
      for (var d = 0; d < ${n}; d++) { acc[d] = acc[d] + p * v[kv + d]; }
      kv = kv + ${n};
    }
    let o = index * ${hd + 2};
    for (var d = 0; d < ${n}; d++) {
      let a = acc[d] / l;
      ${
        vec === 4
          ? `result[o + 4 * d] = a.x;
      result[o + 4 * d + 1] = a.y;
      result[o + 4 * d + 2] = a.z;
      result[o + 4 * d + 3] = a.w;`
          : 'result[o + d] = a;'
      }
    }
    result[o + HD] = mx;
    result[o + HD + 1] = log(l);
  }
  `;
  }
}

/**
 * dQ: q, k, v, dy [B,h,T,HD], the forward's packed output (, keyMask) → [B,h,T,HD+1]:
 * dQ, then D = rowsum(dy ⊙ out), which the dK/dV program reads.
 * dS_ij = p_ij (dy_i·v_j - D_i), dQ_i = scale Σ_j dS_ij k_j.
 */
export class CrossAttentionRowwiseBackwardQueryProgram implements WebGPUProgram {
  variableNames: string[];
  variableComponents: number[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [0, 1, 2] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [ROW_WORKGROUP, 1, 1];
  uniforms = UNIFORMS;
  private readonly hd: number;
  private readonly vec: number;
  private readonly hasMask: boolean;

  constructor(B: number, h: number, T: number, hd: number, hasMask: boolean) {
    this.hd = hd;
    this.vec = vectorWidth(hd);
    this.hasMask = hasMask;
    const v = this.vec;
    this.variableNames = ['q', 'k', 'v', 'dy', 'fwd', ...(hasMask ? ['keyMask'] : [])];
    this.variableComponents = [v, v, v, v, 1, ...(hasMask ? [1] : [])];
    this.outputShape = [B, h, T, dqColumns(hd)];
    this.dispatch = flatDispatch(B * h * T);
    this.shaderKey = keyFor('dq', hd, v, hasMask);
  }

  getUserCode(): string {
    const { hd, vec } = this;
    const n = hd / vec;
    const zero = vec === 4 ? 'vec4<f32>(0.0)' : '0.0';
    const dot = (a: string, b: string) => (vec === 4 ? `dot(${a}, ${b})` : `${a} * ${b}`);
    const fwdRow = (base: string, d: string) =>
      vec === 4 ? `vec4<f32>(fwd[${base} + 4 * ${d}], fwd[${base} + 4 * ${d} + 1], fwd[${base} + 4 * ${d} + 2], fwd[${base} + 4 * ${d} + 3])` : `fwd[${base} + ${d}]`;
    return `
  ${commonWGSL(hd, this.hasMask)}
  fn main(index : i32) {
    let H = uniforms.qShape.y;
    let T = uniforms.qShape.z;
    let S = uniforms.kShape.z;
    if (index >= uniforms.qShape.x * H * T) { return; }
    let i = index % T;
    let bh = index / T;
    let b = bh / H;
    let lim = rowLimit(b, i, S);
    let f = index * ${hd + 2};
    var qr : ${rowType(hd, vec)};
    var dyr : ${rowType(hd, vec)};
    var dq : ${rowType(hd, vec)};
    var D = 0.0;
    for (var d = 0; d < ${n}; d++) {
      qr[d] = q[index * ${n} + d];
      dyr[d] = dy[index * ${n} + d];
      D = D + ${dot('dyr[d]', fwdRow('f', 'd'))};
      dq[d] = ${zero};
    }
    let mx = fwd[f + HD];
    let logl = fwd[f + HD + 1];
    var kv = bh * S * ${n};
    for (var j = 0; j < lim; j++) {
      var s = 0.0;
      var dp = 0.0;
      for (var d = 0; d < ${n}; d++) {
        s = s + ${dot('qr[d]', 'k[kv + d]')};
        dp = dp + ${dot('dyr[d]', 'v[kv + d]')};
      }
      s = s * uniforms.scale + maskValue(b, i, j, S);
      let p = exp((s - mx) - logl);
      let ds = p * (dp - D);
      for (var d = 0; d < ${n}; d++) { dq[d] = dq[d] + ds * k[kv + d]; }
      kv = kv + ${n};
    }
    let o = index * ${hd + 1};
    for (var d = 0; d < ${n}; d++) {
      let a = dq[d] * uniforms.scale;
      ${
        vec === 4
          ? `result[o + 4 * d] = a.x;
      result[o + 4 * d + 1] = a.y;
      result[o + 4 * d + 2] = a.z;
      result[o + 4 * d + 3] = a.w;`
          : 'result[o + d] = a;'
      }
    }
    result[o + HD] = D;
  }
  `;
  }
}

/**
 * dK and dV: q, k, v, dy, the forward's packed output, the dQ program's packed output
 * (, keyMask) → [B,h,S,2·HD]: dK then dV. One invocation per key row j loops over the query
 * rows that see it: i ≥ j - past, plus the degenerate rows (which see every key).
 * dV_j = Σ_i p_ij dy_i, dK_j = scale Σ_i dS_ij q_i.
 */
export class CrossAttentionRowwiseBackwardKeyValueProgram implements WebGPUProgram {
  variableNames: string[];
  variableComponents: number[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [0, 1, 2] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [ROW_WORKGROUP, 1, 1];
  uniforms = UNIFORMS;
  private readonly hd: number;
  private readonly vec: number;
  private readonly hasMask: boolean;

  constructor(B: number, h: number, S: number, hd: number, hasMask: boolean) {
    this.hd = hd;
    this.vec = vectorWidth(hd);
    this.hasMask = hasMask;
    const v = this.vec;
    this.variableNames = ['q', 'k', 'v', 'dy', 'fwd', 'dqd', ...(hasMask ? ['keyMask'] : [])];
    this.variableComponents = [v, v, v, v, 1, 1, ...(hasMask ? [1] : [])];
    this.outputShape = [B, h, S, 2 * hd];
    this.dispatch = flatDispatch(B * h * S);
    this.shaderKey = keyFor('dkv', hd, v, hasMask);
  }

  getUserCode(): string {
    const { hd, vec } = this;
    const n = hd / vec;
    const zero = vec === 4 ? 'vec4<f32>(0.0)' : '0.0';
    const dot = (a: string, b: string) => (vec === 4 ? `dot(${a}, ${b})` : `${a} * ${b}`);
    const write = (base: string, x: string) =>
      vec === 4
        ? `result[${base} + 4 * d] = ${x}.x;
      result[${base} + 4 * d + 1] = ${x}.y;
      result[${base} + 4 * d + 2] = ${x}.z;
      result[${base} + 4 * d + 3] = ${x}.w;`
        : `result[${base} + d] = ${x};`;
    return `
  ${commonWGSL(hd, this.hasMask)}
  fn main(index : i32) {
    let H = uniforms.qShape.y;
    let T = uniforms.qShape.z;
    let S = uniforms.kShape.z;
    if (index >= uniforms.qShape.x * H * S) { return; }
    let j = index % S;
    let bh = index / S;
    let b = bh / H;
    var kr : ${rowType(hd, vec)};
    var vr : ${rowType(hd, vec)};
    var dk : ${rowType(hd, vec)};
    var dv : ${rowType(hd, vec)};
    for (var d = 0; d < ${n}; d++) {
      kr[d] = k[index * ${n} + d];
      vr[d] = v[index * ${n} + d];
      dk[d] = ${zero};
      dv[d] = ${zero};
    }
    // Rows i < dgn are degenerate (no real key at or before their position).
    var dgn = 0;
    ${
      this.hasMask
        ? `var first = S;
    for (var jj = 0; jj < S; jj++) {
      if (keyMask[b * S + jj] == 1.0) { first = jj; break; }
    }
    dgn = select(clamp(first - uniforms.past, 0, T), T, first == S);`
        : ''
    }
    let i0 = clamp(j - uniforms.past, 0, T); // first row whose causal window holds key j
    let nd = min(dgn, i0);
    let count = nd + T - i0;
    for (var c = 0; c < count; c++) {
      let i = select(i0 + c - nd, c, c < nd);
      let r = bh * T + i;
      let f = r * ${hd + 2};
      var s = 0.0;
      var dp = 0.0;
      for (var d = 0; d < ${n}; d++) {
        s = s + ${dot(`q[r * ${n} + d]`, 'kr[d]')};
        dp = dp + ${dot(`dy[r * ${n} + d]`, 'vr[d]')};
      }
      s = s * uniforms.scale + maskValue(b, i, j, S);
      let p = exp((s - fwd[f + HD]) - fwd[f + HD + 1]);
      let ds = p * (dp - dqd[r * ${hd + 1} + HD]);
      for (var d = 0; d < ${n}; d++) {
        dv[d] = dv[d] + p * dy[r * ${n} + d];
        dk[d] = dk[d] + ds * q[r * ${n} + d];
      }
    }
    let o = index * ${2 * hd};
    for (var d = 0; d < ${n}; d++) {
      let a = dk[d] * uniforms.scale;
      ${write('o', 'a')}
      let e = dv[d];
      ${write(`o + ${hd}`, 'e')}
    }
  }
  `;
  }
}

// Over 400 lines: the four programs of one fused kernel share their WGSL helpers and row layout.
// Fused causal cross-attention in WGSL, "row-wise" strategy: one invocation per query row
// (forward, dQ) or per key row (dK/dV), an online softmax over the keys the row may see, q/k/v
// read straight from their buffers. No [T, S] score tensor is ever written to GPU memory.
//
// Reference (the oracle in tests/browser): crossAttentionReference in ./cross-attention.ts,
// with the relative-position bias of positionScoreBias there:
//   s_ij = (q_i·k_j)·scale + mask_ij + posBias[head, bucket(past + i − j)],   scale = 1/√HD
//   bucket(d) = R − 1 when d < 0 (a future key) or d ≥ R − 1, else d
//   out_i = Σ_j p_ij v_j with p_ij = softmax_j(s_ij)
//   dS_ij = p_ij (dy_i·v_j − D_i), D_i = dy_i·out_i;  dQ_i = scale Σ_j dS_ij k_j,
//   dK_j = scale Σ_i dS_ij q_i, dV_j = Σ_i p_ij dy_i, dPosBias[head, r] = Σ_{b, i, j: bucket = r} dS_ij.
//
// Legend: B batch, h heads, T query (anchor) rows, S key (augmenting) rows, HD head width,
// R (NB in WGSL) position buckets. Query i sits at position past + i and sees keys j ≤ past + i;
// keyMask [B, S] (1 real, 0 pad).
//
// Scores are formed exactly as the reference forms them, s = ((q·k)·scale + mask) + bias, with
// the same additive mask (-1e9 causal, (1 - keyMask)·-1e9 padding). A row that sees at least one
// real key (keyMask exactly 1) only loops over keys j < min(S, past + i + 1): every later key
// has mask ≤ -1e9 and weight exactly 0 in the reference too. A row that sees no real key (only
// padding at and before its position: left padding, or an all-padding example) is
// "degenerate": the reference then spreads its weight over every key whose mask is the largest,
// future keys included, so such a row loops over all S keys with the full mask and reproduces
// that. These are the rows i < first real key - past; the dK/dV program finds them the same way.
//
// The bias gradient: the dQ program, which visits every (i, j) of its row, writes its row's dS
// summed per bucket into R extra columns (buckets 0 … R−2 hold one key each, bucket R−1 the sum of
// the rest); the bias-gradient program then sums those columns over batch and rows in a fixed
// order, one invocation per (head, bucket): deterministic, no atomics.
//
// Buffers: keyMask and posBias travel in one "aux" buffer ([B·S] mask, then [h·R] bias), so that
// the dK/dV program binds 7 inputs + 1 output = 8 storage buffers, WebGPU's default
// maxStorageBuffersPerShaderStage (tfjs asks for no more; runProgram checks it).
//
// Baked constants (each one in shaderKey): HD (private array sizes, loop bounds), VEC (4 when
// HD % 4 == 0: q/k/v/dy are read as vec4), whether a keyMask is bound, R (0: no position bias),
// the workgroup size. Uniforms: past (i32), scale (f32) after tfjs's own shape uniforms.
import type { WebGPUProgram } from './webgpu-program';
import { ROW_WORKGROUP, flatDispatch } from './webgpu-program';

/** Largest head width the programs take (private arrays of HD floats per invocation). */
export const MAX_HEAD_WIDTH = 128;

/** What the programs are built for: head width, keyMask or not, position buckets R (0: no bias). */
export interface RowwiseConfig {
  hd: number;
  hasMask: boolean;
  buckets: number;
}

/** Columns of the forward's packed output: out[0..HD), row max m, log of the softmax sum l. */
export const forwardColumns = (hd: number) => hd + 2;
/** Columns of the dQ program's packed output: dQ[0..HD), D = rowsum(dy ⊙ out), then dS per bucket [R]. */
export const dqColumns = (hd: number, buckets: number) => hd + 1 + buckets;

const UNIFORMS = 'past : i32, scale : f32,';

/** Whether the programs bind the aux buffer (keyMask and/or posBias). */
const hasAux = (c: RowwiseConfig) => c.hasMask || c.buckets > 0;

/** WGSL shared by the programs: the mask value, the position bias and the degenerate-row rule. */
function commonWGSL(c: RowwiseConfig): string {
  const { hd, hasMask, buckets } = c;
  return `
  const HD : i32 = ${hd};
  const NB : i32 = ${buckets};

  // The reference's additive mask for query i, key j: causal -1e9, then padding (1 - m)·-1e9.
  fn maskValue(b : i32, i : i32, j : i32, S : i32) -> f32 {
    var m = 0.0;
    if (j > uniforms.past + i) { m = -1e9; }
    ${hasMask ? 'm = m + (1.0 - aux[b * S + j]) * -1e9;' : ''}
    return m;
  }

  // positionScoreBias's bucket of query i, key j: offset past + i - j, R - 1 beyond the last
  // bucket and for future keys.
  fn bucketOf(i : i32, j : i32) -> i32 {
    let d = uniforms.past + i - j;
    if (d < 0) { return NB - 1; }
    return min(d, NB - 1);
  }

  // Where head (bh % h)'s R biases start in aux (after the [B·S] mask when there is one).
  fn biasRow(bh : i32, S : i32) -> i32 {
    return ${hasMask ? 'uniforms.qShape.x * S' : '0'} + (bh % uniforms.qShape.y) * NB;
  }

  // A score as the reference forms it: raw = q·k, then ·scale, + mask, + posBias[head, bucket]
  // (br = biasRow(bh, S), computed once per invocation).
  fn score(raw : f32, b : i32, br : i32, i : i32, j : i32, S : i32) -> f32 {
    var s = raw * uniforms.scale + maskValue(b, i, j, S);
    ${buckets > 0 ? 's = s + aux[br + bucketOf(i, j)];' : ''}
    return s;
  }

  // Keys query row i loops over: j < min(S, past + i + 1), or all S for a degenerate row.
  fn rowLimit(b : i32, i : i32, S : i32) -> i32 {
    let lim = min(S, uniforms.past + i + 1);
    ${
      hasMask
        ? `for (var j = 0; j < lim; j++) {
      if (aux[b * S + j] == 1.0) { return lim; }
    }
    return S;`
        : 'return lim;'
    }
  }
  `;
}

/** Private array type for a row of HD floats, as vec4s when VEC = 4. */
function rowType(hd: number, vec: number): string {
  return vec === 4 ? `array<vec4<f32>, ${hd / 4}>` : `array<f32, ${hd}>`;
}

/** WGSL writing x (a vec4 when VEC = 4, else a float) to result at base + (4·)d. */
function writeRow(vec: number, base: string, x: string): string {
  return vec === 4
    ? `result[${base} + 4 * d] = ${x}.x;
      result[${base} + 4 * d + 1] = ${x}.y;
      result[${base} + 4 * d + 2] = ${x}.z;
      result[${base} + 4 * d + 3] = ${x}.w;`
    : `result[${base} + d] = ${x};`;
}

/** The inputs' element width: vec4 reads need HD % 4 == 0. */
export function vectorWidth(hd: number): number {
  return hd % 4 === 0 ? 4 : 1;
}

/**
 * What the three attention programs share: inputs `rowInputs` (read as rows of VEC floats)
 * then `packedInputs` (floats) then aux when bound, one invocation per output row.
 */
abstract class RowwiseProgram implements WebGPUProgram {
  variableNames: string[];
  variableComponents: number[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [0, 1, 2] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [ROW_WORKGROUP, 1, 1];
  uniforms = UNIFORMS;
  protected readonly cfg: RowwiseConfig;
  protected readonly vec: number;

  constructor(kind: string, cfg: RowwiseConfig, rowInputs: string[], packedInputs: string[], outputShape: number[]) {
    this.cfg = cfg;
    this.vec = vectorWidth(cfg.hd);
    const aux = hasAux(cfg) ? ['aux'] : [];
    this.variableNames = [...rowInputs, ...packedInputs, ...aux];
    this.variableComponents = [...rowInputs.map(() => this.vec), ...packedInputs.map(() => 1), ...aux.map(() => 1)];
    this.outputShape = outputShape;
    this.dispatch = flatDispatch(outputShape[0] * outputShape[1] * outputShape[2]);
    this.shaderKey = `crossAttentionRowwise_${kind}_hd${cfg.hd}_vec${this.vec}_mask${cfg.hasMask ? 1 : 0}_nb${cfg.buckets}_wg${ROW_WORKGROUP}`;
  }

  abstract getUserCode(): string;
}

/**
 * Forward: q [B,h,T,HD], k, v [B,h,S,HD] (, aux) → [B,h,T,HD+2]: the attention output, then
 * the row max m and log(sum of exp(s - m)) that the backward programs reuse.
 */
export class CrossAttentionRowwiseForwardProgram extends RowwiseProgram {
  constructor(B: number, h: number, T: number, cfg: RowwiseConfig) {
    super('forward', cfg, ['q', 'k', 'v'], [], [B, h, T, forwardColumns(cfg.hd)]);
  }

  getUserCode(): string {
    const { vec } = this;
    const { hd } = this.cfg;
    const n = hd / vec; // elements of a row as read (vec4s or floats)
    const dot = vec === 4 ? 'dot(qr[d], k[kv + d])' : 'qr[d] * k[kv + d]';
    return `
  ${commonWGSL(this.cfg)}
  fn main(index : i32) {
    let H = uniforms.qShape.y;
    let T = uniforms.qShape.z;
    let S = uniforms.kShape.z;
    if (index >= uniforms.qShape.x * H * T) { return; }
    let i = index % T;
    let bh = index / T;
    let b = bh / H;
    let br = biasRow(bh, S);
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
      var raw = 0.0;
      for (var d = 0; d < ${n}; d++) { raw = raw + ${dot}; }
      let s = score(raw, b, br, i, j, S);
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
      ${writeRow(vec, 'o', 'a')}
    }
    result[o + HD] = mx;
    result[o + HD + 1] = log(l);
  }
  `;
  }
}

/**
 * dQ: q, k, v, dy [B,h,T,HD], the forward's packed output (, aux) → [B,h,T,HD+1+R]:
 * dQ, then D = rowsum(dy ⊙ out), which the dK/dV program reads, then this row's dS summed per
 * position bucket (the bias-gradient program's input).
 * dS_ij = p_ij (dy_i·v_j - D_i), dQ_i = scale Σ_j dS_ij k_j.
 */
export class CrossAttentionRowwiseBackwardQueryProgram extends RowwiseProgram {
  constructor(B: number, h: number, T: number, cfg: RowwiseConfig) {
    super('dq', cfg, ['q', 'k', 'v', 'dy'], ['fwd'], [B, h, T, dqColumns(cfg.hd, cfg.buckets)]);
  }

  getUserCode(): string {
    const { vec } = this;
    const { hd, buckets } = this.cfg;
    const n = hd / vec;
    const zero = vec === 4 ? 'vec4<f32>(0.0)' : '0.0';
    const dot = (a: string, b: string) => (vec === 4 ? `dot(${a}, ${b})` : `${a} * ${b}`);
    const fwdRow = (base: string, d: string) =>
      vec === 4 ? `vec4<f32>(fwd[${base} + 4 * ${d}], fwd[${base} + 4 * ${d} + 1], fwd[${base} + 4 * ${d} + 2], fwd[${base} + 4 * ${d} + 3])` : `fwd[${base} + ${d}]`;
    return `
  ${commonWGSL(this.cfg)}
  fn main(index : i32) {
    let H = uniforms.qShape.y;
    let T = uniforms.qShape.z;
    let S = uniforms.kShape.z;
    if (index >= uniforms.qShape.x * H * T) { return; }
    let i = index % T;
    let bh = index / T;
    let b = bh / H;
    let br = biasRow(bh, S);
    let lim = rowLimit(b, i, S);
    let f = index * ${hd + 2};
    let o = index * ${dqColumns(hd, buckets)};
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
    // buckets 0 … R-2 hold one key each (possibly none in range): zero them first
    for (var r = 0; r < NB - 1; r++) { result[o + HD + 1 + r] = 0.0; }
    var far = 0.0; // bucket R-1: every other key
    let mx = fwd[f + HD];
    let logl = fwd[f + HD + 1];
    var kv = bh * S * ${n};
    for (var j = 0; j < lim; j++) {
      var raw = 0.0;
      var dp = 0.0;
      for (var d = 0; d < ${n}; d++) {
        raw = raw + ${dot('qr[d]', 'k[kv + d]')};
        dp = dp + ${dot('dyr[d]', 'v[kv + d]')};
      }
      let s = score(raw, b, br, i, j, S);
      let p = exp((s - mx) - logl);
      let ds = p * (dp - D);
      ${
        buckets > 0
          ? `let r = bucketOf(i, j);
      if (r < NB - 1) { result[o + HD + 1 + r] = ds; } else { far = far + ds; }`
          : ''
      }
      for (var d = 0; d < ${n}; d++) { dq[d] = dq[d] + ds * k[kv + d]; }
      kv = kv + ${n};
    }
    for (var d = 0; d < ${n}; d++) {
      let a = dq[d] * uniforms.scale;
      ${writeRow(vec, 'o', 'a')}
    }
    result[o + HD] = D;
    ${buckets > 0 ? 'result[o + HD + NB] = far;' : ''}
  }
  `;
  }
}

/**
 * dK and dV: q, k, v, dy, the forward's packed output, the dQ program's packed output
 * (, aux) → [B,h,S,2·HD]: dK then dV. One invocation per key row j loops over the query
 * rows that see it: i ≥ j - past, plus the degenerate rows (which see every key).
 * dV_j = Σ_i p_ij dy_i, dK_j = scale Σ_i dS_ij q_i.
 */
export class CrossAttentionRowwiseBackwardKeyValueProgram extends RowwiseProgram {
  constructor(B: number, h: number, S: number, cfg: RowwiseConfig) {
    super('dkv', cfg, ['q', 'k', 'v', 'dy'], ['fwd', 'dqd'], [B, h, S, 2 * cfg.hd]);
  }

  getUserCode(): string {
    const { vec } = this;
    const { hd, buckets } = this.cfg;
    const n = hd / vec;
    const zero = vec === 4 ? 'vec4<f32>(0.0)' : '0.0';
    const dot = (a: string, b: string) => (vec === 4 ? `dot(${a}, ${b})` : `${a} * ${b}`);
    return `
  ${commonWGSL(this.cfg)}
  fn main(index : i32) {
    let H = uniforms.qShape.y;
    let T = uniforms.qShape.z;
    let S = uniforms.kShape.z;
    if (index >= uniforms.qShape.x * H * S) { return; }
    let j = index % S;
    let bh = index / S;
    let b = bh / H;
    let br = biasRow(bh, S);
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
      this.cfg.hasMask
        ? `var first = S;
    for (var jj = 0; jj < S; jj++) {
      if (aux[b * S + jj] == 1.0) { first = jj; break; }
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
      var raw = 0.0;
      var dp = 0.0;
      for (var d = 0; d < ${n}; d++) {
        raw = raw + ${dot(`q[r * ${n} + d]`, 'kr[d]')};
        dp = dp + ${dot(`dy[r * ${n} + d]`, 'vr[d]')};
      }
      let s = score(raw, b, br, i, j, S);
      let p = exp((s - fwd[f + HD]) - fwd[f + HD + 1]);
      let ds = p * (dp - dqd[r * ${dqColumns(hd, buckets)} + HD]);
      for (var d = 0; d < ${n}; d++) {
        dv[d] = dv[d] + p * dy[r * ${n} + d];
        dk[d] = dk[d] + ds * q[r * ${n} + d];
      }
    }
    let o = index * ${2 * hd};
    for (var d = 0; d < ${n}; d++) {
      let a = dk[d] * uniforms.scale;
      ${writeRow(vec, 'o', 'a')}
      let e = dv[d];
      ${writeRow(vec, `o + ${hd}`, 'e')}
    }
  }
  `;
  }
}

/**
 * The position bias's gradient: the dQ program's packed output [B,h,T,HD+1+R] → [h, R],
 * dPosBias[head, r] = Σ_b Σ_i dqd[b, head, i, HD+1+r]. One invocation per (head, bucket), summing
 * in a fixed order (b, then i): the same bits on every run.
 */
export class CrossAttentionBiasGradProgram implements WebGPUProgram {
  variableNames = ['dqd'];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [0, 1] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [ROW_WORKGROUP, 1, 1];
  private readonly hd: number;
  private readonly buckets: number;

  constructor(h: number, hd: number, buckets: number) {
    this.hd = hd;
    this.buckets = buckets;
    this.outputShape = [h, buckets];
    this.dispatch = flatDispatch(h * buckets);
    this.shaderKey = `crossAttentionBiasGrad_hd${hd}_nb${buckets}_wg${ROW_WORKGROUP}`;
  }

  getUserCode(): string {
    const cols = dqColumns(this.hd, this.buckets);
    return `
  fn main(index : i32) {
    let B = uniforms.dqdShape.x;
    let H = uniforms.dqdShape.y;
    let T = uniforms.dqdShape.z;
    if (index >= H * ${this.buckets}) { return; }
    let head = index / ${this.buckets};
    let col = ${this.hd + 1} + index % ${this.buckets};
    var s = 0.0;
    for (var b = 0; b < B; b++) {
      let row0 = (b * H + head) * T;
      for (var i = 0; i < T; i++) { s = s + dqd[(row0 + i) * ${cols} + col]; }
    }
    result[index] = s;
  }
  `;
  }
}

// Input whitening of a bridge (CompositionSpec.inputNorm 'whiten'): from the mean μ and the
// covariance Σ of the augmenting states, the frozen map g ↦ (g − μ)·W with
// W = Σ^{-1/2}/√D (symmetric ZCA whitening), so a whitened state has norm ≈ 1 and every
// direction the same scale. Plain float64 TypeScript, no tfjs: the statistics are small
// ([D], [D, D]) and must be the same on every backend.
// Legend: D the augmenting width D_g; matrices are row-major Float64Array [D·D].

/** Eigenvalues below this share of the largest are clamped to it (near-singular Σ). */
export const EIGEN_FLOOR = 1e-6;

/**
 * Eigendecomposition of a symmetric matrix by the cyclic Jacobi method: A = U diag(λ) Uᵀ,
 * U's columns the eigenvectors (row-major [D, D]). Each sweep is D(D−1)/2 rotations touching
 * two rows of A (mirrored into the columns) and two eigenvectors, ≈ 3D³ flops a sweep, and it
 * takes 6–10 sweeps. Measured in Node: 0.1 s at D = 128, 0.4 s at 256, about 20 s at 768
 * (GPT-2 small; once per training run, before step 0).
 */
export function symmetricEigen(a: Float64Array, D: number, maxSweeps = 50): { values: Float64Array; vectors: Float64Array } {
  if (a.length !== D * D) throw new RangeError(`symmetricEigen: expected ${D * D} values for [${D}, ${D}], found ${a.length}`);
  const A = Float64Array.from(a);
  const V = new Float64Array(D * D); // Uᵀ: row i is eigenvector i (rows update contiguously)
  for (let i = 0; i < D; i++) V[i * D + i] = 1;
  let scale = 0;
  for (let i = 0; i < D * D; i++) scale += A[i] * A[i];
  const tol = 1e-30 * Math.max(scale, Number.MIN_VALUE);
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    for (let p = 0; p < D; p++) for (let q = p + 1; q < D; q++) off += A[p * D + q] * A[p * D + q];
    if (off <= tol) break;
    for (let p = 0; p < D - 1; p++) {
      for (let q = p + 1; q < D; q++) {
        const apq = A[p * D + q];
        if (apq === 0) continue;
        const app = A[p * D + p];
        const aqq = A[q * D + q];
        // the rotation that zeroes A[p, q] (Golub & Van Loan, Algorithm 8.4.1): A ← JᵀAJ
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        const P = p * D;
        const Q = q * D;
        for (let k = 0; k < D; k++) {
          // rows p and q; A stays symmetric, so columns p and q are the same numbers
          const apk = A[P + k];
          const aqk = A[Q + k];
          const np = c * apk - s * aqk;
          const nq = s * apk + c * aqk;
          A[P + k] = np;
          A[Q + k] = nq;
          A[k * D + p] = np;
          A[k * D + q] = nq;
        }
        A[P + p] = c * c * app - 2 * c * s * apq + s * s * aqq;
        A[Q + q] = s * s * app + 2 * c * s * apq + c * c * aqq;
        A[P + q] = 0;
        A[Q + p] = 0;
        for (let k = 0; k < D; k++) {
          const vp = V[P + k];
          const vq = V[Q + k];
          V[P + k] = c * vp - s * vq;
          V[Q + k] = s * vp + c * vq;
        }
      }
    }
  }
  const values = new Float64Array(D);
  const vectors = new Float64Array(D * D);
  for (let i = 0; i < D; i++) {
    values[i] = A[i * D + i];
    for (let k = 0; k < D; k++) vectors[k * D + i] = V[i * D + k];
  }
  return { values, vectors };
}

/**
 * W = U diag(λ^{-1/2}) Uᵀ / √D for Σ = U diag(λ) Uᵀ, λ clamped to ≥ EIGEN_FLOOR·max λ: the
 * whitened covariance WᵀΣW is I/D (on the directions above the floor).
 */
export function whiteningMatrix(cov: Float64Array, D: number): Float64Array {
  const { values, vectors: U } = symmetricEigen(cov, D);
  const top = Math.max(...values);
  if (!(top > 0)) throw new RangeError('whiteningMatrix: the covariance is zero (are all augmenting states equal?)');
  const inv = values.map((l) => 1 / Math.sqrt(Math.max(l, EIGEN_FLOOR * top) * D)); // λ^{-1/2}/√D
  const W = new Float64Array(D * D);
  for (let i = 0; i < D; i++) {
    for (let j = i; j < D; j++) {
      let s = 0;
      for (let k = 0; k < D; k++) s += U[i * D + k] * inv[k] * U[j * D + k];
      W[i * D + j] = s;
      W[j * D + i] = s;
    }
  }
  return W;
}

/**
 * Mean and population covariance of vectors given in chunks, accumulated in float64 around a
 * shift (the first vector seen), so that a large shared offset does not cancel digits.
 */
export class MomentAccumulator {
  private n = 0;
  private shift: Float64Array | null = null;
  private readonly sum: Float64Array; // Σ (x − shift)
  private readonly outer: Float64Array; // Σ (x − shift)(x − shift)ᵀ, [D, D]

  constructor(readonly D: number) {
    this.sum = new Float64Array(D);
    this.outer = new Float64Array(D * D);
  }

  /** Adds the rows of `x` [rows, D] (row-major) for which `keep(row)` holds. */
  add(x: Float32Array | Float64Array, rows: number, keep: (row: number) => boolean = () => true): void {
    const D = this.D;
    const d = new Float64Array(D);
    for (let r = 0; r < rows; r++) {
      if (!keep(r)) continue;
      if (!this.shift) this.shift = Float64Array.from(x.subarray(r * D, (r + 1) * D));
      for (let i = 0; i < D; i++) d[i] = x[r * D + i] - this.shift[i];
      for (let i = 0; i < D; i++) {
        const di = d[i];
        this.sum[i] += di;
        if (di === 0) continue;
        const row = i * D;
        for (let j = i; j < D; j++) this.outer[row + j] += di * d[j];
      }
      this.n++;
    }
  }

  /**
   * Adds a chunk's totals, already shifted: `n` vectors, Σ (x − shift) [D] and
   * Σ (x − shift)(x − shift)ᵀ [D, D] (from a matmul on the device; float32 within a chunk).
   * The shift must have been set first (`setShift`).
   */
  addTotals(n: number, sum: ArrayLike<number>, outer: ArrayLike<number>): void {
    if (!this.shift) throw new RangeError('MomentAccumulator: addTotals needs the shift set first');
    for (let i = 0; i < this.D; i++) this.sum[i] += sum[i];
    for (let i = 0; i < this.D * this.D; i++) this.outer[i] += outer[i];
    this.n += n;
  }

  /** The point the moments are accumulated around (a typical vector, e.g. the first one). */
  setShift(shift: ArrayLike<number>): void {
    if (this.shift) throw new RangeError('MomentAccumulator: the shift is set already');
    this.shift = Float64Array.from(shift);
  }

  get shiftVector(): Float64Array | null {
    return this.shift;
  }

  get count(): number {
    return this.n;
  }

  /** μ [D] and Σ [D, D] (population: divided by n). */
  result(): { mean: Float64Array; cov: Float64Array } {
    const D = this.D;
    if (this.n === 0 || !this.shift) throw new RangeError('MomentAccumulator: no vectors were added');
    const m = this.sum.map((s) => s / this.n); // mean − shift
    const mean = m.map((v, i) => v + this.shift![i]);
    const cov = new Float64Array(D * D);
    for (let i = 0; i < D; i++) {
      for (let j = i; j < D; j++) {
        const c = this.outer[i * D + j] / this.n - m[i] * m[j];
        cov[i * D + j] = c;
        cov[j * D + i] = c;
      }
    }
    return { mean, cov };
  }
}

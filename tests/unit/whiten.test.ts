// Input whitening (src/calm/whiten.ts): the Jacobi eigendecomposition, the ZCA matrix and the
// float64 moments, in plain TypeScript.
import { describe, expect, it } from 'vitest';
import { MomentAccumulator, symmetricEigen, whiteningMatrix } from '../../src/calm/whiten';
import { makeRng } from '../../src/tasks/rng';

/** Row-major [n, n] product A·B. */
function mul(A: Float64Array, B: Float64Array, n: number): Float64Array {
  const C = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) for (let j = 0; j < n; j++) C[i * n + j] += A[i * n + k] * B[k * n + j];
  return C;
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i])));

/** n samples of D correlated features with a large shared offset and very unequal scales. */
function samples(n: number, D: number, seed: number): Float64Array {
  const rng = makeRng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
  const mix = Float64Array.from({ length: D * D }, () => gauss());
  const x = new Float64Array(n * D);
  for (let r = 0; r < n; r++) {
    const z = Array.from({ length: D }, (_, i) => gauss() * 10 ** ((i % 4) / 2)); // scales 1 … 32
    for (let j = 0; j < D; j++) {
      let s = 40; // the shared offset
      for (let i = 0; i < D; i++) s += z[i] * mix[i * D + j];
      x[r * D + j] = s;
    }
  }
  return x;
}

function naiveMoments(x: Float64Array, n: number, D: number) {
  const mean = new Float64Array(D);
  for (let r = 0; r < n; r++) for (let i = 0; i < D; i++) mean[i] += x[r * D + i] / n;
  const cov = new Float64Array(D * D);
  for (let r = 0; r < n; r++) for (let i = 0; i < D; i++) for (let j = 0; j < D; j++) cov[i * D + j] += ((x[r * D + i] - mean[i]) * (x[r * D + j] - mean[j])) / n;
  return { mean, cov };
}

describe('symmetricEigen (cyclic Jacobi)', () => {
  it('reconstructs Σ = U diag(λ) Uᵀ with orthonormal U', () => {
    const D = 12;
    const { cov } = naiveMoments(samples(200, D, 3), 200, D);
    const { values, vectors: U } = symmetricEigen(cov, D);
    const L = new Float64Array(D * D);
    values.forEach((l, i) => (L[i * D + i] = l));
    const Ut = new Float64Array(D * D);
    for (let i = 0; i < D; i++) for (let j = 0; j < D; j++) Ut[j * D + i] = U[i * D + j];
    const scale = Math.max(...cov.map(Math.abs));
    expect(maxDiff(mul(mul(U, L, D), Ut, D), cov) / scale).toBeLessThan(1e-12);
    const I = Float64Array.from({ length: D * D }, (_, k) => (k % (D + 1) === 0 ? 1 : 0));
    expect(maxDiff(mul(Ut, U, D), I)).toBeLessThan(1e-12);
  });

  it('handles a diagonal matrix and refuses a wrong size', () => {
    const { values } = symmetricEigen(Float64Array.from([3, 0, 0, 0, 1, 0, 0, 0, 2]), 3);
    expect(Array.from(values)).toEqual([3, 1, 2]);
    expect(() => symmetricEigen(new Float64Array(5), 2)).toThrow('expected 4 values');
  });
});

describe('whiteningMatrix', () => {
  it('is symmetric and whitens: the covariance of (x − μ)·W is I/D, a whitened state has norm ≈ 1', () => {
    const D = 10;
    const n = 400;
    const x = samples(n, D, 5);
    const { mean, cov } = naiveMoments(x, n, D);
    const W = whiteningMatrix(cov, D);
    for (let i = 0; i < D; i++) for (let j = 0; j < D; j++) expect(W[i * D + j]).toBeCloseTo(W[j * D + i], 12);
    const y = new Float64Array(n * D);
    for (let r = 0; r < n; r++) for (let j = 0; j < D; j++) for (let i = 0; i < D; i++) y[r * D + j] += (x[r * D + i] - mean[i]) * W[i * D + j];
    const white = naiveMoments(y, n, D);
    const target = Float64Array.from({ length: D * D }, (_, k) => (k % (D + 1) === 0 ? 1 / D : 0));
    expect(maxDiff(white.cov, target)).toBeLessThan(1e-9);
    let norm2 = 0;
    for (let k = 0; k < n * D; k++) norm2 += y[k] * y[k] / n;
    expect(norm2).toBeCloseTo(1, 9); // E|y|² = trace(I/D) = 1
  });

  it('clamps the eigenvalues of a singular covariance instead of dividing by zero', () => {
    const cov = Float64Array.from([1, 1, 1, 1]); // rank 1
    const W = whiteningMatrix(cov, 2);
    expect(W.every(Number.isFinite)).toBe(true);
    expect(() => whiteningMatrix(new Float64Array(4), 2)).toThrow('the covariance is zero');
  });
});

describe('MomentAccumulator', () => {
  it('gives the two-pass mean and covariance, from rows or from shifted chunk totals, masked rows left out', () => {
    const D = 6;
    const n = 90;
    const x = samples(n, D, 7);
    const keep = (r: number) => r % 5 !== 4;
    const kept = Float64Array.from(Array.from({ length: n }, (_, r) => r).filter(keep).flatMap((r) => Array.from(x.subarray(r * D, (r + 1) * D))));
    const want = naiveMoments(kept, kept.length / D, D);

    const rows = new MomentAccumulator(D);
    rows.add(x.subarray(0, 40 * D), 40, keep);
    rows.add(x.subarray(40 * D), n - 40, (r) => keep(r + 40));
    const byRows = rows.result();

    const chunks = new MomentAccumulator(D);
    chunks.setShift(x.subarray(0, D));
    for (let s = 0; s < n; s += 32) {
      const sum = new Float64Array(D);
      const outer = new Float64Array(D * D);
      let count = 0;
      for (let r = s; r < Math.min(n, s + 32); r++) {
        if (!keep(r)) continue;
        count++;
        for (let i = 0; i < D; i++) {
          sum[i] += x[r * D + i] - x[i];
          for (let j = 0; j < D; j++) outer[i * D + j] += (x[r * D + i] - x[i]) * (x[r * D + j] - x[j]);
        }
      }
      chunks.addTotals(count, sum, outer);
    }
    const byChunks = chunks.result();
    const scale = Math.max(...want.cov.map(Math.abs));
    for (const got of [byRows, byChunks]) {
      expect(maxDiff(got.mean, want.mean)).toBeLessThan(1e-9);
      expect(maxDiff(got.cov, want.cov) / scale).toBeLessThan(1e-12);
    }
    expect(rows.count).toBe(kept.length / D);
    expect(() => new MomentAccumulator(2).result()).toThrow('no vectors');
  });
});

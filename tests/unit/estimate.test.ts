import { describe, it, expect } from 'vitest';
import { bridgeParameterCount, compositionEstimate } from '../../src/calm/estimate';
import type { GPT2Config } from '../../src/model/gpt2';

const cfg = (nEmbd: number, nLayer: number): GPT2Config => ({
  modelType: 'gpt2',
  vocabSize: 50,
  nPositions: 32,
  nEmbd,
  nLayer,
  nHead: 2,
  layerNormEpsilon: 1e-5,
  activation: 'gelu_new',
});

describe('bridgeParameterCount', () => {
  it('counts proj, q/k/v/o and the RMSNorm scale', () => {
    // D_a 8, D_g 6: proj 6·8 + 8 = 56; q/k/v/o 4·(64 + 8) = 288
    expect(bridgeParameterCount(8, 6, 'zero-init')).toBe(344);
    expect(bridgeParameterCount(8, 6, 'rmsnorm')).toBe(352);
    // the golden bundle-zero bridge: 40·48 + 48 + 4·(48² + 48) = 1968 + 9408
    expect(bridgeParameterCount(48, 40, 'zero-init')).toBe(11376);
  });
});

describe('compositionEstimate', () => {
  it('matches a hand-computed small case', () => {
    const e = compositionEstimate(
      { connections: [[0, 1], [2, 1]], numHeads: 2, output: 'zero-init' },
      cfg(8, 3),
      cfg(6, 2),
      { batch: 3, T: 5, numExamples: 10 },
    );
    expect(e.bridges).toBe(2);
    expect(e.perBridge).toBe(344);
    expect(e.trainableParameters).toBe(688);
    expect(e.bridgeBytes).toBe(688 * 4);
    expect(e.adamStateBytes).toBe(2 * 688 * 4);
    // per bridge: K, V, Q, output 4·B·T·D_a = 480; scores B·h·T² = 150 → 630 floats; two bridges
    expect(e.activationBytesPerStep).toBe(2 * 630 * 4);
    // one distinct augment layer [T, D_g] = 30, anchor stream [T, D_a] = 40 → 70 floats per example
    expect(e.cacheBytesPerExample).toBe(280);
    expect(e.cacheBytes).toBe(2800);
  });

  it('caches each distinct augment layer once', () => {
    const e = compositionEstimate(
      { connections: [[0, 1], [2, 0], [2, 1]], numHeads: 4, output: 'rmsnorm' },
      cfg(8, 3),
      cfg(6, 2),
      { batch: 1, T: 4 },
    );
    expect(e.trainableParameters).toBe(3 * 352);
    expect(e.cacheBytesPerExample).toBe((2 * 4 * 6 + 4 * 8) * 4);
    expect(e.cacheBytes).toBe(e.cacheBytesPerExample); // numExamples defaults to 1
    expect(e.activationBytesPerStep).toBe(3 * (4 * 4 * 8 + 4 * 16) * 4);
  });
});

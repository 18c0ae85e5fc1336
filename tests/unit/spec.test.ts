// The composition spec (src/calm/spec.ts, docs/design.md § Spec): its defaults, its checks, its
// composition.json form, and the sizes it implies.
import { describe, it, expect } from 'vitest';
import {
  PLAIN_BRIDGE,
  SPEC_DEFAULTS,
  bridgeParameterCount,
  bridgeShapes,
  compositionEstimate,
  headChoices,
  resolveSpec,
  specFromJson,
  specToJson,
  type CompositionSpec,
  type SpecJson,
} from '../../src/calm/spec';
import { readBundleManifest, manifestJson } from '../../src/calm/bundle-manifest';
import { CompositionError } from '../../src/calm/errors';
import type { GPT2Config as GPTConfig } from '../../src/model/gpt2';

const cfg = (nEmbd: number, nLayer: number, nHead = 2): GPTConfig => ({
  modelType: 'gpt2',
  vocabSize: 50,
  nPositions: 32,
  nEmbd,
  nLayer,
  nHead,
  layerNormEpsilon: 1e-5,
  activation: 'gelu_new',
});
const MODELS = { anchor: cfg(8, 3, 4), augment: cfg(6, 2) };

function errorOf(f: () => unknown): CompositionError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(CompositionError);
    return e as CompositionError;
  }
  throw new Error('expected a CompositionError');
}

describe('SPEC_DEFAULTS and resolveSpec', () => {
  it('fills every field the settings leave out from SPEC_DEFAULTS, reading connections against the models', () => {
    const r = resolveSpec({}, MODELS);
    // -1:f = the anchor's embedding output ← the augmenting model's final norm output (layer N = 2)
    expect(r).toEqual({
      connections: [[-1, 2]],
      numHeads: 4, // the anchor's
      output: SPEC_DEFAULTS.output,
      positionBias: SPEC_DEFAULTS.positionBias,
      positionInit: SPEC_DEFAULTS.positionInit,
      inputNorm: SPEC_DEFAULTS.inputNorm,
      queryNorm: SPEC_DEFAULTS.queryNorm,
      valueGate: SPEC_DEFAULTS.valueGate,
    });
    // the recipe's composition: every option on
    expect([SPEC_DEFAULTS.positionBias, SPEC_DEFAULTS.inputNorm, SPEC_DEFAULTS.queryNorm, SPEC_DEFAULTS.valueGate]).toEqual([4, 'whiten', true, true]);
  });

  it('keeps what the settings give, off included', () => {
    const r = resolveSpec({ connections: 'uniform:2', numHeads: 2, output: 'rmsnorm', ...PLAIN_BRIDGE, positionInit: 1.5 }, MODELS);
    expect(r).toEqual({ connections: [[0, 0], [2, 1]], numHeads: 2, output: 'rmsnorm', ...PLAIN_BRIDGE, positionInit: 1.5 });
    // numHeads 0 means the anchor's
    expect(resolveSpec({ numHeads: 0 }, MODELS).numHeads).toBe(4);
    // pairs need no models; the result does not alias the input
    const pairs: [number, number][] = [[0, 1]];
    const free = resolveSpec({ connections: pairs, numHeads: 2 });
    expect(free.connections).toEqual([[0, 1]]);
    expect(free.connections[0]).not.toBe(pairs[0]);
  });

  it('refuses bad settings with one line naming the field', () => {
    const cases: [unknown, RegExp][] = [
      [{ output: 'linear' }, /^output must be "zero-init" or "rmsnorm", found "linear"$/],
      [{ inputNorm: 'pca' }, /^inputNorm must be "none" or "whiten", found "pca"$/],
      [{ positionBias: -1 }, /^positionBias must be an integer from 0 to 4096, found -1$/],
      [{ positionBias: 2.5 }, /^positionBias must be an integer/],
      [{ positionInit: 'x' }, /^positionInit must be a finite number, found "x"$/],
      [{ queryNorm: 'yes' }, /^queryNorm must be true or false, found "yes"$/],
      [{ valueGate: 1 }, /^valueGate must be true or false, found 1$/],
      [{ numHeads: -2 }, /^numHeads must be an integer from 0/],
      [{ connections: [[0]] }, /^connections must be text like -1:f or a list of \[anchorLayer, augmentLayer\] pairs/],
      [{ connections: 7 }, /^connections must be text/],
    ];
    for (const [s, message] of cases) {
      const e = errorOf(() => resolveSpec(s as never, MODELS));
      expect(e.code).toBe('bad-spec');
      expect(e.message).toMatch(message);
      expect(e.message).not.toContain('\n');
    }
    // against the models: a layer they lack, heads that do not divide D_a
    expect(errorOf(() => resolveSpec({ connections: [[3, 0]] }, MODELS)).code).toBe('layer-out-of-range');
    expect(errorOf(() => resolveSpec({ connections: '0:9' }, MODELS)).code).toBe('layer-out-of-range');
    expect(errorOf(() => resolveSpec({ numHeads: 3 }, MODELS)).code).toBe('bad-heads');
    // without models: text connections and the anchor's heads cannot be known
    expect(errorOf(() => resolveSpec({ numHeads: 2 })).message).toMatch(/can only be read against the two models/);
    expect(errorOf(() => resolveSpec({ connections: [[0, 0]] })).message).toMatch(/numHeads must be given/);
  });
});

describe('composition.json', () => {
  const ALL_ON: CompositionSpec = { connections: [[-1, 2], [1, 0]], numHeads: 2, output: 'rmsnorm', positionBias: 3, inputNorm: 'whiten', queryNorm: true, valueGate: true };
  const ALL_OFF: CompositionSpec = { connections: [[0, 0]], numHeads: 4, output: 'zero-init', ...PLAIN_BRIDGE };

  it('writes options that are on and leaves out those that are off', () => {
    expect(specToJson(ALL_ON)).toEqual({ connections: [[-1, 2], [1, 0]], num_heads: 2, output: 'rmsnorm', position_bias: 3, input_norm: 'whiten', query_norm: true, value_gate: true });
    expect(specToJson(ALL_OFF)).toEqual({ connections: [[0, 0]], num_heads: 4, output: 'zero-init' });
  });

  it('round-trips, and an absent option reads as off (bundles written before it existed)', () => {
    for (const spec of [ALL_ON, ALL_OFF, { ...ALL_OFF, valueGate: true }, { ...ALL_ON, positionBias: 0, queryNorm: false }]) {
      expect(specFromJson(specToJson(spec))).toEqual(spec);
      // through the manifest's text and its checks too
      const meta = { anchor: { id: 'a', n_layer: 3, n_embd: 8, vocab_size: 50 }, augment: { id: 'g', n_layer: 2, n_embd: 6, vocab_size: 50 } };
      expect(specFromJson(readBundleManifest(manifestJson(spec, meta)))).toEqual(spec);
    }
    const old: SpecJson = { connections: [[0, 1]], num_heads: 2, output: 'zero-init' };
    expect(specFromJson(old)).toEqual({ connections: [[0, 1]], numHeads: 2, output: 'zero-init', ...PLAIN_BRIDGE });
  });

  it('reads an option written as off ("none", false, 0) as absent', () => {
    const text = JSON.stringify({
      format: 'calm-playground/composition@1',
      anchor: { id: 'a', n_layer: 3, n_embd: 8, vocab_size: 50 },
      augment: { id: 'g', n_layer: 2, n_embd: 6, vocab_size: 50 },
      connections: [[0, 1]],
      num_heads: 2,
      output: 'zero-init',
      position_bias: 0,
      input_norm: 'none',
      query_norm: false,
      value_gate: false,
    });
    const m = readBundleManifest(text);
    expect(['position_bias', 'input_norm', 'query_norm', 'value_gate'].filter((k) => k in m)).toEqual([]);
    expect(specFromJson(m)).toEqual({ connections: [[0, 1]], numHeads: 2, output: 'zero-init', ...PLAIN_BRIDGE });
  });
});

describe('bridgeParameterCount', () => {
  it('counts proj, q/k/v/o, the RMSNorm scale and each option', () => {
    const plain = { numHeads: 2, ...PLAIN_BRIDGE };
    // D_a 8, D_g 6: proj 6·8 + 8 = 56; q/k/v/o 4·(64 + 8) = 288
    expect(bridgeParameterCount({ ...plain, output: 'zero-init' }, 8, 6)).toEqual({ trainable: 344, frozen: 0 });
    expect(bridgeParameterCount({ ...plain, output: 'rmsnorm' }, 8, 6)).toEqual({ trainable: 352, frozen: 0 });
    // the golden bundle-zero bridge: 40·48 + 48 + 4·(48² + 48) = 1968 + 9408
    expect(bridgeParameterCount({ ...plain, output: 'zero-init' }, 48, 40).trainable).toBe(11376);
    // position bias h·R, value gate D_a·h + h (trainable); whitening D_g + D_g² (frozen); query norm nothing
    const z = { ...plain, output: 'zero-init' as const };
    expect(bridgeParameterCount({ ...z, positionBias: 4 }, 8, 6).trainable).toBe(344 + 2 * 4);
    expect(bridgeParameterCount({ ...z, valueGate: true }, 8, 6).trainable).toBe(344 + 8 * 2 + 2);
    expect(bridgeParameterCount({ ...z, inputNorm: 'whiten' }, 8, 6)).toEqual({ trainable: 344, frozen: 6 + 36 });
    expect(bridgeParameterCount({ ...z, queryNorm: true }, 8, 6)).toEqual({ trainable: 344, frozen: 0 });
  });

  it('is the sum of bridgeShapes', () => {
    const spec = { numHeads: 4, output: 'rmsnorm' as const, positionBias: 3, inputNorm: 'whiten' as const, queryNorm: true, valueGate: true };
    const shapes = bridgeShapes(spec, 8, 6);
    expect(shapes.posBias).toEqual([4, 3]);
    expect(shapes.gateW).toEqual([8, 4]);
    expect(shapes.inWhiten).toEqual([6, 6]);
    const all = Object.values(shapes).reduce((n, s) => n + s!.reduce((a, b) => a * b, 1), 0);
    const c = bridgeParameterCount(spec, 8, 6);
    expect(c.trainable + c.frozen).toBe(all);
  });
});

describe('compositionEstimate', () => {
  it('matches a hand-computed small case', () => {
    const e = compositionEstimate({ connections: [[0, 1], [2, 1]], numHeads: 2, output: 'zero-init', ...PLAIN_BRIDGE }, cfg(8, 3), cfg(6, 2), {
      batch: 3,
      T: 5,
      numExamples: 10,
    });
    expect(e.bridges).toBe(2);
    expect(e.perBridge).toBe(344);
    expect(e.trainableParameters).toBe(688);
    expect(e.bridgeBytes).toBe(688 * 4);
    expect(e.frozenBytes).toBe(0);
    expect(e.adamStateBytes).toBe(2 * 688 * 4);
    // per bridge: K, V, Q, output 4·B·T·D_a = 480; scores B·h·T² = 150 → 630 floats; two bridges
    expect(e.activationBytesPerStep).toBe(2 * 630 * 4);
    // one distinct augment layer [T, D_g] = 30, anchor stream [T, D_a] = 40 → 70 floats per example
    expect(e.cacheBytesPerExample).toBe(280);
    expect(e.cacheBytes).toBe(2800);
  });

  it('caches each distinct augment layer once, and counts the options', () => {
    const e = compositionEstimate(
      { connections: [[0, 1], [2, 0], [2, 1]], numHeads: 4, output: 'rmsnorm', positionBias: 2, inputNorm: 'whiten', queryNorm: true, valueGate: true },
      cfg(8, 3),
      cfg(6, 2),
      { batch: 1, T: 4 },
    );
    expect(e.trainableParameters).toBe(3 * (352 + 4 * 2 + 8 * 4 + 4));
    expect(e.frozenBytes).toBe(3 * (6 + 36) * 4);
    expect(e.cacheBytesPerExample).toBe((2 * 4 * 6 + 4 * 8) * 4);
    expect(e.cacheBytes).toBe(e.cacheBytesPerExample); // numExamples defaults to 1
    expect(e.activationBytesPerStep).toBe(3 * (4 * 4 * 8 + 4 * 16) * 4);
  });

  it('refuses a batch or length that is not a non-negative integer', () => {
    const spec = { connections: [[0, 0]] as [number, number][], numHeads: 2, output: 'zero-init' as const, ...PLAIN_BRIDGE };
    expect(() => compositionEstimate(spec, cfg(8, 3), cfg(6, 2), { batch: -1, T: 4 })).toThrow(/batch must be a non-negative integer/);
    expect(() => compositionEstimate(spec, cfg(8, 3), cfg(6, 2), { batch: 1, T: 1.5 })).toThrow(/T must be a non-negative integer/);
  });
});

describe('headChoices', () => {
  it('lists the divisors of the anchor width', () => {
    expect(headChoices(12)).toEqual([1, 2, 3, 4, 6, 12]);
  });
});

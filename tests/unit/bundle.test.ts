import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  bridgesFromRaw,
  disposeBridges,
  exportBundle,
  parseBundle,
  readBundleManifest,
  type BundleMeta,
} from '../../src/calm/bundle';
import { CompositionError, type CompositionErrorCode } from '../../src/calm/errors';
import { BRIDGE_TENSORS, type BridgeWeights } from '../../src/calm/types';
import { PLAIN_BRIDGE, bridgeParameterCount, type CompositionSpec } from '../../src/calm/spec';
import { parseSafetensors, writeSafetensors } from '../../src/io/safetensors';
import type { GPT2Config } from '../../src/model/gpt2';
import { tf, useBackend } from '../../src/model/tf';

const GOLDEN = join(__dirname, '../golden/calm-tiny');

const cfg = (nEmbd: number, nLayer: number, nHead: number): GPT2Config => ({
  modelType: 'gpt2',
  vocabSize: 50,
  nPositions: 32,
  nEmbd,
  nLayer,
  nHead,
  layerNormEpsilon: 1e-5,
  activation: 'gelu_new',
});
// tests/golden/gpt2-tiny and gpt2-tiny-aug
const DIMS = { anchor: cfg(48, 2, 4), augment: cfg(40, 3, 5) };

function golden(name: 'bundle-zero' | 'bundle-rms' | 'bundle-gated'): { composition: string; bridge: Uint8Array } {
  return {
    composition: readFileSync(join(GOLDEN, name, 'composition.json'), 'utf8'),
    bridge: new Uint8Array(readFileSync(join(GOLDEN, name, 'bridge.safetensors'))),
  };
}

/** Random bridges in [in, out] layout: D_a, D_g, one per connection. */
function randomBridges(Da: number, Dg: number, n: number, output: CompositionSpec['output']): BridgeWeights[] {
  let seed = 1;
  const v = (shape: number[]) => tf.variable(tf.randomNormal(shape, 0, 1, 'float32', seed++));
  return Array.from({ length: n }, () => {
    const b: BridgeWeights = {
      projW: v([Dg, Da]),
      projB: v([Da]),
      qW: v([Da, Da]),
      qB: v([Da]),
      kW: v([Da, Da]),
      kB: v([Da]),
      vW: v([Da, Da]),
      vB: v([Da]),
      oW: v([Da, Da]),
      oB: v([Da]),
    };
    if (output === 'rmsnorm') b.normW = v([Da]);
    return b;
  });
}

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

/** The one-line CompositionError that `f` throws. */
function thrown(f: () => unknown, code: CompositionErrorCode): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(CompositionError);
    expect((e as CompositionError).code).toBe(code);
    expect((e as Error).message).not.toContain('\n');
    return (e as Error).message;
  }
  throw new Error('expected a CompositionError');
}

/** The one-line CompositionError that the promise of `f` rejects with. */
async function rejected(f: () => Promise<unknown>, code: CompositionErrorCode): Promise<string> {
  try {
    await f();
  } catch (e) {
    return thrown(() => {
      throw e;
    }, code);
  }
  throw new Error('expected a CompositionError');
}

beforeAll(async () => {
  await useBackend('cpu');
});

describe('exportBundle → parseBundle', () => {
  const Da = 6;
  const Dg = 4;
  const meta: BundleMeta = {
    anchor: { id: 'anchor-x', n_layer: 3, n_embd: Da, vocab_size: 50 },
    augment: { path: 'models/aug', n_layer: 2, n_embd: Dg, vocab_size: 50 },
    training: { steps: 10, lr: 1e-3, batch: 4, seed: 7, task: 'kv', seconds: 1.5 },
    metrics: { loss: 0.25 },
  };

  for (const output of ['zero-init', 'rmsnorm'] as const) {
    it(`round-trips ${output} bridges bit for bit`, async () => {
      const spec: CompositionSpec = { connections: [[-1, 1], [2, 0]], numHeads: 3, output, ...PLAIN_BRIDGE };
      const bridges = randomBridges(Da, Dg, 2, output);
      const files = await exportBundle(spec, bridges, meta);

      const doc = JSON.parse(files['composition.json']);
      expect(doc).toEqual({
        format: 'calm-playground/composition@1',
        anchor: meta.anchor,
        augment: meta.augment,
        connections: [[-1, 1], [2, 0]],
        num_heads: 3,
        output,
        training: meta.training,
        metrics: meta.metrics,
      });
      expect(files['composition.json']).toContain('"connections": [[-1,1],[2,0]]');

      const back = parseBundle({ composition: files['composition.json'], bridge: files['bridge.safetensors'] }, {
        anchor: cfg(Da, 3, 2),
        augment: cfg(Dg, 2, 2),
      });
      expect(back.spec).toEqual(spec);
      expect(back.bridges).toHaveLength(2);
      back.bridges.forEach((raw, k) => {
        for (const t of BRIDGE_TENSORS) {
          const v = bridges[k][t.field];
          const r = raw[t.field];
          if (v === undefined) {
            expect(r).toBeUndefined();
            continue;
          }
          expect(r!.shape).toEqual(v.shape);
          expect(bits(r!.data)).toEqual(bits(v.dataSync() as Float32Array));
        }
      });
      disposeBridges(bridges);
    });
  }

  it('writes linear weights in nn.Linear layout [out, in]', async () => {
    const spec: CompositionSpec = { connections: [[0, 0]], numHeads: 2, output: 'zero-init', ...PLAIN_BRIDGE };
    const bridges = randomBridges(Da, Dg, 1, 'zero-init');
    const st = parseSafetensors((await exportBundle(spec, bridges, meta))['bridge.safetensors'], 'x');
    expect(st.metadata).toEqual({ format: 'pt' });
    const proj = st.tensors.get('bridges.0.proj.weight')!;
    expect(proj.shape).toEqual([Da, Dg]); // [out, in]; BridgeWeights holds [D_g, D_a]
    const w = bridges[0].projW.dataSync();
    for (let i = 0; i < Dg; i++) for (let o = 0; o < Da; o++) expect(proj.data[o * Dg + i]).toBe(w[i * Da + o]);
    const q = st.tensors.get('bridges.0.attn.q.weight')!;
    const qw = bridges[0].qW.dataSync();
    expect(q.data[1 * Da + 4]).toBe(qw[4 * Da + 1]);
    expect(q.data[1 * Da + 4]).not.toBe(qw[1 * Da + 4]);
    expect(st.tensors.get('bridges.0.proj.bias')!.shape).toEqual([Da]);
    expect(st.tensors.has('bridges.0.norm.weight')).toBe(false);
    disposeBridges(bridges);
  });

  it('refuses bridges that do not fit the spec', async () => {
    const spec: CompositionSpec = { connections: [[0, 0], [1, 1]], numHeads: 2, output: 'zero-init', ...PLAIN_BRIDGE };
    const one = randomBridges(Da, Dg, 1, 'zero-init');
    expect(await rejected(() => exportBundle(spec, one, meta), 'bad-bridges')).toContain('1 bridges for 2 connections');
    const rms = randomBridges(Da, Dg, 2, 'rmsnorm');
    expect(await rejected(() => exportBundle(spec, rms, meta), 'bad-bridges')).toContain('norm.weight');
    const zero = randomBridges(Da, Dg, 2, 'zero-init');
    expect(await rejected(() => exportBundle({ ...spec, output: 'rmsnorm' }, zero, meta), 'bad-bridges')).toContain('normW');
    zero[1].oB.assign(tf.fill([Da], NaN));
    expect(await rejected(() => exportBundle(spec, zero, meta), 'non-finite')).toContain('bridges.1.attn.o.bias');
    await rejected(() => exportBundle(spec, zero, { ...meta, anchor: { n_layer: 3, n_embd: Da, vocab_size: 50 } }), 'bad-manifest');
    for (const b of [one, rms, zero]) disposeBridges(b);
  });

  it('makes trainable variables from raw data and disposes them', async () => {
    const spec: CompositionSpec = { connections: [[0, 0]], numHeads: 2, output: 'rmsnorm', ...PLAIN_BRIDGE };
    const src = randomBridges(Da, Dg, 1, 'rmsnorm');
    const files = await exportBundle(spec, src, meta);
    const { bridges: raw } = parseBundle({ composition: files['composition.json'], bridge: files['bridge.safetensors'] });
    const vars = bridgesFromRaw(raw);
    expect(vars[0].normW!.trainable).toBe(true);
    expect(vars[0].projW.shape).toEqual([Dg, Da]);
    expect(bits(vars[0].qW.dataSync() as Float32Array)).toEqual(bits(src[0].qW.dataSync() as Float32Array));
    disposeBridges(vars);
    expect(vars[0].projW.isDisposed).toBe(true);
    expect(vars[0].normW!.isDisposed).toBe(true);
    disposeBridges(src);
  });
});

describe('bridge options (input_norm, query_norm, value_gate)', () => {
  it('round-trip through export and import, the frozen statistics included and not trainable', async () => {
    const g = parseBundle(golden('bundle-gated'), DIMS);
    expect(g.spec).toEqual({ connections: [[-1, 3], [1, 2]], numHeads: 4, output: 'zero-init', positionBias: 3, inputNorm: 'whiten', queryNorm: true, valueGate: true });
    expect(g.manifest).toMatchObject({ input_norm: 'whiten', query_norm: true, value_gate: true, position_bias: 3 });
    expect(g.bridges[0].inWhiten!.shape).toEqual([40, 40]);
    expect(g.bridges[0].gateW!.shape).toEqual([48, 4]); // [D_a, h]; the file holds [h, D_a]
    const vars = bridgesFromRaw(g.bridges);
    expect(vars[0].inMean!.trainable).toBe(false);
    expect(vars[0].inWhiten!.trainable).toBe(false);
    expect(vars[0].gateW!.trainable).toBe(true);
    const files = await exportBundle(g.spec, vars, { anchor: g.manifest.anchor, augment: g.manifest.augment });
    const doc = JSON.parse(files['composition.json']);
    expect([doc.input_norm, doc.query_norm, doc.value_gate]).toEqual(['whiten', true, true]);
    const back = parseBundle({ composition: files['composition.json'], bridge: files['bridge.safetensors'] }, DIMS);
    expect(back.spec).toEqual(g.spec);
    for (const [k, b] of back.bridges.entries()) {
      for (const t of BRIDGE_TENSORS) {
        expect(b[t.field] === undefined, t.name).toBe(g.bridges[k][t.field] === undefined);
        if (b[t.field]) expect(bits(b[t.field]!.data), t.name).toEqual(bits(g.bridges[k][t.field]!.data));
      }
    }
    // the same file in the golden folder, tensor for tensor
    const st = parseSafetensors(golden('bundle-gated').bridge, 'x').tensors;
    const ours = parseSafetensors(files['bridge.safetensors'], 'y').tensors;
    expect([...ours.keys()].sort()).toEqual([...st.keys()].sort());
    disposeBridges(vars);
  });

  it('absent fields mean off, and "none" is written as nothing', () => {
    const m = readBundleManifest(JSON.stringify({ ...JSON.parse(golden('bundle-zero').composition), input_norm: 'none', query_norm: false }));
    expect('input_norm' in m || 'query_norm' in m || 'value_gate' in m).toBe(false);
    expect(parseBundle(golden('bundle-zero'), DIMS).spec).toEqual({ connections: [[0, 2], [1, 1], [1, 0]], numHeads: 4, output: 'zero-init', ...PLAIN_BRIDGE });
  });
});

describe('golden bundles (PyTorch)', () => {
  it('parse with the dims of gpt2-tiny / gpt2-tiny-aug', () => {
    const zero = parseBundle(golden('bundle-zero'), DIMS);
    expect(zero.spec).toEqual({ connections: [[0, 2], [1, 1], [1, 0]], numHeads: 4, output: 'zero-init', ...PLAIN_BRIDGE });
    expect(zero.manifest.anchor.path).toBe('../../gpt2-tiny');
    expect(zero.bridges[2].normW).toBeUndefined();
    expect(zero.bridges[0].projW.shape).toEqual([40, 48]);

    const rms = parseBundle(golden('bundle-rms'), DIMS);
    expect(rms.spec).toEqual({ connections: [[-1, 2], [1, 2]], numHeads: 2, output: 'rmsnorm', ...PLAIN_BRIDGE });
    expect(rms.bridges[1].normW!.shape).toEqual([48]);

    // the import transposes [out, in] → [in, out]
    const st = parseSafetensors(golden('bundle-zero').bridge, 'x');
    const file = st.tensors.get('bridges.1.proj.weight')!.data; // [48, 40]
    const mine = zero.bridges[1].projW.data; // [40, 48]
    for (let o = 0; o < 48; o += 7) for (let i = 0; i < 40; i += 3) expect(mine[i * 48 + o]).toBe(file[o * 40 + i]);

    // the estimate's parameter count agrees with what PyTorch wrote
    for (const [b, output] of [[zero.bridges[0], 'zero-init'], [rms.bridges[0], 'rmsnorm']] as const) {
      const count = Object.values(b).reduce((n, w) => n + (w === undefined ? 0 : w.data.length), 0);
      expect(count).toBe(bridgeParameterCount({ numHeads: 4, output, ...PLAIN_BRIDGE }, 48, 40).trainable);
    }
  });

  it('re-export to the same tensors, bit for bit', async () => {
    for (const name of ['bundle-zero', 'bundle-rms'] as const) {
      const files = golden(name);
      const { manifest, spec, bridges: raw } = parseBundle(files, DIMS);
      const vars = bridgesFromRaw(raw);
      const out = await exportBundle(spec, vars, manifest);
      disposeBridges(vars);
      const a = parseSafetensors(files.bridge, 'golden').tensors;
      const b = parseSafetensors(out['bridge.safetensors'], 'mine').tensors;
      expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
      for (const [k, t] of a) {
        expect(b.get(k)!.shape).toEqual(t.shape);
        expect(bits(b.get(k)!.data as Float32Array)).toEqual(bits(t.data as Float32Array));
      }
      expect(JSON.parse(out['composition.json'])).toEqual(JSON.parse(files.composition));
    }
  });
});

describe('malformed bundles', () => {
  /** bundle-zero with its manifest and tensors edited. */
  function edited(
    editJson: (o: Record<string, unknown>) => void,
    editTensors: (t: Record<string, { shape: number[]; data: Float32Array }>) => void = () => {},
    name: 'bundle-zero' | 'bundle-rms' | 'bundle-gated' = 'bundle-zero',
  ): { composition: string; bridge: Uint8Array } {
    const g = golden(name);
    const doc = JSON.parse(g.composition);
    editJson(doc);
    const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (const [k, t] of parseSafetensors(g.bridge, 'x').tensors) tensors[k] = { shape: t.shape, data: Float32Array.from(t.data) };
    editTensors(tensors);
    return { composition: JSON.stringify(doc), bridge: writeSafetensors(tensors) };
  }
  const noop = () => {};
  const parse = (f: { composition: string; bridge: Uint8Array }) => () => parseBundle(f, DIMS);

  it('missing tensor', () => {
    const f = edited(noop, (t) => delete t['bridges.1.attn.q.weight']);
    expect(thrown(parse(f), 'missing-tensor')).toBe(
      'bridge.safetensors: tensor "bridges.1.attn.q.weight" of bridge 1 (connection [1, 1]) is missing',
    );
    const r = edited(noop, (t) => delete t['bridges.0.norm.weight'], 'bundle-rms');
    expect(thrown(parse(r), 'missing-tensor')).toContain('"bridges.0.norm.weight"');
  });

  it('a tensor that input_norm or value_gate needs is missing, misshapen or left over', () => {
    const f = edited(noop, (t) => delete t['bridges.1.in.whiten'], 'bundle-gated');
    expect(thrown(parse(f), 'missing-tensor')).toBe(
      'bridge.safetensors: tensor "bridges.1.in.whiten" of bridge 1 (connection [1, 2]) is missing; input_norm "whiten" needs it',
    );
    const g = edited(noop, (t) => delete t['bridges.0.attn.gate.bias'], 'bundle-gated');
    expect(thrown(parse(g), 'missing-tensor')).toContain('"bridges.0.attn.gate.bias" of bridge 0 (connection [-1, 3]) is missing; value_gate needs it');
    const w = edited(noop, (t) => (t['bridges.0.in.whiten'].shape = [40, 40, 1]), 'bundle-gated');
    expect(thrown(parse(w), 'bad-shape')).toBe(
      'bridge.safetensors: tensor "bridges.0.in.whiten" has shape [40, 40, 1], expected [40, 40] (D_a 48, D_g 40)',
    );
    // the flag off, the tensors still there: refused by name
    const off = edited((o) => delete o.value_gate, noop, 'bundle-gated');
    expect(thrown(parse(off), 'unexpected-tensor')).toMatch(/^bridge\.safetensors: unexpected tensor "bridges\.0\.attn\.gate\.(weight|bias)": .*input_norm whiten, query_norm true$/);
    const bad = edited((o) => (o.input_norm = 'zca'), noop, 'bundle-gated');
    expect(thrown(parse(bad), 'bad-manifest')).toContain('input_norm');
    const flag = edited((o) => (o.query_norm = 'yes'), noop, 'bundle-gated');
    expect(thrown(parse(flag), 'bad-manifest')).toContain('query_norm');
  });

  it('wrong shape', () => {
    const f = edited(noop, (t) => {
      t['bridges.0.proj.weight'].shape = [40, 48];
    });
    expect(thrown(parse(f), 'bad-shape')).toBe(
      'bridge.safetensors: tensor "bridges.0.proj.weight" has shape [40, 48], expected [48, 40] (nn.Linear [out, in] with D_a 48, D_g 40)',
    );
  });

  it('extra tensor', () => {
    const f = edited(noop, (t) => {
      t['bridges.3.proj.bias'] = { shape: [48], data: new Float32Array(48) };
    });
    expect(thrown(parse(f), 'unexpected-tensor')).toContain('unexpected tensor "bridges.3.proj.bias"');
    const n = edited(noop, (t) => {
      t['bridges.0.norm.weight'] = { shape: [48], data: new Float32Array(48) };
    });
    expect(thrown(parse(n), 'unexpected-tensor')).toContain('output zero-init');
  });

  it('bad format string', () => {
    const f = edited((o) => {
      o.format = 'calm-playground/composition@2';
    });
    expect(thrown(parse(f), 'bad-format')).toContain('format is "calm-playground/composition@2"');
    expect(thrown(() => readBundleManifest('{"anchor": 1}'), 'bad-format')).toContain('format is missing');
    thrown(() => readBundleManifest('{oops'), 'bad-json');
  });

  it('connection out of range', () => {
    const f = edited((o) => {
      (o.connections as number[][])[2] = [2, 0];
    });
    expect(thrown(parse(f), 'layer-out-of-range')).toBe(
      'composition.json: connection 2 points at anchor layer 2 but the anchor has 2 blocks (0–1, or -1 for the embedding output)',
    );
  });

  it('heads not dividing D_a', () => {
    const f = edited((o) => {
      o.num_heads = 5;
    });
    expect(thrown(parse(f), 'bad-heads')).toContain('num_heads 5 does not divide the anchor width 48');
  });

  it('NaN', () => {
    const f = edited(noop, (t) => {
      t['bridges.2.attn.o.bias'].data[7] = NaN;
    });
    expect(thrown(parse(f), 'non-finite')).toBe(
      'bridge.safetensors: tensor "bridges.2.attn.o.bias" holds NaN at index 7; bridge weights must be finite',
    );
  });

  it('a manifest field of the wrong type, and models that do not match', () => {
    const f = edited((o) => {
      (o.augment as Record<string, unknown>).n_layer = 'three';
    });
    expect(thrown(parse(f), 'bad-manifest')).toBe('composition.json: augment.n_layer must be an integer, found "three"');
    const g = golden('bundle-zero');
    expect(thrown(() => parseBundle(g, { ...DIMS, anchor: cfg(64, 2, 4) }), 'model-mismatch')).toBe(
      'composition.json: anchor.n_embd is 48 but the anchor has n_embd 64: the bundle was made for a different anchor model',
    );
    expect(thrown(() => parseBundle(g, { ...DIMS, augment: { ...cfg(40, 3, 5), vocabSize: 51 } }), 'model-mismatch')).toContain(
      'augment.vocab_size is 50 but the augmenting model has vocab_size 51',
    );
  });
});

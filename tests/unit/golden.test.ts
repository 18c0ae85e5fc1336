// The GPT-2 forward pass against an independent PyTorch implementation (tests/golden):
// logits and the residual stream after every block, within 1e-4 absolute; and the bridges'
// optional parts (input whitening, query norm, value gate) on calm-tiny/bundle-gated.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tf, useBackend } from '../../src/model/tf';
import { disposeResult } from '../../src/model/causal-lm';
import { modelFromTensors, parseConfig } from '../../src/io/model-folder';
import { parseSafetensors } from '../../src/io/safetensors';
import { BRIDGE_FILE, COMPOSITION_FILE, bridgesFromRaw, disposeBridges, parseBundle } from '../../src/calm/bundle';
import { Composition, composedDecoder } from '../../src/calm/compose';
import { needsInputStats } from '../../src/calm/bridge';
import { GOLDEN_DIR, loadGoldenModel, maxAbsDiff } from './helpers/golden';

const TOLERANCE = 1e-4;
const loaded: ReturnType<typeof loadGoldenModel>[] = [];

beforeAll(async () => {
  await useBackend('wasm');
});

afterAll(() => loaded.forEach((m) => m.gpt.dispose()));

describe.each(['gpt2-tiny', 'gpt2-tiny-untied'])('%s against PyTorch', (name) => {
  it('gives the golden logits and hidden states within 1e-4', () => {
    const m = loadGoldenModel(name);
    loaded.push(m);
    const { gpt, golden, config } = m;
    const B = golden.ids.length;
    const T = golden.ids[0].length;
    const taps = Array.from({ length: config.nLayer }, (_, i) => i);
    const ids = tf.tensor2d(golden.ids, [B, T], 'int32');
    const r = gpt.forward(ids, { taps });
    ids.dispose();
    expect(r.logits!.shape).toEqual([B, T, config.vocabSize]);
    const logitsErr = maxAbsDiff(r.logits!.arraySync(), golden.logits);
    const hiddenErr = taps.map((i) => maxAbsDiff(r.hidden.get(i)!.arraySync(), golden.hidden[i]));
    disposeResult(r);
    console.info(`${name}: max |logits - golden| = ${logitsErr.toExponential(2)}, hidden per block = ${hiddenErr.map((e) => e.toExponential(2)).join(', ')}`);
    expect(golden.hidden.length).toBe(config.nLayer);
    expect(logitsErr).toBeLessThan(TOLERANCE);
    hiddenErr.forEach((e) => expect(e).toBeLessThan(TOLERANCE));
  });
});

describe('calm-tiny/bundle-gated (input whitening, query norm, value gate, position bias) against PyTorch', () => {
  it('gives the golden composed logits within 1e-4, in one pass and decoding token by token', () => {
    const anchor = loadGoldenModel('gpt2-tiny');
    loaded.push(anchor);
    const augDir = join(GOLDEN_DIR, 'gpt2-tiny-aug');
    const augConfig = parseConfig(JSON.parse(readFileSync(join(augDir, 'config.json'), 'utf8')));
    const augBytes = readFileSync(join(augDir, 'model.safetensors'));
    const { tensors } = parseSafetensors(new Uint8Array(augBytes.buffer, augBytes.byteOffset, augBytes.byteLength), 'gpt2-tiny-aug/model.safetensors');
    const aug = modelFromTensors(tensors, augConfig);
    const dir = join(GOLDEN_DIR, 'calm-tiny', 'bundle-gated');
    const parsed = parseBundle(
      { composition: readFileSync(join(dir, COMPOSITION_FILE), 'utf8'), bridge: new Uint8Array(readFileSync(join(dir, BRIDGE_FILE))) },
      { anchor: anchor.config, augment: augConfig },
    );
    expect(parsed.spec).toMatchObject({ inputNorm: 'whiten', queryNorm: true, valueGate: true, positionBias: 3 });
    const bridges = bridgesFromRaw(parsed.bridges);
    expect(bridges.some(needsInputStats)).toBe(false); // measured statistics: kept as they are
    const comp = new Composition(anchor.gpt, aug, parsed.spec, bridges);
    const g = JSON.parse(readFileSync(join(GOLDEN_DIR, 'calm-tiny', 'golden-gated.json'), 'utf8')) as { ids: number[][]; logits: number[][][] };
    const B = g.ids.length;
    const T = g.ids[0].length;
    const x = tf.tensor2d(g.ids, [B, T], 'int32');
    const logits = comp.forward(x);
    const err = maxAbsDiff(logits.arraySync(), g.logits);
    tf.dispose([x, logits]);
    // the incremental decoder (bridge K/V appended per token) gives the same logits
    const dec = composedDecoder(comp, B);
    let decErr = 0;
    for (let t = 0; t < T; t++) {
      const step = dec.feed(g.ids.map((row) => [row[t]]));
      decErr = Math.max(decErr, maxAbsDiff(step.arraySync(), g.logits.map((row) => row[t])));
      step.dispose();
    }
    dec.dispose();
    disposeBridges(bridges);
    aug.dispose();
    console.info(`bundle-gated: max |logits - golden| = ${err.toExponential(2)}, decoding ${decErr.toExponential(2)}`);
    expect(err).toBeLessThan(TOLERANCE);
    expect(decErr).toBeLessThan(TOLERANCE);
  });
});

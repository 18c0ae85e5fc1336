// The GPT-2 forward pass against an independent PyTorch implementation (tests/golden):
// logits and the residual stream after every block, within 1e-4 absolute.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf, useBackend } from '../../src/model/tf';
import { disposeResult } from '../../src/model/gpt';
import { disposeWeights } from '../../src/io/model-folder';
import { loadGoldenModel, maxAbsDiff } from './helpers/golden';

const TOLERANCE = 1e-4;
const loaded: ReturnType<typeof loadGoldenModel>[] = [];

beforeAll(async () => {
  await useBackend('wasm');
});

afterAll(() => loaded.forEach((m) => disposeWeights(m.gpt.weights)));

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

// The GPT-2 forward pass and decoding: shapes, causality, KV cache = recompute, hooks, taps,
// partial forwards, no tensor leaks, and the sampling rules. The model is the golden
// gpt2-tiny-untied (3 blocks, D 32, 2 heads, V 40, context 16), whose weights are large
// enough (std 0.2) that a wrong mask or a lost addition shows in the logits.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf, useBackend } from '../../src/model/tf';
import { disposeResult, disposeCache } from '../../src/model/causal-lm';
import type { GPT } from '../../src/model/gpt2';
import { cachedDecoder, recomputeDecoder, sampleToken, type Decoder } from '../../src/model/sampling';
import { generate, greedyDecode } from '../../src/pipeline/decode';
import { makeRng } from '../../src/tasks';
import { exactMatch } from '../../src/pipeline/evaluate';
import { loadGoldenModel, maxAbsDiff } from './helpers/golden';

let gpt: GPT;
let V: number;
let D: number;
let N: number;

beforeAll(async () => {
  await useBackend('wasm');
  gpt = loadGoldenModel('gpt2-tiny-untied').gpt as GPT;
  ({ vocabSize: V, nEmbd: D, nLayer: N } = gpt.config);
});

afterAll(() => gpt.dispose());

/** Deterministic token ids in [0, V). */
function tokens(T: number, seed: number): number[] {
  const rng = makeRng(seed);
  return Array.from({ length: T }, () => rng.int(0, V - 1));
}

function ids2d(rows: number[][]): tf.Tensor2D {
  return tf.tensor2d(rows, [rows.length, rows[0].length], 'int32');
}

/** Logits of a full forward pass as nested arrays [B][T][V]. */
function fullLogits(rows: number[][]): number[][][] {
  const x = ids2d(rows);
  const r = gpt.forward(x);
  const out = r.logits!.arraySync() as number[][][];
  x.dispose();
  disposeResult(r);
  return out;
}

/** Runs f and returns how many tensors it left behind. */
async function leaked(f: () => unknown): Promise<number> {
  const before = tf.memory().numTensors;
  await f();
  return tf.memory().numTensors - before;
}

describe('forward', () => {
  it('gives logits [B, T, V] and the last stream [B, T, D]', () => {
    const x = ids2d([tokens(7, 1), tokens(7, 2)]);
    const r = gpt.forward(x);
    expect(r.logits!.shape).toEqual([2, 7, V]);
    expect(r.last.shape).toEqual([2, 7, D]);
    expect(r.hidden.size).toBe(0);
    x.dispose();
    disposeResult(r);
  });

  it('is causal: changing token t+1 leaves the logits at positions <= t unchanged', () => {
    const a = tokens(12, 3);
    const t = 5;
    const b = a.slice();
    for (let i = t + 1; i < b.length; i++) b[i] = (a[i] + 7) % V;
    const [la, lb] = fullLogits([a, b]);
    expect(maxAbsDiff(la.slice(0, t + 1), lb.slice(0, t + 1))).toBeLessThanOrEqual(1e-6);
    // and the change is visible where it may be, so the comparison above means something
    expect(maxAbsDiff(la.slice(t + 1), lb.slice(t + 1))).toBeGreaterThan(1e-3);
  });

  it('rejects a sequence longer than the context', () => {
    const x = ids2d([tokens(gpt.config.nPositions + 1, 4)]);
    expect(() => gpt.forward(x)).toThrow(/longer than the model's context/);
    x.dispose();
  });

  it('taps return the residual stream after each block (-1: the embedding output)', () => {
    const x = ids2d([tokens(6, 5)]);
    const taps = [-1, ...Array.from({ length: N }, (_, i) => i)];
    const r = gpt.forward(x, { taps });
    expect([...r.hidden.keys()].sort((p, q) => p - q)).toEqual(taps);
    const emb = gpt.embed(x);
    expect(maxAbsDiff(r.hidden.get(-1)!.arraySync(), emb.arraySync())).toBe(0);
    for (let i = 0; i < N; i++) {
      const b = gpt.block(i, r.hidden.get(i - 1)!);
      expect(maxAbsDiff(r.hidden.get(i)!.arraySync(), b.out.arraySync())).toBeLessThanOrEqual(1e-6);
      tf.dispose([b.out, b.k, b.v]);
    }
    expect(maxAbsDiff(r.hidden.get(N - 1)!.arraySync(), r.last.arraySync())).toBe(0);
    const head = gpt.head(r.hidden.get(N - 1)!);
    expect(maxAbsDiff(head.arraySync(), r.logits!.arraySync())).toBeLessThanOrEqual(1e-6);
    tf.dispose([x, emb, head]);
    disposeResult(r);
  });

  it('from/to/input: blocks [0, k) then [k, N) equal the whole pass', () => {
    const rows = [tokens(9, 6), tokens(9, 7)];
    const full = fullLogits(rows);
    for (let k = 1; k < N; k++) {
      const x = ids2d(rows);
      const lower = gpt.forward(x, { to: k });
      expect(lower.logits).toBeUndefined(); // a partial pass has no head
      const upper = gpt.forward(null, { from: k, input: lower.last, taps: [N - 1] });
      expect(maxAbsDiff(upper.logits!.arraySync(), full)).toBeLessThanOrEqual(1e-5);
      expect(upper.hidden.has(N - 1)).toBe(true);
      x.dispose();
      disposeResult(lower);
      disposeResult(upper);
    }
    const x = ids2d(rows);
    expect(() => gpt.forward(x, { from: 1 })).toThrow(/needs `input`/);
    x.dispose();
  });
});

describe('hooks', () => {
  it('are called after the embedding and every block, in order, with the past length', () => {
    const seen: [number, number][] = [];
    const x = ids2d([tokens(4, 8)]);
    disposeResult(gpt.forward(x, { hook: (layer, h, past) => (seen.push([layer, past]), h) }));
    x.dispose();
    expect(seen).toEqual([-1, ...Array.from({ length: N }, (_, i) => i)].map((l) => [l, 0]));
  });

  it('adding zeros changes nothing; adding a vector after block i changes the logits and that stream', () => {
    const rows = [tokens(8, 9)];
    const x = ids2d(rows);
    const base = gpt.forward(x, { taps: [0, 1] });
    const baseLogits = base.logits!.arraySync();
    const zero = gpt.forward(x, { hook: (_l, h) => tf.add(h, tf.zerosLike(h)) });
    expect(maxAbsDiff(zero.logits!.arraySync(), baseLogits)).toBe(0);

    // A non-uniform vector: a uniform constant would be removed by the next LayerNorm.
    const delta = tf.tensor1d(Array.from({ length: D }, (_, j) => (j % 3) - 1));
    const i = 0;
    const hooked = gpt.forward(x, { taps: [0, 1], hook: (l, h) => (l === i ? tf.add(h, delta) : h) });
    expect(maxAbsDiff(hooked.logits!.arraySync(), baseLogits)).toBeGreaterThan(1e-2);
    // the tap at the hooked layer holds the stream after the addition
    const expected = tf.add(base.hidden.get(0)!, delta);
    expect(maxAbsDiff(hooked.hidden.get(0)!.arraySync(), expected.arraySync())).toBeLessThanOrEqual(1e-6);
    expect(maxAbsDiff(hooked.hidden.get(1)!.arraySync(), base.hidden.get(1)!.arraySync())).toBeGreaterThan(1e-3);
    tf.dispose([x, delta, expected]);
    [base, zero, hooked].forEach(disposeResult);
  });
});

describe('KV cache', () => {
  it('cached decoding (prompt, then one token at a time) equals the full forward pass', () => {
    const rows = [tokens(14, 10), tokens(14, 11)];
    const full = fullLogits(rows);
    const P = 5;
    const decoder = cachedDecoder(gpt, 2);
    const steps: number[][][] = []; // [step][B][V]: logits of the last fed position
    const first = decoder.feed(rows.map((r) => r.slice(0, P)));
    steps.push(first.arraySync() as number[][]);
    first.dispose();
    for (let t = P; t < 14; t++) {
      const l = decoder.feed(rows.map((r) => [r[t]]));
      steps.push(l.arraySync() as number[][]);
      l.dispose();
    }
    decoder.dispose();
    const expected = Array.from({ length: 14 - P + 1 }, (_, s) => rows.map((_, b) => full[b][P - 1 + s]));
    expect(maxAbsDiff(steps, expected)).toBeLessThanOrEqual(1e-4);
  });

  it('forward with a cache keeps K/V [B, H, S, hd] for every block', () => {
    const cache = gpt.newCache(1);
    const prompt = ids2d([tokens(3, 12)]);
    disposeResult(gpt.forward(prompt, {}, cache));
    const x = ids2d([[1]]);
    disposeResult(gpt.forward(x, {}, cache));
    tf.dispose([prompt, x]);
    expect(cache.length).toBe(4);
    expect(cache.k).toHaveLength(N);
    const H = gpt.config.nHead;
    cache.k.concat(cache.v).forEach((t) => expect(t.shape).toEqual([1, H, 4, D / H]));
    disposeCache(cache);
  });

  it('greedy decoding with the cache equals greedy decoding by recomputation', async () => {
    const prompts = [tokens(4, 13), tokens(4, 14)];
    const opts = { maxNew: 9, maxLength: gpt.config.nPositions };
    const decoder = cachedDecoder(gpt, 2);
    const cached = await greedyDecode(decoder, prompts, opts);
    decoder.dispose();
    const recomputed = await greedyDecode(recomputeDecoder(gpt, 2), prompts, opts);
    expect(cached).toEqual(recomputed);
    expect(cached[0]).toHaveLength(9);
    // the first new token is the argmax of the full pass at the prompt's last position
    const full = fullLogits(prompts);
    prompts.forEach((_, b) => {
      const row = full[b][3];
      expect(cached[b][0]).toBe(row.indexOf(Math.max(...row)));
    });
  });
});

describe('no tensor leaks', () => {
  it('in forward, cached decoding, greedyDecode, generate and exactMatch', async () => {
    const codec = {
      // letters a.. → ids 2.., id 1 = end of sequence
      encode: (s: string) => [...s].map((c) => (c.charCodeAt(0) - 97 + 2) % V),
      decode: (ids: number[]) => ids.map((i) => String.fromCharCode(97 + ((i - 2 + V) % V))).join(''),
      eosId: 1,
    };
    const run = {
      forward: () => {
        const x = ids2d([tokens(5, 15)]);
        disposeResult(gpt.forward(x, { taps: [-1, 1], hook: (_l, h) => tf.mul(h, 1) }));
        x.dispose();
      },
      cached: () => {
        const d = cachedDecoder(gpt, 1);
        d.feed([tokens(3, 16)]).dispose();
        d.feed([[4]]).dispose();
        d.dispose();
      },
      greedyDecode: async () => {
        const d = cachedDecoder(gpt, 2); // the caller owns (and disposes) the decoder
        await greedyDecode(d, [tokens(3, 17), tokens(3, 18)], { maxNew: 4 });
        d.dispose();
      },
      generate: async () => {
        const d = cachedDecoder(gpt, 1);
        await generate(d, tokens(3, 19), { maxTokens: 4, temperature: 1, random: makeRng(1).next, decode: codec.decode });
        d.dispose();
      },
      exactMatch: async () => {
        const examples = [
          { prompt: 'abc', completion: 'd' },
          { prompt: 'abcd', completion: 'ef' },
          { prompt: 'bcd', completion: 'e' },
        ];
        const r = await exactMatch((B) => cachedDecoder(gpt, B), codec, examples, { maxLength: gpt.config.nPositions });
        expect(r.n).toBe(3);
      },
    };
    for (const [name, f] of Object.entries(run)) {
      await f(); // warm-up: first calls may set up kernels
      expect({ name, leaked: await leaked(f) }).toEqual({ name, leaked: 0 });
    }
  });
});

describe('sampling', () => {
  const logits = Float32Array.from([0.5, 2.5, -1, 2.4, 0]);

  it('greedy (temperature 0) picks the argmax and reports its softmax probability', () => {
    const { id, prob } = sampleToken(logits, { temperature: 0, random: () => 0.999 });
    expect(id).toBe(1);
    const z = [...logits].reduce((s, x) => s + Math.exp(x - 2.5), 0);
    expect(prob).toBeCloseTo(1 / z, 6);
  });

  it('top-k 1 equals greedy whatever the random draw', () => {
    for (const r of [0, 0.3, 0.7, 0.999]) expect(sampleToken(logits, { temperature: 1.5, topK: 1, random: () => r }).id).toBe(1);
  });

  it('top-k 2 only ever picks the two likeliest tokens, and both', () => {
    const rng = makeRng(5);
    const seen = new Set(Array.from({ length: 200 }, () => sampleToken(logits, { temperature: 1, topK: 2, random: rng.next }).id));
    expect([...seen].sort()).toEqual([1, 3]);
  });

  it('temperature sampling with a seeded random is deterministic and follows the softmax', () => {
    const draw = (seed: number) => {
      const rng = makeRng(seed);
      return Array.from({ length: 2000 }, () => sampleToken(logits, { temperature: 1, random: rng.next }).id);
    };
    const a = draw(42);
    expect(draw(42)).toEqual(a);
    expect(draw(43)).not.toEqual(a);
    const z = [...logits].reduce((s, x) => s + Math.exp(x), 0);
    for (let i = 0; i < logits.length; i++) {
      const share = a.filter((id) => id === i).length / a.length;
      expect(Math.abs(share - Math.exp(logits[i]) / z)).toBeLessThan(0.04);
    }
  });

  /** A decoder that answers a fixed script of tokens (one-hot-ish logits), recording what it is fed. */
  function scripted(script: number[], vocab = 6): Decoder & { fed: number[][] } {
    let step = 0;
    const fed: number[][] = [];
    return {
      fed,
      feed(ids) {
        fed.push(ids[0]);
        const row = new Array<number>(vocab).fill(0);
        row[script[Math.min(step++, script.length - 1)]] = 10;
        return tf.tensor2d([row]);
      },
      dispose() {},
    };
  }
  const letters = (ids: number[]) => ids.map((i) => 'xabcde'[i]).join('');

  it('a stop string cuts the output and ends generation', async () => {
    const d = scripted([1, 2, 3, 4, 5, 1]);
    const out = await generate(d, [1], { maxTokens: 10, decode: letters, stop: 'bc' });
    expect(out.text).toBe('a');
    expect(out.ids).toEqual([1, 2, 3]); // generation stopped once "bc" appeared
    expect(d.fed).toHaveLength(3);
  });

  it('generation ends at eos (not included) and after maxTokens', async () => {
    expect((await generate(scripted([2, 3, 0, 4]), [1], { maxTokens: 10, decode: letters, eosId: 0 })).text).toBe('bc');
    expect((await generate(scripted([2, 3, 4, 5]), [1], { maxTokens: 2, decode: letters })).ids).toEqual([2, 3]);
  });
});

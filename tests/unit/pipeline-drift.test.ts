// The drifts the one pipeline removes, pinned (issue 13): the context rule (a sequence, prompt
// plus new tokens, never exceeds the context) in src/pipeline/decode.ts, and the worker and
// the CLI giving the same tokens at that boundary; and a bundle's round trip through the
// worker keeping every field of the spec and every bridge tensor bit for bit.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf, useBackend } from '../../src/model/tf';
import { cachedDecoder, type Decoder } from '../../src/model/sampling';
import { loadModelFolder } from '../../src/io/model-folder';
import { nodeFolderSource } from '../../src/io/node-source';
import { Tokenizer } from '../../src/tokenizer';
import { generate, greedyDecode, newTokens } from '../../src/pipeline/decode';
import { parseSafetensors } from '../../src/io/safetensors';
import { KV_SPEC, makeKeyTable } from '../../src/tasks/kv';
import { compositionExamples, KV_RECIPE } from '../../src/tasks/recipe';
import { CalmEngine } from '../../src/worker/engine';
import type { BundleFiles, CompositionSettings } from '../../src/worker/protocol';
import { calm } from './helpers/cli';

const MODELS_DIR = fileURLToPath(new URL('../../public/models/', import.meta.url));
const MODELS_URL = 'http://models.test/models';

/** Serves public/models to the engine. */
const fetchShim: typeof fetch = async (input) => {
  const url = String(input);
  const path = decodeURIComponent(url.slice(MODELS_URL.length + 1));
  try {
    return new Response(await readFile(join(MODELS_DIR, path)));
  } catch {
    return new Response('not found', { status: 404 });
  }
};

/** A decoder that always answers token 5 (never eos), recording how many positions it was fed. */
function counting(): Decoder & { fed: number } {
  const d = {
    fed: 0,
    feed(ids: number[][]) {
      d.fed += ids[0].length;
      return tf.tidy(() => tf.oneHot(tf.tensor1d(ids.map(() => 5), 'int32'), 8).toFloat() as tf.Tensor2D); // [B, 8]
    },
    dispose() {},
  };
  return d;
}

describe('the context rule: prompt plus new tokens never exceed the context', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it('newTokens gives the room left, never less than 0', () => {
    expect(newTokens(30, 10, 32)).toBe(2);
    expect(newTokens(31, 10, 32)).toBe(1);
    expect(newTokens(32, 10, 32)).toBe(0);
    expect(newTokens(33, 10, 32)).toBe(0);
    expect(newTokens(3, 2, 32)).toBe(2);
    expect(newTokens(30, 10)).toBe(10);
  });

  it('generate and greedyDecode stop where the sequence fills the context, and feed only positions inside it', async () => {
    const decode = (ids: number[]) => ids.join(' ');
    for (const [P, want] of [[30, 2], [31, 1], [32, 0]]) {
      const prompt = Array.from({ length: P }, (_, i) => i % 7);
      const d = counting();
      const g = await generate(d, prompt, { maxTokens: 10, maxLength: 32, decode });
      expect(g.ids).toHaveLength(want);
      expect(P + g.ids.length).toBeLessThanOrEqual(32);
      expect(d.fed).toBeLessThanOrEqual(32);
      const b = counting();
      const out = await greedyDecode(b, [prompt, prompt], { maxNew: 10, maxLength: 32 });
      expect(out.map((r) => r.length)).toEqual([want, want]);
      expect(b.fed).toBeLessThanOrEqual(32);
    }
  });
});

describe('the worker and the CLI', () => {
  let engine: CalmEngine;
  let dir: string;
  const settings: CompositionSettings = { anchor: 'arith-tiny', augment: 'kv-tiny', connections: [[-1, 2], [1, 2]], numHeads: 4, output: 'zero-init', seed: 1 };

  beforeAll(async () => {
    engine = new CalmEngine({ fetch: fetchShim });
    await engine.init({ backend: 'wasm', modelsUrl: MODELS_URL });
    dir = await mkdtemp(join(tmpdir(), 'calm-drift-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('give the same tokens for a 30-token prompt in a 32-token context: 2 of them, where the worker gave 3', async () => {
    const prompt = '1+2+3+4+5+6+7+8+9+1+2+3+4+5+67';
    const info = await engine.listModels();
    expect(info.find((m) => m.id === 'arith-tiny')!.context).toBe(32);
    // the prompt exercises the boundary: given one more position (the old `<=`), arith-tiny goes on
    const m = await loadModelFolder(nodeFolderSource(join(MODELS_DIR, 'arith-tiny')));
    const tokenizer = Tokenizer.fromJSON(m.tokenizerJson);
    expect(tokenizer.encode(prompt)).toHaveLength(30);
    const d = cachedDecoder(m.model, 1);
    const past = await generate(d, tokenizer.encode(prompt), { maxTokens: 10, maxLength: 33, eosId: tokenizer.eosId, decode: (ids) => tokenizer.decode(ids) });
    d.dispose();
    m.model.dispose();
    expect(past.ids.length).toBeGreaterThanOrEqual(3);
    await engine.compose(settings);
    const tokens: string[] = [];
    const worker = await engine.generate({ prompt, column: 'anchor', maxTokens: 10 }, (t) => void tokens.push(t.text));
    expect(tokens).toHaveLength(2);
    expect(worker.text).toBe(tokens.join(''));
    expect(worker.text).toBe(past.text.slice(0, 2)); // the same greedy tokens, cut at the context

    const cli = await calm(['generate', '--model', 'arith-tiny', '--prompt', prompt, '--max-tokens', '10', '--json']);
    expect(cli.code, cli.stderr).toBe(0);
    const out = JSON.parse(cli.stdout) as { text: string; ids: number[] };
    expect(out.ids).toHaveLength(2);
    expect(out.text).toBe(worker.text);

    // the composed column through a bundle: the worker's bridges, the CLI's decoding
    const bundle = await engine.exportBundle();
    await writeFile(join(dir, 'composition.json'), bundle.composition);
    await writeFile(join(dir, 'bridge.safetensors'), new Uint8Array(bundle.bridge));
    const composed = await engine.generate({ prompt, column: 'composed', maxTokens: 10 }, () => {});
    const cliComposed = await calm(['compose', 'generate', '--bundle', dir, '--prompt', prompt, '--only', 'composed', '--max-tokens', '10', '--json']);
    expect(cliComposed.code, cliComposed.stderr).toBe(0);
    expect((JSON.parse(cliComposed.stdout) as { outputs: { composed: string } }).outputs.composed).toBe(composed.text);
    expect(composed.text.length).toBeLessThanOrEqual(2);
  });
});

describe('a bundle round trip through the worker', () => {
  const table = makeKeyTable(KV_SPEC);
  const examples = compositionExamples(table, { ...KV_RECIPE, kvArith: 24, numericShare: 0.25 }, 1);
  const base = { anchor: 'arith-tiny', augment: 'kv-tiny', seed: 3 } as const;
  // every field of the spec away from the recipe's defaults, and all of them off
  const cases: CompositionSettings[] = [
    { ...base, connections: [[-1, 3], [1, 2]], numHeads: 2, output: 'rmsnorm', positionBias: 3, inputNorm: 'whiten', queryNorm: true, valueGate: true },
    { ...base, connections: [[0, 1]], numHeads: 8, output: 'zero-init', positionBias: 0, inputNorm: 'none', queryNorm: false, valueGate: false },
  ];
  const SPEC_FIELDS = ['connections', 'num_heads', 'output', 'position_bias', 'input_norm', 'query_norm', 'value_gate'];
  const specOf = (b: BundleFiles) => {
    const doc = JSON.parse(b.composition) as Record<string, unknown>;
    return Object.fromEntries(SPEC_FIELDS.map((k) => [k, doc[k]]));
  };
  const bits = (b: BundleFiles) =>
    [...parseSafetensors(new Uint8Array(b.bridge), 'bridge.safetensors').tensors].map(([name, t]) => [
      name,
      t.shape,
      Array.from(new Uint32Array((t.data as Float32Array).buffer, (t.data as Float32Array).byteOffset, t.data.length)),
    ]);

  it.each(cases.map((c, i) => [i, c] as const))('keeps every field of the spec and the bridge tensors bit for bit (case %i)', async (_, settings) => {
    const a = new CalmEngine({ fetch: fetchShim });
    await a.init({ backend: 'wasm', modelsUrl: MODELS_URL });
    await a.compose(settings);
    await a.train({ examples, heldOut: [], steps: 1, lr: 1e-3, batch: 8, seed: 1, evalEvery: 0 }, () => {});
    const exported = await a.exportBundle();
    expect(specOf(exported)).toMatchObject({ connections: settings.connections, num_heads: settings.numHeads, output: settings.output });

    // a fresh worker: nothing of the first one's state
    const b = new CalmEngine({ fetch: fetchShim });
    await b.init({ backend: 'wasm', modelsUrl: MODELS_URL });
    const imported = await b.importBundle({ composition: exported.composition, bridge: exported.bridge.slice(0) });
    expect(imported).toEqual(settings);
    const again = await b.exportBundle();
    expect(specOf(again)).toEqual(specOf(exported));
    expect(bits(again)).toEqual(bits(exported));

    // composing the imported settings builds bridges of the same spec (the position bias included)
    await b.compose(imported);
    expect(specOf(await b.exportBundle())).toEqual(specOf(exported));
  });
});

// Drifts the one composition spec (src/calm/spec.ts, docs/design.md § Spec) removes, pinned
// (issue 13): drift 2, the CLI's `compose train` built bridges with other defaults than the
// page (no position bias where the page had four buckets); drift 4, the page showed fewer
// trainable parameters than the worker trained (its copy of the estimate left out the
// position bias). The page's side runs the store's own functions (its configuration, fitted
// to the models, into the worker's settings) and the worker's engine, as the page calls them.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compositionEstimate, SPEC_DEFAULTS } from '../../src/calm/spec';
import { BRIDGE_TENSORS } from '../../src/calm/types';
import { parseSafetensors } from '../../src/io/safetensors';
import { KV_SPEC, makeKeyTable } from '../../src/tasks/kv';
import { formatExamples } from '../../src/tasks/parse';
import { compositionExamples, KV_RECIPE } from '../../src/tasks/recipe';
import type { AppState } from '../../src/store/app';
import { compositionSettings, configSpec } from '../../src/store/compose';
import { DEFAULT_CONFIG, type Config } from '../../src/store/config';
import { fitConfig } from '../../src/store/fit';
import type { ModelConfigSummary } from '../../src/store/models';
import { summarizeModelConfig } from '../../src/io/model-summary';
import { CalmEngine } from '../../src/worker/engine';
import type { CompositionSettings } from '../../src/worker/protocol';
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

/** A model's config.json as the page summarises it. */
async function summary(id: string): Promise<ModelConfigSummary> {
  return summarizeModelConfig(JSON.parse(await readFile(join(MODELS_DIR, id, 'config.json'), 'utf8')));
}

let engine: CalmEngine;
/** The page's state as far as composing reads it: both built-in models' config.json loaded. */
let page: Pick<AppState, 'builtinConfigs' | 'builtinModels'>;

/** The page's configuration with `change`, fitted to the models (`f` read), and the settings it sends the worker. */
function pageSettings(change: Partial<Config>): { config: Config; settings: CompositionSettings } {
  const { config } = fitConfig({ ...DEFAULT_CONFIG, ...change }, page);
  const r = compositionSettings({ ...page, config } as AppState);
  if (!('settings' in r)) throw new Error(r.error);
  return { config, settings: r.settings };
}

beforeAll(async () => {
  engine = new CalmEngine({ fetch: fetchShim });
  await engine.init({ backend: 'wasm', modelsUrl: MODELS_URL });
  page = {
    builtinModels: { status: 'idle' },
    builtinConfigs: {
      'arith-tiny': { status: 'ready', value: await summary('arith-tiny') },
      'kv-tiny': { status: 'ready', value: await summary('kv-tiny') },
    },
  };
});

describe('drift 2: `calm compose train` and the page build and train the same bridges', () => {
  const table = makeKeyTable(KV_SPEC);
  const examples = compositionExamples(table, { ...KV_RECIPE, kvArith: 24, numericShare: 0.25 }, 1);
  const training = { steps: 2, lr: 1e-3, batch: 8 };
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'calm-spec-drift-'));
    await writeFile(join(dir, 'examples.txt'), formatExamples(examples));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  // [name, the page's configuration change, the same as CLI options]
  const cases: [string, Partial<Config>, string[]][] = [
    // nothing named: the CLI's defaults are the page's (SPEC_DEFAULTS: position bias, whitening, query norm, value gate)
    ['the defaults', {}, []],
    [
      'every option named, away from the defaults',
      { connections: [[0, 1], [1, 3]], numHeads: 2, output: 'rmsnorm', positionBias: 2, positionInit: 3, inputNorm: 'none', queryNorm: false, valueGate: true },
      ['--connections', '0:1,1:f', '--heads', '2', '--output', 'rmsnorm', '--position-bias', '2', '--position-init', '3', '--input-norm', 'none', '--no-query-norm', '--value-gate'],
    ],
  ];

  it.each(cases)('%s: byte-identical bridge.safetensors and the same spec', async (name, change, flags) => {
    const seed = 4;
    const { settings } = pageSettings({ ...change, seed, ...training });
    await engine.compose(settings);
    const summaryOfRun = await engine.train({ examples, heldOut: [], ...training, seed, evalEvery: 0 }, () => {});
    expect(summaryOfRun).toMatchObject({ stopped: 'done', steps: training.steps });
    const fromPage = await engine.exportBundle();

    const out = join(dir, name.replace(/\W+/g, '-'));
    const r = await calm([
      'compose', 'train', '--anchor', 'arith-tiny', '--augment', 'kv-tiny', '--data', join(dir, 'examples.txt'),
      '--steps', String(training.steps), '--lr', String(training.lr), '--batch', String(training.batch), '--seed', String(seed),
      '--out', out, '--json', ...flags,
    ]); // prettier-ignore
    expect(r.code, r.stderr).toBe(0);
    const fromCli = new Uint8Array(await readFile(join(out, 'bridge.safetensors')));

    const specFields = (text: string) => {
      const { connections, num_heads, output, position_bias, input_norm, query_norm, value_gate } = JSON.parse(text) as Record<string, unknown>;
      return { connections, num_heads, output, position_bias, input_norm, query_norm, value_gate };
    };
    expect(specFields(await readFile(join(out, 'composition.json'), 'utf8'))).toEqual(specFields(fromPage.composition));
    if (name === 'the defaults') {
      expect(specFields(fromPage.composition)).toMatchObject({ position_bias: SPEC_DEFAULTS.positionBias, input_norm: 'whiten', query_norm: true, value_gate: true });
    }
    // the bridges trained on both sides, not fresh ones
    const names = [...parseSafetensors(fromCli, 'bridge.safetensors').tensors.keys()];
    expect(names.length).toBeGreaterThan(0);
    expect(Buffer.from(fromCli).equals(Buffer.from(new Uint8Array(fromPage.bridge)))).toBe(true);
  });
});

describe("drift 4: the page's estimate is the number of parameters the worker trains", () => {
  const frozen = new Set(BRIDGE_TENSORS.filter((t) => t.frozen).map((t) => t.name));

  const cases: [string, Partial<Config>][] = [
    ['the defaults', {}],
    ['no position bias', { positionBias: 0 }],
    ['no query norm, no value gate', { queryNorm: false, valueGate: false }],
    ['only a value gate, 2 heads, three connections', { connections: [[0, 1], [1, 2], [2, 3]], numHeads: 2, positionBias: 0, inputNorm: 'none', queryNorm: false, valueGate: true }],
    ['rmsnorm, 8 heads, an 8-bucket position bias', { connections: [[-1, 0]], numHeads: 8, output: 'rmsnorm', positionBias: 8 }],
    ['one head, every option on, two connections on one layer', { connections: [[1, 0], [1, 2]], numHeads: 1, positionBias: 3 }],
  ];

  it.each(cases)('%s', async (_, change) => {
    const { config, settings } = pageSettings(change);
    const anchor = page.builtinConfigs['arith-tiny'].status === 'ready' ? page.builtinConfigs['arith-tiny'].value : undefined;
    const augment = page.builtinConfigs['kv-tiny'].status === 'ready' ? page.builtinConfigs['kv-tiny'].value : undefined;
    // what CompositionSummary shows
    const shown = compositionEstimate(configSpec(config, anchor!), anchor!, augment!, { batch: config.batch, T: Math.min(anchor!.nPositions, augment!.nPositions) });

    const info = await engine.compose(settings);
    // one training step, so the count is of what the optimizer took
    const table = makeKeyTable(KV_SPEC);
    const examples = compositionExamples(table, { ...KV_RECIPE, kvArith: 8, numericShare: 0.5 }, 2);
    await engine.train({ examples, heldOut: [], steps: 1, lr: 1e-3, batch: 4, seed: 1, evalEvery: 0 }, () => {});
    const bundle = await engine.exportBundle();
    let trained = 0;
    let stats = 0;
    for (const [name, t] of parseSafetensors(new Uint8Array(bundle.bridge), 'bridge.safetensors').tensors) {
      const size = t.shape.reduce((a, b) => a * b, 1);
      if (frozen.has(name.replace(/^bridges\.\d+\./, ''))) stats += size;
      else trained += size;
    }
    expect(shown.trainableParameters).toBe(trained);
    expect(shown.frozenBytes).toBe(4 * stats);
    expect(info.trainableParameters).toBe(trained);
  });
});

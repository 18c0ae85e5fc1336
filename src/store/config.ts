// The configuration: everything a link reproduces (models, mapping, hyperparameters; not the
// examples). Like TensorFlow Playground's state, it is a table of properties, each with a
// one-line doc, a default and a reader, serialised to the URL hash (url.ts). Its composition
// part is the spec (src/calm/spec.ts, docs/design.md § Spec), defaults included.
import type { StateCreator } from 'zustand';
import type { BackendChoice, Connection } from '../worker/protocol';
import { INPUT_NORMS, MAX_POSITION_BIAS, OUTPUT_VARIANTS, SPEC_DEFAULTS, type ResolvedSpec } from '../calm/spec';
import { DEFAULT_SEED, KV_RECIPE } from '../tasks/recipe';
import { formatConnectionList, parseConnectionList } from './mapping';

/**
 * The spec's fields (connections: their order is the bridges' order; numHeads 0 = as many as
 * the anchor has), the two models, and the training and display settings.
 */
export interface Config extends ResolvedSpec {
  /** The anchor model's id: the model whose output is read. */
  anchor: string;
  /** The augmenting model's id: the model whose hidden states the bridges read. */
  augment: string;
  /** Training steps. */
  steps: number;
  /** AdamW learning rate. */
  lr: number;
  /** Examples per training step. */
  batch: number;
  /** Seeds the bridges' initial weights, the batch order and the evaluation examples. */
  seed: number;
  /** Held-out kv-arith examples whose accuracy is charted while training. */
  heldOut: number;
  /** Examples per task in the evaluation table. */
  evalN: number;
  /** Tokens each column generates in Compare. */
  maxTokens: number;
  /** Where tensors run: auto picks the faster of WebGPU and WebAssembly; read when the page opens. */
  backend: BackendChoice;
}

type Reader<T> = (raw: string) => T; // throws an Error whose message says what was expected

interface Property<K extends keyof Config> {
  key: K;
  /** The name in the URL hash. */
  param: string;
  read: Reader<Config[K]>;
  write: (v: Config[K]) => string;
}

const int =
  (min: number, max: number): Reader<number> =>
  (raw) => {
    const v = Number(raw);
    if (!/^-?\d+$/.test(raw) || v < min || v > max) throw new Error(`expected an integer from ${min} to ${max}`);
    return v;
  };
const positive: Reader<number> = (raw) => {
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v) || v <= 0) throw new Error('expected a positive number');
  return v;
};
const finite: Reader<number> = (raw) => {
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v)) throw new Error('expected a number');
  return v;
};
const bool: Reader<boolean> = (raw) => {
  if (raw !== 'true' && raw !== 'false') throw new Error('expected true or false');
  return raw === 'true';
};
const id: Reader<string> = (raw) => {
  if (!/^[\w.-]{1,100}$/.test(raw)) throw new Error('expected a model id');
  return raw;
};
const oneOf =
  <T extends string>(...values: T[]): Reader<T> =>
  (raw) => {
    if (!(values as string[]).includes(raw)) throw new Error(`expected ${values.join(' or ')}`);
    return raw as T;
  };

function prop<K extends keyof Config>(key: K, param: string, read: Reader<Config[K]>, write?: (v: Config[K]) => string): Property<K> {
  return { key, param, read, write: write ?? ((v) => String(v)) };
}

/** The table, in URL order. */
export const CONFIG_PROPERTIES = [
  prop('anchor', 'anchor', id),
  prop('augment', 'augment', id),
  prop('connections', 'connections', parseConnectionList, formatConnectionList),
  prop('numHeads', 'heads', (raw) => (raw === 'auto' ? 0 : int(1, 4096)(raw)), (v) => (v === 0 ? 'auto' : String(v))),
  prop('output', 'output', oneOf(...OUTPUT_VARIANTS)),
  prop('positionBias', 'posbias', int(0, MAX_POSITION_BIAS)),
  prop('positionInit', 'posinit', finite),
  prop('inputNorm', 'inputnorm', oneOf(...INPUT_NORMS)),
  prop('queryNorm', 'querynorm', bool),
  prop('valueGate', 'valuegate', bool),
  prop('steps', 'steps', int(1, 100_000)),
  prop('lr', 'lr', positive),
  prop('batch', 'batch', int(1, 4096)),
  prop('seed', 'seed', int(0, 2 ** 31 - 1)),
  prop('heldOut', 'heldout', int(0, 200)), // the worker scores at most 200 (HELD_OUT_CAP)
  prop('evalN', 'evaln', int(1, 10_000)),
  prop('maxTokens', 'tokens', int(1, 256)),
  prop('backend', 'backend', oneOf<BackendChoice>('auto', 'webgpu', 'wasm', 'cpu')),
] as const;

/** The `repro kv` recipe on the built-in pair: one click on Train shows CALM working. */
export const DEFAULT_CONFIG: Readonly<Config> = Object.freeze({
  anchor: 'arith-tiny',
  augment: 'kv-tiny',
  ...SPEC_DEFAULTS,
  connections: parseConnectionList(SPEC_DEFAULTS.connections),
  steps: KV_RECIPE.steps,
  lr: KV_RECIPE.lr,
  batch: KV_RECIPE.batch,
  seed: DEFAULT_SEED,
  heldOut: 100,
  evalN: 100,
  maxTokens: 8,
  backend: 'auto',
});

/** `#anchor=…&augment=…&connections=-1:2,0:2&…`: every property, so a link pins all of them. */
export function configToHash(config: Config): string {
  const params = new URLSearchParams();
  for (const p of CONFIG_PROPERTIES) params.set(p.param, (p.write as (v: unknown) => string)(config[p.key]));
  // Keep `:` and `,` readable in the address bar; both are legal in a fragment.
  return '#' + params.toString().replace(/%3A/gi, ':').replace(/%2C/gi, ',');
}

/**
 * The properties a hash sets, and one message per value it could not read (that property
 * keeps its current value). Unknown names are ignored, so older links still open.
 */
export function configFromHash(hash: string): { config: Partial<Config>; errors: string[] } {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const config: Partial<Config> = {};
  const errors: string[] = [];
  for (const p of CONFIG_PROPERTIES) {
    const raw = params.get(p.param);
    if (raw === null) continue;
    try {
      (config as Record<string, unknown>)[p.key] = p.read(raw);
    } catch (e) {
      errors.push(`${p.param}=${raw}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return { config, errors };
}

export interface ConfigSlice {
  config: Config;
  /** Messages about the link the page was opened with (values it could not use). */
  linkErrors: string[];
}

export const createConfigSlice: StateCreator<ConfigSlice, [], [], ConfigSlice> = () => ({
  config: { ...DEFAULT_CONFIG, connections: DEFAULT_CONFIG.connections.map((c): Connection => [c[0], c[1]]) },
  linkErrors: [],
});

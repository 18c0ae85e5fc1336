// A tensor table: the one list of an architecture's parameters — each tensor's checkpoint name,
// its shape from the config, how it is initialised, and whether a checkpoint may leave it out
// (docs/design.md § Models). Loading, saving, initialising, counting and shape checks all read
// it. No tfjs here: the page reads tables too (parameter counts from a safetensors header).

/** How a fresh tensor is filled. */
export type InitRule = { kind: 'normal'; std: number } | { kind: 'zeros' } | { kind: 'ones' };

/** One tensor of an architecture; per-layer tensors are named after the layer's prefix. */
export interface TensorSpec<C> {
  /** The checkpoint name (Hugging Face); for a per-layer tensor, after the layer prefix. */
  name: string;
  /** Where the tensor sits in the architecture's weights object: a dotted path. */
  key: string;
  shape(c: C): number[];
  init(c: C): InitRule;
  /** A checkpoint may leave it out; loaded, saved and counted when present. */
  optional?: boolean;
  /** Optional for some configs only (Llama's lm_head.weight when tie_word_embeddings is true). */
  optionalWhen?(c: C): boolean;
  /** When an optional tensor is absent, the model uses this one (a tied matrix). */
  tiedTo?: string;
}

export interface TensorTable<C> {
  /** Tensors before the layers, in checkpoint order. */
  before: TensorSpec<C>[];
  /** The tensors of each layer, in checkpoint order. */
  layer: TensorSpec<C>[];
  /** Tensors after the layers. */
  after: TensorSpec<C>[];
  /** The number of layers of a config. */
  layers(c: C): number;
  /** The checkpoint-name prefix of layer i, e.g. `h.3.`. */
  layerPrefix(i: number): string;
  /** The layer a checkpoint name belongs to (by its prefix), or undefined. */
  layerOf(name: string): number | undefined;
  /** The weights-object field holding the list of layers. */
  layerKey: string;
}

/** One tensor of a table resolved for a config: its full name, path and shape. */
export interface TensorEntry {
  name: string;
  path: (string | number)[];
  shape: number[];
  init: InitRule;
  optional: boolean;
  tiedTo?: string;
}

/** Every tensor of the table for config `c`, in checkpoint order (optional ones included). */
export function tableEntries<C>(table: TensorTable<C>, c: C): TensorEntry[] {
  const entry = (s: TensorSpec<C>, name: string, path: (string | number)[]): TensorEntry => ({
    name,
    path,
    shape: s.shape(c),
    init: s.init(c),
    optional: s.optionalWhen ? s.optionalWhen(c) : (s.optional ?? false),
    ...(s.tiedTo !== undefined ? { tiedTo: s.tiedTo } : {}),
  });
  const out = table.before.map((s) => entry(s, s.name, s.key.split('.')));
  for (let i = 0; i < table.layers(c); i++) {
    for (const s of table.layer) out.push(entry(s, table.layerPrefix(i) + s.name, [table.layerKey, i, ...s.key.split('.')]));
  }
  out.push(...table.after.map((s) => entry(s, s.name, s.key.split('.'))));
  return out;
}

/** The number of values of a shape. */
export function shapeSize(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * A checkpoint's parameter count: every required tensor, and each optional one whose name is
 * in `present` (names as the table spells them).
 */
export function tableParameters<C>(table: TensorTable<C>, c: C, present: ReadonlySet<string>): number {
  return tableEntries(table, c)
    .filter((e) => !e.optional || present.has(e.name))
    .reduce((n, e) => n + shapeSize(e.shape), 0);
}

/**
 * The architecture's weights object from named tensors: each entry's value placed at its path
 * (absent optional entries are left out). `get` returns undefined only for those.
 */
export function nestTensors<T>(entries: TensorEntry[], get: (e: TensorEntry) => T | undefined): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const e of entries) {
    const value = get(e);
    if (value === undefined) {
      if (!e.optional) throw new Error(`tensor ${e.name} is missing`);
      continue;
    }
    let node: Record<string | number, unknown> = root;
    e.path.forEach((p, i) => {
      if (i === e.path.length - 1) {
        node[p] = value;
        return;
      }
      node[p] ??= typeof e.path[i + 1] === 'number' ? [] : {};
      node = node[p] as Record<string | number, unknown>;
    });
  }
  return root;
}

/** The tensors of a weights object by checkpoint name, in table order (absent optional ones left out). */
export function flattenTensors<T>(entries: TensorEntry[], weights: object): Map<string, T> {
  const out = new Map<string, T>();
  for (const e of entries) {
    let node: unknown = weights;
    for (const p of e.path) node = node === undefined ? undefined : (node as Record<string | number, unknown>)[p];
    if (node === undefined) {
      if (!e.optional) throw new Error(`tensor ${e.name} is missing from the weights`);
      continue;
    }
    out.set(e.name, node as T);
  }
  return out;
}

// Composition bundles (docs/design.md § Files): `composition.json` (what was composed, how, and how it
// was trained) and `bridge.safetensors` (the bridges' weights in PyTorch nn.Linear layout
// [out, in], so `load_state_dict` takes them as they are). BridgeWeights hold x·W layout
// [in, out]; every linear weight is transposed on export and on import.
// Both files are untrusted on import: every check is a one-line CompositionError naming
// the file and the field or tensor (safetensors-level damage is a SafetensorsError).

import * as z from 'zod/mini';
import type { ModelConfig } from '../model/causal-lm';
import { tf } from '../model/tf';
import { issueMessage, quote } from '../io/errors';
import { parseSafetensors, writeSafetensors } from '../io/safetensors';
import { validateConnections, validateHeads } from './connections';
import { CompositionError } from './errors';
import { markUnfitted } from './bridge';
import { BRIDGE_TENSORS, type BridgeWeights, type CompositionSpec, type Connection, type InputNorm, type OutputVariant } from './types';

export const COMPOSITION_FORMAT = 'calm-playground/composition@1';
export const COMPOSITION_FILE = 'composition.json';
export const BRIDGE_FILE = 'bridge.safetensors';

// Bounds as for config.json (io/model-folder.ts): far above anything this app runs.
const size = (max: number) =>
  z.int({ error: 'must be an integer' }).check(
    z.positive({ error: 'must be positive' }),
    z.maximum(max, { error: `must be at most ${max}` }),
  );
const text = z.string({ error: 'must be a string' }).check(z.minLength(1, { error: 'must be a non-empty string' }));
const layer = z.int({ error: 'must be an integer layer' }).check(z.gte(-1, { error: 'must be -1 (embedding output) or a block index' }));

const modelRefSchema = z
  .object({
    id: z.optional(text), // a built-in model's id (public/models/index.json)
    path: z.optional(text), // a model folder
    name: z.optional(text), // a display name only; bundles written by tests/golden carry just this
    n_layer: size(256),
    n_embd: size(16384),
    vocab_size: size(1_000_000),
  })
  .check(
    z.refine((r) => r.id !== undefined || r.path !== undefined || r.name !== undefined, {
      error: 'must name the model with "id" (a built-in model) or "path" (a model folder)',
    }),
  );

const trainingSchema = z.looseObject({
  steps: z.optional(z.int({ error: 'must be an integer' }).check(z.nonnegative({ error: 'must not be negative' }))),
  lr: z.optional(z.number({ error: 'must be a number' })),
  batch: z.optional(size(1_000_000)),
  seed: z.optional(z.int({ error: 'must be an integer' })),
  task: z.optional(z.string({ error: 'must be a string' })),
  data: z.optional(z.string({ error: 'must be a string' })),
  seconds: z.optional(z.number({ error: 'must be a number' }).check(z.nonnegative({ error: 'must not be negative' }))),
});

const manifestSchema = z.object({
  format: z.literal(COMPOSITION_FORMAT),
  anchor: modelRefSchema,
  augment: modelRefSchema,
  connections: z.array(z.tuple([layer, layer], { error: 'must be a pair [anchorLayer, augmentLayer]' }), {
    error: 'must be a list of [anchorLayer, augmentLayer] pairs',
  }),
  num_heads: size(16384),
  position_bias: z.optional(size(4096)),
  input_norm: z.optional(z.enum(['none', 'whiten'], { error: 'must be "none" or "whiten"' })),
  query_norm: z.optional(z.boolean({ error: 'must be true or false' })),
  value_gate: z.optional(z.boolean({ error: 'must be true or false' })),
  output: z.enum(['zero-init', 'rmsnorm'], { error: 'must be "zero-init" or "rmsnorm"' }),
  training: z.optional(trainingSchema),
  metrics: z.optional(z.record(z.string(), z.unknown(), { error: 'must be an object' })),
});

/** One model of the composition as composition.json names it; at least one of id / path. */
export interface ModelRef {
  id?: string;
  path?: string;
  name?: string;
  n_layer: number;
  n_embd: number;
  vocab_size: number;
}

/** How the bridges were trained; free-form beyond the typed fields. */
export interface TrainingInfo {
  steps?: number;
  lr?: number;
  batch?: number;
  seed?: number;
  task?: string; // a built-in task id
  data?: string; // where pasted examples came from
  seconds?: number;
  [key: string]: unknown;
}

export type Metrics = Record<string, unknown>;

/** composition.json, checked. */
export interface BundleManifest {
  format: typeof COMPOSITION_FORMAT;
  anchor: ModelRef;
  augment: ModelRef;
  connections: Connection[];
  num_heads: number;
  output: OutputVariant;
  /** Relative-position buckets of every bridge's score bias (CompositionSpec.positionBias). */
  position_bias?: number;
  /** CompositionSpec.inputNorm: 'whiten' adds the frozen `in.mean` and `in.whiten` to every bridge. */
  input_norm?: InputNorm;
  /** CompositionSpec.queryNorm. */
  query_norm?: boolean;
  /** CompositionSpec.valueGate: adds `attn.gate.weight` and `attn.gate.bias` to every bridge. */
  value_gate?: boolean;
  training: TrainingInfo;
  metrics: Metrics;
}

export interface BundleMeta {
  anchor: ModelRef;
  augment: ModelRef;
  training?: TrainingInfo;
  metrics?: Metrics;
}

/** One weight as plain data, in BridgeWeights' [in, out] layout. */
export interface RawWeight {
  shape: number[];
  data: Float32Array;
}

/** One bridge as plain data; the optional fields as in BridgeWeights. */
export type RawBridge = { [K in keyof BridgeWeights]: RawWeight };

export interface ParsedBundle {
  manifest: BundleManifest;
  spec: CompositionSpec;
  bridges: RawBridge[];
}

/**
 * Shapes of one bridge's fields in BridgeWeights' [in, out] layout; normW only for 'rmsnorm',
 * the others only when the spec asks for them. The bundle stores the linear weights
 * transposed ([out, in]).
 */
export function bridgeShapes(
  anchorWidth: number,
  augmentWidth: number,
  output: OutputVariant,
  position?: { heads: number; buckets: number },
  extra: Pick<CompositionSpec, 'inputNorm' | 'valueGate'> & { heads?: number } = {},
): Partial<Record<keyof BridgeWeights, number[]>> {
  const Da = anchorWidth;
  const out: Partial<Record<keyof BridgeWeights, number[]>> = { projW: [augmentWidth, Da], projB: [Da] };
  for (const p of ['q', 'k', 'v', 'o'] as const) {
    out[`${p}W`] = [Da, Da];
    out[`${p}B`] = [Da];
  }
  if (output === 'rmsnorm') out.normW = [Da];
  if (position && position.buckets > 0) out.posBias = [position.heads, position.buckets];
  if (extra.inputNorm === 'whiten') {
    out.inMean = [augmentWidth];
    out.inWhiten = [augmentWidth, augmentWidth];
  }
  if (extra.valueGate) {
    const h = extra.heads ?? position?.heads;
    if (h === undefined) throw new RangeError('bridgeShapes: a value gate needs the number of heads');
    out.gateW = [Da, h];
    out.gateB = [h];
  }
  return out;
}

/** The shapes of every bridge of `spec` between widths D_a and D_g. */
export function specShapes(spec: CompositionSpec, Da: number, Dg: number): Partial<Record<keyof BridgeWeights, number[]>> {
  return bridgeShapes(Da, Dg, spec.output, { heads: spec.numHeads, buckets: spec.positionBias ?? 0 }, { ...spec, heads: spec.numHeads });
}

/** The optional spec fields as composition.json writes them (absent = off). */
function optionFields(spec: CompositionSpec): Pick<BundleManifest, 'position_bias' | 'input_norm' | 'query_norm' | 'value_gate'> {
  return {
    ...(spec.positionBias ? { position_bias: spec.positionBias } : {}),
    ...(spec.inputNorm === 'whiten' ? { input_norm: 'whiten' as const } : {}),
    ...(spec.queryNorm ? { query_norm: true } : {}),
    ...(spec.valueGate ? { value_gate: true } : {}),
  };
}

/** The spec a checked manifest describes. */
export function specOf(m: BundleManifest): CompositionSpec {
  return {
    connections: m.connections.map(([a, g]): Connection => [a, g]),
    numHeads: m.num_heads,
    output: m.output,
    ...(m.position_bias ? { positionBias: m.position_bias } : {}),
    ...(m.input_norm === 'whiten' ? { inputNorm: 'whiten' as const } : {}),
    ...(m.query_norm ? { queryNorm: true } : {}),
    ...(m.value_gate ? { valueGate: true } : {}),
  };
}

/**
 * The two files of a bundle. Reads the variables asynchronously (every backend); a caller
 * whose bridges may change meanwhile (training) passes a snapshot (tf.clone of each).
 */
export async function exportBundle(
  spec: CompositionSpec,
  bridges: BridgeWeights[],
  meta: BundleMeta,
): Promise<{ 'composition.json': string; 'bridge.safetensors': Uint8Array }> {
  const Da = meta.anchor.n_embd;
  const Dg = meta.augment.n_embd;
  validateConnections(spec.connections, meta.anchor.n_layer, meta.augment.n_layer);
  validateHeads(spec.numHeads, Da);
  if (bridges.length !== spec.connections.length) {
    throw new CompositionError(
      'bad-bridges',
      `cannot export ${bridges.length} bridges for ${spec.connections.length} connections: there is one bridge per connection`,
    );
  }

  const doc = {
    format: COMPOSITION_FORMAT,
    anchor: modelRefOut(meta.anchor),
    augment: modelRefOut(meta.augment),
    connections: spec.connections.map(([a, g]) => [a, g]),
    num_heads: spec.numHeads,
    output: spec.output,
    ...optionFields(spec),
    training: meta.training ?? {},
    metrics: meta.metrics ?? {},
  };
  // Pairs on one line: `"connections": [[0,2],[1,1]]`. The first match is the top-level key
  // (the model refs before it carry only known keys), and its value holds only numbers.
  const json = `${JSON.stringify(doc, null, 2).replace(
    /"connections": \[[-\d\s,[\]]*\]/,
    () => `"connections": ${JSON.stringify(doc.connections)}`,
  )}\n`;
  readBundleManifest(json); // never write what import would refuse (e.g. a ModelRef with no id/path)

  const shapes = specShapes(spec, Da, Dg);
  const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [k, b] of bridges.entries()) {
    for (const t of BRIDGE_TENSORS) {
      const name = `bridges.${k}.${t.name}`;
      const want = shapes[t.field];
      const v = b[t.field];
      if (want === undefined) {
        if (v !== undefined) {
          throw new CompositionError('bad-bridges', `cannot export ${name}: the composition (output ${spec.output}${describeOptions(spec)}) has no ${t.name}`, {
            tensor: name,
          });
        }
        continue;
      }
      if (v === undefined) {
        throw new CompositionError('bad-bridges', `cannot export: bridge ${k} has no ${t.field} (${name})`, { tensor: name });
      }
      if (!sameShape(v.shape, want)) {
        throw new CompositionError(
          'bad-bridges',
          `cannot export ${name}: ${t.field} has shape [${v.shape.join(', ')}], expected [${want.join(', ')}] for D_a ${Da}, D_g ${Dg}`,
          { tensor: name },
        );
      }
      const data = Float32Array.from((await v.data()) as Float32Array);
      const bad = firstNonFinite(data);
      if (bad >= 0) {
        throw new CompositionError(
          'non-finite',
          `cannot export ${name}: ${t.field} holds ${data[bad]} at index ${bad} (training diverged?)`,
          { tensor: name },
        );
      }
      tensors[name] = t.linear
        ? { shape: [want[1], want[0]], data: transpose(data, want[0], want[1]) }
        : { shape: want.slice(), data };
    }
  }

  return {
    'composition.json': json,
    'bridge.safetensors': writeSafetensors(tensors, { format: 'pt' }), // what safetensors.torch writes
  };
}

/** composition.json checked against its schema (connections and heads against its own sizes). */
export function readBundleManifest(compositionJsonText: string): BundleManifest {
  const file = COMPOSITION_FILE;
  let json: unknown;
  try {
    json = JSON.parse(compositionJsonText);
  } catch (e) {
    throw new CompositionError('bad-json', `${file} is not valid JSON (${e instanceof Error ? e.message : String(e)})`, { file, cause: e });
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new CompositionError('bad-manifest', `${file} must hold a JSON object`, { file });
  }
  const format = (json as Record<string, unknown>).format;
  if (format !== COMPOSITION_FORMAT) {
    const found = format === undefined ? 'missing' : typeof format === 'string' ? quote(format) : JSON.stringify(format);
    throw new CompositionError(
      'bad-format',
      `${file}: format is ${found}, expected ${JSON.stringify(COMPOSITION_FORMAT)} (is this a composition bundle from this app?)`,
      { file, field: 'format' },
    );
  }
  const r = z.safeParse(manifestSchema, json);
  if (!r.success) {
    const { field, message } = issueMessage(file, r.error.issues[0], json);
    throw new CompositionError('bad-manifest', message, { file, field });
  }
  const m = r.data;
  const manifest: BundleManifest = {
    format: COMPOSITION_FORMAT,
    anchor: m.anchor,
    augment: m.augment,
    connections: m.connections.map(([a, g]): Connection => [a, g]),
    num_heads: m.num_heads,
    output: m.output,
    ...(m.position_bias ? { position_bias: m.position_bias } : {}),
    ...(m.input_norm === 'whiten' ? { input_norm: 'whiten' as const } : {}), // 'none' = absent
    ...(m.query_norm ? { query_norm: true } : {}),
    ...(m.value_gate ? { value_gate: true } : {}),
    training: (m.training ?? {}) as TrainingInfo,
    metrics: m.metrics ?? {},
  };
  validateConnections(manifest.connections, manifest.anchor.n_layer, manifest.augment.n_layer, { file });
  validateHeads(manifest.num_heads, manifest.anchor.n_embd, { file });
  return manifest;
}

/**
 * Reads and checks both files; with `dims`, also that the manifest was made for these two
 * models. The bridges come back as plain Float32Arrays in [in, out] layout, copies that do
 * not alias `files.bridge`.
 */
export function parseBundle(
  files: { composition: string; bridge: Uint8Array },
  dims?: { anchor: ModelConfig; augment: ModelConfig },
): ParsedBundle {
  const manifest = readBundleManifest(files.composition);
  if (dims) {
    for (const side of ['anchor', 'augment'] as const) {
      const ref = manifest[side];
      const cfg = dims[side];
      const model = side === 'anchor' ? 'the anchor' : 'the augmenting model';
      for (const [field, have] of [
        ['n_layer', cfg.nLayer],
        ['n_embd', cfg.nEmbd],
        ['vocab_size', cfg.vocabSize],
      ] as const) {
        if (ref[field] !== have) {
          throw new CompositionError(
            'model-mismatch',
            `${COMPOSITION_FILE}: ${side}.${field} is ${ref[field]} but ${model} has ${field} ${have}: the bundle was made for a different ${side} model`,
            { file: COMPOSITION_FILE, field: `${side}.${field}` },
          );
        }
      }
    }
  }
  // After the check above the manifest's sizes equal the models'; connections and heads were
  // validated against them in readBundleManifest.
  const Da = manifest.anchor.n_embd;
  const Dg = manifest.augment.n_embd;

  const file = BRIDGE_FILE;
  const st = parseSafetensors(files.bridge, file);
  const spec = specOf(manifest);
  const shapes = specShapes(spec, Da, Dg);
  const expected = new Set<string>();
  const bridges: RawBridge[] = manifest.connections.map(([a, g], k) => {
    const out: Partial<Record<keyof BridgeWeights, RawWeight>> = {};
    for (const t of BRIDGE_TENSORS) {
      const want = shapes[t.field];
      if (want === undefined) continue;
      const name = `bridges.${k}.${t.name}`;
      expected.add(name);
      const fileShape = t.linear ? [want[1], want[0]] : want;
      const tensor = st.tensors.get(name);
      const where = { file, tensor: name };
      if (tensor === undefined) {
        const others = [...st.tensors.keys()].filter((n) => !n.startsWith('bridges.'));
        const hint =
          t.field === 'normW'
            ? '; output rmsnorm needs it'
            : t.field === 'inMean' || t.field === 'inWhiten'
              ? '; input_norm "whiten" needs it'
              : t.field === 'gateW' || t.field === 'gateB'
                ? '; value_gate needs it'
                : t.field === 'posBias'
                  ? '; position_bias needs it'
                  : others.length > 0
              ? ` (the file has other names, e.g. ${quote(others[0])})`
              : '';
        throw new CompositionError(
          'missing-tensor',
          `${file}: tensor ${quote(name)} of bridge ${k} (connection [${a}, ${g}]) is missing${hint}`,
          where,
        );
      }
      if (!(tensor.data instanceof Float32Array)) {
        throw new CompositionError(
          'bad-dtype',
          `${file}: tensor ${quote(name)} has dtype ${tensor.dtype}; bridge weights must be floating point (F32, F16, BF16 or F64)`,
          where,
        );
      }
      if (!sameShape(tensor.shape, fileShape)) {
        const layout = t.linear ? ` (nn.Linear [out, in] with D_a ${Da}, D_g ${Dg})` : ` (D_a ${Da}, D_g ${Dg})`;
        throw new CompositionError(
          'bad-shape',
          `${file}: tensor ${quote(name)} has shape [${tensor.shape.join(', ')}], expected [${fileShape.join(', ')}]${layout}`,
          where,
        );
      }
      const bad = firstNonFinite(tensor.data);
      if (bad >= 0) {
        throw new CompositionError(
          'non-finite',
          `${file}: tensor ${quote(name)} holds ${tensor.data[bad]} at index ${bad}; bridge weights must be finite`,
          where,
        );
      }
      out[t.field] = {
        shape: want.slice(),
        data: t.linear ? transpose(tensor.data, fileShape[0], fileShape[1]) : Float32Array.from(tensor.data),
      };
    }
    return out as RawBridge;
  });
  for (const name of st.tensors.keys()) {
    if (!expected.has(name)) {
      const n = manifest.connections.length;
      throw new CompositionError(
        'unexpected-tensor',
        `${file}: unexpected tensor ${quote(name)}: the composition has ${n} connection${n === 1 ? '' : 's'} (bridges 0–${n - 1}) and output ${manifest.output}${describeOptions(spec)}`,
        { file, tensor: name },
      );
    }
  }

  return { manifest, spec, bridges };
}

/** ", position_bias 3, input_norm whiten, …": the optional fields that are on, for messages. */
function describeOptions(spec: CompositionSpec): string {
  return Object.entries(optionFields(spec))
    .map(([k, v]) => `, ${k} ${String(v)}`)
    .join('');
}

/** tf.Variables holding `raw` (already in [in, out] layout): trainable, but for the frozen statistics. */
export function bridgesFromRaw(raw: RawBridge[]): BridgeWeights[] {
  return raw.map((r) => {
    const b: Partial<BridgeWeights> = {};
    for (const t of BRIDGE_TENSORS) {
      const w = r[t.field];
      if (w === undefined) continue;
      const init = tf.tensor(w.data, w.shape, 'float32');
      b[t.field] = tf.variable(init, !t.frozen); // unnamed: tfjs variable names are global
      init.dispose(); // the variable keeps its own reference to the data
    }
    // all-zero whitening: written before the training data was measured (initBridge's placeholder)
    if (r.inWhiten && r.inWhiten.data.every((v) => v === 0)) markUnfitted(b as BridgeWeights);
    return b as BridgeWeights;
  });
}

export function disposeBridges(bridges: BridgeWeights[]): void {
  for (const b of bridges) for (const t of BRIDGE_TENSORS) b[t.field]?.dispose();
}

function modelRefOut(r: ModelRef): ModelRef {
  const out: ModelRef = { n_layer: r.n_layer, n_embd: r.n_embd, vocab_size: r.vocab_size };
  // Key order as written: names first, then sizes.
  return {
    ...(r.id !== undefined ? { id: r.id } : {}),
    ...(r.path !== undefined ? { path: r.path } : {}),
    ...(r.name !== undefined ? { name: r.name } : {}),
    ...out,
  };
}

/** [rows, cols] row-major → [cols, rows] row-major. */
function transpose(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  }
  return out;
}

function firstNonFinite(data: Float32Array): number {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return i;
  return -1;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

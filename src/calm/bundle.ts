// Composition bundles (docs/design.md § Files): `composition.json` (what was composed, how, and
// how it was trained: src/calm/bundle-manifest.ts) and `bridge.safetensors` (the bridges'
// weights in PyTorch nn.Linear layout [out, in], so `load_state_dict` takes them as they are).
// BridgeWeights hold x·W layout [in, out]; every linear weight is transposed on export and on
// import. Both files are untrusted on import: every check is a one-line CompositionError
// naming the file and the field or tensor (safetensors-level damage is a SafetensorsError).

import type { CausalLM, ModelConfig } from '../model/causal-lm';
import type { Tokenizer } from '../tokenizer/tokenizer';
import { tf } from '../model/tf';
import { quote } from '../io/errors';
import { parseSafetensors, writeSafetensors } from '../io/safetensors';
import { validateConnections, validateHeads } from './connections';
import { CompositionError } from './errors';
import { markUnfitted } from './bridge';
import { BRIDGE_FILE, COMPOSITION_FILE, loadedAlignment, manifestJson, readBundleManifest, specOf, type BundleManifest, type BundleMeta } from './bundle-manifest';
import { Composition } from './compose';
import { bridgeShapes, specToJson, type CompositionSpec } from './spec';
import { BRIDGE_TENSORS, type BridgeWeights } from './types';

export {
  BRIDGE_FILE,
  COMPOSITION_FILE,
  COMPOSITION_FORMAT,
  readBundleManifest,
  specOf,
  type BundleManifest,
  type BundleMeta,
  type Metrics,
  type ModelRef,
  type TrainingInfo,
} from './bundle-manifest';

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

  const json = manifestJson(spec, meta);

  const shapes = bridgeShapes(spec, Da, Dg);
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
  const shapes = bridgeShapes(spec, Da, Dg);
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
  const { connections: _c, num_heads: _h, output: _o, ...options } = specToJson(spec);
  return Object.entries(options)
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

/**
 * A bundle's composition over two loaded models: both files checked against the models
 * (parseBundle), the bridges as variables, and across tokenizers the recorded tokenizers checked
 * against theirs (loadedAlignment). What the CLI and the worker load a bundle with.
 */
export async function compositionFromBundle(
  files: { composition: string; bridge: Uint8Array },
  anchor: { model: CausalLM; tokenizer?: Tokenizer },
  augment: { model: CausalLM; tokenizer?: Tokenizer },
): Promise<{ comp: Composition; manifest: BundleManifest }> {
  const parsed = parseBundle(files, { anchor: anchor.model.config, augment: augment.model.config });
  const alignment = await loadedAlignment(parsed.manifest, { anchor: anchor.tokenizer, augment: augment.tokenizer });
  return { comp: new Composition(anchor.model, augment.model, parsed.spec, bridgesFromRaw(parsed.bridges), alignment), manifest: parsed.manifest };
}

export function disposeBridges(bridges: BridgeWeights[]): void {
  for (const b of bridges) for (const t of BRIDGE_TENSORS) b[t.field]?.dispose();
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

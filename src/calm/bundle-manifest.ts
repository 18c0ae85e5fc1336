// composition.json, the manifest of a composition bundle (docs/design.md § Files): what was
// composed (the models and the spec, docs/design.md § Spec), how the bridges were trained,
// and what they scored. Untrusted on import: every check is a one-line CompositionError
// naming the file and the field.
import * as z from 'zod/mini';
import { issueMessage, quote } from '../io/errors';
import { validateConnections, validateHeads } from './connections';
import { CompositionError } from './errors';
import { ALIGNMENT_RULE, PREVIOUS_ALIGNMENT_RULE, type AlignmentRule } from './align';
import { tokenizerDigest, type Tokenizer } from '../tokenizer/tokenizer';
import { SPEC_JSON_SHAPE, specFromJson, specToJson, type CompositionSpec, type SpecJson } from './spec';

export const COMPOSITION_FORMAT = 'calm-playground/composition@1';
export const COMPOSITION_FILE = 'composition.json';
export const BRIDGE_FILE = 'bridge.safetensors';
// The alignment rule of a composition across tokenizers (docs/design.md § Across tokenizers).
export { ALIGNMENT_RULE } from './align';

// Bounds as for config.json (io/model-folder.ts): far above anything this app runs.
const size = (max: number) =>
  z.int({ error: 'must be an integer' }).check(
    z.positive({ error: 'must be positive' }),
    z.maximum(max, { error: `must be at most ${max}` }),
  );
const text = z.string({ error: 'must be a string' }).check(z.minLength(1, { error: 'must be a non-empty string' }));

const modelRefSchema = z
  .object({
    id: z.optional(text), // a built-in model's id (public/models/index.json)
    path: z.optional(text), // a model folder
    name: z.optional(text), // a display name only; bundles written by tests/golden carry just this
    n_layer: size(256),
    n_embd: size(16384),
    vocab_size: size(1_000_000),
    // sha256 (hex) of the model's tokenizer.json: written for a composition across tokenizers
    tokenizer: z.optional(z.string({ error: 'must be a string' }).check(z.regex(/^[0-9a-f]{64}$/, { error: 'must be a sha256 in lowercase hex' }))),
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
  ...SPEC_JSON_SHAPE,
  // the previous rule is read under the current one (src/calm/align.ts PREVIOUS_ALIGNMENT_RULE)
  alignment: z.optional(z.literal([ALIGNMENT_RULE, PREVIOUS_ALIGNMENT_RULE], { error: `must be ${JSON.stringify(ALIGNMENT_RULE)}` })),
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
  /** sha256 (hex) of its tokenizer.json (tokenizerDigest); a composition across tokenizers records both. */
  tokenizer?: string;
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

/** composition.json, checked: the spec's fields (SpecJson: absent options are off) and the rest. */
export interface BundleManifest extends SpecJson {
  format: typeof COMPOSITION_FORMAT;
  anchor: ModelRef;
  augment: ModelRef;
  /** Present for a composition across tokenizers: the rule its bridges were trained under. */
  alignment?: typeof ALIGNMENT_RULE;
  training: TrainingInfo;
  metrics: Metrics;
}

export interface BundleMeta {
  anchor: ModelRef;
  augment: ModelRef;
  alignment?: typeof ALIGNMENT_RULE;
  training?: TrainingInfo;
  metrics?: Metrics;
}

/** The spec a checked manifest describes. */
export function specOf(m: BundleManifest): CompositionSpec {
  return specFromJson(m);
}

/** composition.json's text for `spec` and `meta`, checked as import would check it. */
export function manifestJson(spec: CompositionSpec, meta: BundleMeta): string {
  const { connections, ...options } = specToJson(spec);
  const doc = {
    format: COMPOSITION_FORMAT,
    anchor: modelRefOut(meta.anchor),
    augment: modelRefOut(meta.augment),
    connections,
    ...options,
    ...(meta.alignment !== undefined ? { alignment: meta.alignment } : {}),
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
  return json;
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
    ...specToJson(specFromJson(m)), // an option written as off ("none", false, 0) reads as absent
    ...(m.alignment !== undefined ? { alignment: ALIGNMENT_RULE } : {}),
    training: (m.training ?? {}) as TrainingInfo,
    metrics: m.metrics ?? {},
  };
  validateConnections(manifest.connections, manifest.anchor.n_layer, manifest.augment.n_layer, { file });
  validateHeads(manifest.num_heads, manifest.anchor.n_embd, { file });
  return manifest;
}

function modelRefOut(r: ModelRef): ModelRef {
  const out: ModelRef = { n_layer: r.n_layer, n_embd: r.n_embd, vocab_size: r.vocab_size };
  // Key order as written: names first, then sizes.
  return {
    ...(r.id !== undefined ? { id: r.id } : {}),
    ...(r.path !== undefined ? { path: r.path } : {}),
    ...(r.name !== undefined ? { name: r.name } : {}),
    ...out,
    ...(r.tokenizer !== undefined ? { tokenizer: r.tokenizer } : {}),
  };
}

export { tokenizerDigest };

/**
 * The meta of a composition across tokenizers (docs/design.md § Across tokenizers): the
 * alignment rule and both tokenizers' digests added; `meta` as it is for a shared tokenizer.
 */
export async function withAlignment(
  alignment: AlignmentRule | undefined,
  tokenizers: { anchor: Tokenizer; augment: Tokenizer } | undefined,
  meta: BundleMeta,
): Promise<BundleMeta> {
  if (!alignment) return meta;
  if (!tokenizers) throw new Error('a composition across tokenizers records both tokenizers: give them');
  return {
    ...meta,
    alignment,
    anchor: { ...meta.anchor, tokenizer: await tokenizers.anchor.digest() },
    augment: { ...meta.augment, tokenizer: await tokenizers.augment.digest() },
  };
}

/**
 * Loading a bundle: the alignment it was trained under, checked against the models' tokenizers
 * (both recorded digests must match); undefined for a composition of one tokenizer.
 */
export async function loadedAlignment(m: BundleManifest, tokenizers: { anchor?: Tokenizer; augment?: Tokenizer }): Promise<AlignmentRule | undefined> {
  if (!m.alignment) return undefined;
  if (!tokenizers.anchor || !tokenizers.augment) {
    throw new CompositionError('model-mismatch', `${COMPOSITION_FILE}: a composition across tokenizers needs both models' tokenizer.json`, { file: COMPOSITION_FILE, field: 'alignment' });
  }
  checkTokenizers(m, { anchor: await tokenizers.anchor.digest(), augment: await tokenizers.augment.digest() });
  return m.alignment;
}

/**
 * Checks the models' tokenizers (their tokenizerDigest) against the digests composition.json
 * recorded, where it recorded any: a one-line CompositionError naming the side.
 */
export function checkTokenizers(m: BundleManifest, found: { anchor: string; augment: string }): void {
  for (const side of ['anchor', 'augment'] as const) {
    const want = m[side].tokenizer;
    if (want !== undefined && want !== found[side]) {
      const who = side === 'anchor' ? "the anchor's" : "the augmenting model's";
      throw new CompositionError(
        'model-mismatch',
        `${COMPOSITION_FILE}: ${who} tokenizer.json is not the one the bridges were trained with (sha256 ${found[side].slice(0, 12)}…, recorded ${want.slice(0, 12)}…)`,
        { file: COMPOSITION_FILE, field: `${side}.tokenizer` },
      );
    }
  }
}

// The composition spec (docs/design.md § Spec): what a composition is apart from its trained
// weights and its task — the connections, the bridges' options, how fresh bridges start —
// with its one table of defaults (SPEC_DEFAULTS), its checks, its composition.json form and
// the sizes it implies. No tfjs: the UI thread imports this file (and only this one of calm/).
import * as z from 'zod/mini';
import { formatConnections, parseConnections, validateConnections, validateHeads, type Connection } from './connections';
// the presets, for the page's preset buttons (the UI thread imports only this file of calm/)
export { everyConnections, uniformConnections } from './connections';
import { CompositionError } from './errors';
import { BRIDGE_TENSORS, type BridgeWeights } from './types';

export type { Connection };

export const OUTPUT_VARIANTS = ['zero-init', 'rmsnorm'] as const;
export type OutputVariant = (typeof OUTPUT_VARIANTS)[number];

export const INPUT_NORMS = ['none', 'whiten'] as const;
export type InputNorm = (typeof INPUT_NORMS)[number];

/** The most relative-position buckets a bridge may have. */
export const MAX_POSITION_BIAS = 4096;

/**
 * What a composition is, every field explicit (the official CALMConfig names where it has them).
 * Built by resolveSpec from settings, or by specFromJson from a bundle.
 */
export interface CompositionSpec {
  connections: Connection[];
  numHeads: number; // h; D_a % h == 0
  output: OutputVariant;
  /**
   * R > 0: each bridge learns a relative-position bias of its attention scores, per head, for
   * offsets 0 … R−1 (anchor position − augmenting position; R−1 stands for "R−1 or more").
   * 0: none. Only a bias: the mask stays causal.
   */
  positionBias: number;
  /**
   * 'whiten': each bridge maps the augmenting states to (g − μ)·Σ^{-1/2}/√D_g before its
   * projection, with μ, Σ measured once on the training data (src/calm/whiten.ts) and frozen.
   */
  inputNorm: InputNorm;
  /** The anchor state that forms the queries (and the value gate) is RMS-normalised, no learned scale. */
  queryNorm: boolean;
  /** A per-head sigmoid gate on each head's attention output, from the anchor state; starts at 0.5. */
  valueGate: boolean;
}

/** The spec plus how its fresh bridges start: the training hyperparameters that belong to the composition. */
export interface ResolvedSpec extends CompositionSpec {
  /** The position bias at offset 0 of a fresh bridge (0 elsewhere). */
  positionInit: number;
}

/**
 * What a caller asks for (the CLI's options, the page's configuration, the worker protocol, a
 * recipe): any field may be left out, and SPEC_DEFAULTS fills it. Connections as pairs or as
 * text (`-1:f`, `uniform:2`, `every:1`); numHeads 0 means the anchor's.
 */
export type SpecSettings = Partial<Omit<ResolvedSpec, 'connections'>> & { connections?: readonly Connection[] | string };

/**
 * The defaults, in one place: the key-value recipe's composition (docs/reproduction.md has the
 * evidence). One bridge reads the augmenting model's final norm output (`f`) into the
 * anchor's embedding output, with a 4-bucket position bias starting at 5 on offset 0, input
 * whitening, query norm and a value gate; as many heads as the anchor has.
 */
export const SPEC_DEFAULTS: Readonly<Omit<ResolvedSpec, 'connections'> & { connections: string }> = Object.freeze({
  connections: '-1:f',
  numHeads: 0,
  output: 'zero-init',
  positionBias: 4,
  positionInit: 5,
  inputNorm: 'whiten',
  queryNorm: true,
  valueGate: true,
});

/** Every bridge option off: the paper's plain bridge (benchmarks and research baselines name it). */
export const PLAIN_BRIDGE: Readonly<Pick<CompositionSpec, 'positionBias' | 'inputNorm' | 'queryNorm' | 'valueGate'>> = Object.freeze({
  positionBias: 0,
  inputNorm: 'none',
  queryNorm: false,
  valueGate: false,
});

/** The sizes of a model that a spec is resolved and estimated against (GPTConfig and the page's config summary both fit). */
export interface ModelDims {
  nLayer: number;
  nEmbd: number;
  nHead: number;
}

const bad = (message: string) => new CompositionError('bad-spec', message);

function checkSettings(s: SpecSettings): void {
  if (s === null || typeof s !== 'object') throw bad('the composition settings must be an object');
  const int = (name: string, v: unknown, min: number, max: number) => {
    if (v !== undefined && !(Number.isInteger(v) && (v as number) >= min && (v as number) <= max)) {
      throw bad(`${name} must be an integer from ${min} to ${max}, found ${JSON.stringify(v)}`);
    }
  };
  const oneOf = (name: string, v: unknown, values: readonly string[]) => {
    if (v !== undefined && !values.includes(v as string)) throw bad(`${name} must be ${values.map((x) => `"${x}"`).join(' or ')}, found ${JSON.stringify(v)}`);
  };
  const flag = (name: string, v: unknown) => {
    if (v !== undefined && typeof v !== 'boolean') throw bad(`${name} must be true or false, found ${JSON.stringify(v)}`);
  };
  int('numHeads', s.numHeads, 0, 16384);
  oneOf('output', s.output, OUTPUT_VARIANTS);
  int('positionBias', s.positionBias, 0, MAX_POSITION_BIAS);
  if (s.positionInit !== undefined && !(typeof s.positionInit === 'number' && Number.isFinite(s.positionInit))) {
    throw bad(`positionInit must be a finite number, found ${JSON.stringify(s.positionInit)}`);
  }
  oneOf('inputNorm', s.inputNorm, INPUT_NORMS);
  flag('queryNorm', s.queryNorm);
  flag('valueGate', s.valueGate);
  const c = s.connections;
  if (c !== undefined && typeof c !== 'string') {
    const pair = (x: unknown) => Array.isArray(x) && x.length === 2 && x.every((l) => Number.isInteger(l) && l >= -1);
    if (!Array.isArray(c) || !c.every(pair)) throw bad('connections must be text like -1:f or a list of [anchorLayer, augmentLayer] pairs of layers ≥ -1');
  }
}

/**
 * `s` with SPEC_DEFAULTS filling what it leaves out, checked. With `models`, connection text is
 * read against their depths, numHeads 0 becomes the anchor's, and connections and heads are
 * checked against the models; without, connections must be pairs and numHeads positive.
 * Throws a one-line CompositionError.
 */
export function resolveSpec(s: SpecSettings, models?: { anchor: ModelDims; augment: ModelDims }): ResolvedSpec {
  checkSettings(s);
  const d = SPEC_DEFAULTS;
  const given = s.connections ?? d.connections;
  let connections: Connection[];
  let numHeads = s.numHeads || 0;
  if (models) {
    const { anchor, augment } = models;
    connections = typeof given === 'string' ? parseConnections(given, anchor.nLayer, augment.nLayer) : given.map(([a, g]): Connection => [a, g]);
    if (typeof given !== 'string') validateConnections(connections, anchor.nLayer, augment.nLayer);
    numHeads ||= anchor.nHead;
    validateHeads(numHeads, anchor.nEmbd);
  } else {
    if (typeof given === 'string') throw bad(`connections "${given}" can only be read against the two models' depths`);
    connections = given.map(([a, g]): Connection => [a, g]);
    if (numHeads < 1) throw bad('numHeads must be given (the anchor\'s is known only with the models)');
  }
  return {
    connections,
    numHeads,
    output: s.output ?? d.output,
    positionBias: s.positionBias ?? d.positionBias,
    positionInit: s.positionInit ?? d.positionInit,
    inputNorm: s.inputNorm ?? d.inputNorm,
    queryNorm: s.queryNorm ?? d.queryNorm,
    valueGate: s.valueGate ?? d.valueGate,
  };
}

/** The spec alone (what a bundle records), without how fresh bridges start. */
export function specOnly(s: CompositionSpec): CompositionSpec {
  return {
    connections: s.connections.map(([a, g]): Connection => [a, g]),
    numHeads: s.numHeads,
    output: s.output,
    positionBias: s.positionBias,
    inputNorm: s.inputNorm,
    queryNorm: s.queryNorm,
    valueGate: s.valueGate,
  };
}

/** "-1:f, 4 heads, zero-init, position bias 4, whiten, query norm, value gate": for messages and logs. */
export function describeSpec(s: CompositionSpec): string {
  return [
    formatConnections(s.connections),
    `${s.numHeads} heads`,
    s.output,
    ...(s.positionBias ? [`position bias ${s.positionBias}`] : []),
    ...(s.inputNorm === 'whiten' ? ['input whitening'] : []),
    ...(s.queryNorm ? ['query norm'] : []),
    ...(s.valueGate ? ['value gate'] : []),
  ].join(', ');
}

// ---- composition.json ----------------------------------------------------------------------

const layer = z.int({ error: 'must be an integer layer' }).check(z.gte(-1, { error: 'must be -1 (embedding output) or a block index' }));
const positiveUpTo = (max: number) =>
  z.int({ error: 'must be an integer' }).check(z.positive({ error: 'must be positive' }), z.maximum(max, { error: `must be at most ${max}` }));

/** The spec's fields of composition.json, as a zod shape (src/calm/bundle-manifest.ts adds the rest). */
export const SPEC_JSON_SHAPE = {
  connections: z.array(z.tuple([layer, layer], { error: 'must be a pair [anchorLayer, augmentLayer]' }), {
    error: 'must be a list of [anchorLayer, augmentLayer] pairs',
  }),
  num_heads: positiveUpTo(16384),
  output: z.enum(OUTPUT_VARIANTS, { error: 'must be "zero-init" or "rmsnorm"' }),
  position_bias: z.optional(z.int({ error: 'must be an integer' }).check(z.nonnegative({ error: 'must not be negative' }), z.maximum(MAX_POSITION_BIAS, { error: `must be at most ${MAX_POSITION_BIAS}` }))),
  input_norm: z.optional(z.enum(INPUT_NORMS, { error: 'must be "none" or "whiten"' })),
  query_norm: z.optional(z.boolean({ error: 'must be true or false' })),
  value_gate: z.optional(z.boolean({ error: 'must be true or false' })),
};

/**
 * The spec as composition.json holds it (snake_case as the official CALMConfig). An option
 * that is off is left out, so bundles written before it existed read the same.
 */
export interface SpecJson {
  connections: Connection[];
  num_heads: number;
  output: OutputVariant;
  position_bias?: number;
  input_norm?: InputNorm;
  query_norm?: boolean;
  value_gate?: boolean;
}

export function specToJson(s: CompositionSpec): SpecJson {
  return {
    connections: s.connections.map(([a, g]): Connection => [a, g]),
    num_heads: s.numHeads,
    output: s.output,
    ...(s.positionBias ? { position_bias: s.positionBias } : {}),
    ...(s.inputNorm === 'whiten' ? { input_norm: 'whiten' as const } : {}),
    ...(s.queryNorm ? { query_norm: true } : {}),
    ...(s.valueGate ? { value_gate: true } : {}),
  };
}

/** The spec of composition.json's fields (already checked against SPEC_JSON_SHAPE): an absent option is off. */
export function specFromJson(j: SpecJson): CompositionSpec {
  return {
    connections: j.connections.map(([a, g]): Connection => [a, g]),
    numHeads: j.num_heads,
    output: j.output,
    positionBias: j.position_bias ?? 0,
    inputNorm: j.input_norm ?? 'none',
    queryNorm: j.query_norm ?? false,
    valueGate: j.value_gate ?? false,
  };
}

// ---- sizes ---------------------------------------------------------------------------------

const F32 = 4;

export type BridgeShapes = Partial<Record<keyof BridgeWeights, number[]>>;

/**
 * Shapes of one bridge's tensors in BridgeWeights' [in, out] layout (the bundle stores the
 * linear weights transposed): proj [D_g, D_a] + [D_a], q/k/v/o [D_a, D_a] + [D_a]; normW [D_a]
 * for 'rmsnorm', posBias [h, R], frozen in.mean [D_g] + in.whiten [D_g, D_g] for 'whiten',
 * gate [D_a, h] + [h] for the value gate.
 */
export function bridgeShapes(spec: Omit<CompositionSpec, 'connections'>, anchorWidth: number, augmentWidth: number): BridgeShapes {
  const Da = anchorWidth;
  const Dg = augmentWidth;
  const h = spec.numHeads;
  const out: BridgeShapes = { projW: [Dg, Da], projB: [Da] };
  for (const p of ['q', 'k', 'v', 'o'] as const) {
    out[`${p}W`] = [Da, Da];
    out[`${p}B`] = [Da];
  }
  if (spec.output === 'rmsnorm') out.normW = [Da];
  if (spec.positionBias > 0) out.posBias = [h, spec.positionBias];
  if (spec.inputNorm === 'whiten') {
    out.inMean = [Dg];
    out.inWhiten = [Dg, Dg];
  }
  if (spec.valueGate) {
    out.gateW = [Da, h];
    out.gateB = [h];
  }
  return out;
}

/** Values of one bridge: `trainable` (what the optimizer updates) and `frozen` (input whitening's statistics). */
export function bridgeParameterCount(
  spec: Omit<CompositionSpec, 'connections'>,
  anchorWidth: number,
  augmentWidth: number,
): { trainable: number; frozen: number } {
  const shapes = bridgeShapes(spec, anchorWidth, augmentWidth);
  const count = { trainable: 0, frozen: 0 };
  for (const t of BRIDGE_TENSORS) {
    const shape = shapes[t.field];
    if (shape) count[t.frozen ? 'frozen' : 'trainable'] += shape.reduce((a, b) => a * b, 1);
  }
  return count;
}

export interface CompositionEstimate {
  bridges: number; // one per connection
  perBridge: number; // trainable parameters of one bridge (all bridges have the same size)
  trainableParameters: number;
  bridgeBytes: number; // the trainable parameters, float32
  frozenBytes: number; // the bridges' frozen statistics (input whitening), float32: no optimizer state
  adamStateBytes: number; // Adam's two moments: 2 × bridgeBytes
  /**
   * A rough estimate, not a measurement: per bridge the projected K and V [B, T, D_a] × 2,
   * Q [B, T, D_a], the scores [B, h, T, T] and the output [B, T, D_a], summed over bridges.
   * It leaves out the frozen models' own activations, gradients and backend overheads.
   */
  activationBytesPerStep: number;
  /**
   * Frozen work cached once per example: the augmenting hidden states at each distinct
   * connected augment layer [T, D_g], plus the anchor's residual stream entering the first
   * connected anchor layer [T, D_a].
   */
  cacheBytesPerExample: number;
  cacheBytes: number; // cacheBytesPerExample × numExamples
}

/**
 * Sizes of `spec` between models of widths anchor.nEmbd (D_a) and augment.nEmbd (D_g) at batch
 * size B = `batch` and sequence length T (numExamples defaults to 1). Float32 byte counts.
 */
export function compositionEstimate(
  spec: CompositionSpec,
  anchor: Pick<ModelDims, 'nEmbd'>,
  augment: Pick<ModelDims, 'nEmbd'>,
  opts: { batch: number; T: number; numExamples?: number },
): CompositionEstimate {
  const { batch: B, T } = opts;
  const numExamples = opts.numExamples ?? 1;
  for (const [name, v] of [
    ['batch', B],
    ['T', T],
    ['numExamples', numExamples],
  ] as const) {
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`compositionEstimate: ${name} must be a non-negative integer, found ${v}`);
  }
  const Da = anchor.nEmbd;
  const Dg = augment.nEmbd;
  const n = spec.connections.length;
  const per = bridgeParameterCount(spec, Da, Dg);
  const trainableParameters = per.trainable * n;
  const bridgeBytes = trainableParameters * F32;
  const activationsPerBridge = 4 * B * T * Da + B * spec.numHeads * T * T; // K, V, Q, output; scores
  const augmentLayers = new Set(spec.connections.map(([, g]) => g)).size;
  const cachePerExample = n === 0 ? 0 : (augmentLayers * T * Dg + T * Da) * F32;
  return {
    bridges: n,
    perBridge: per.trainable,
    trainableParameters,
    bridgeBytes,
    frozenBytes: per.frozen * n * F32,
    adamStateBytes: 2 * bridgeBytes,
    activationBytesPerStep: n * activationsPerBridge * F32,
    cacheBytesPerExample: cachePerExample,
    cacheBytes: cachePerExample * numExamples,
  };
}

/** The head counts a bridge may have: the divisors of the anchor width D_a. */
export function headChoices(anchorWidth: number): number[] {
  const out: number[] = [];
  for (let h = 1; h <= anchorWidth; h++) if (anchorWidth % h === 0) out.push(h);
  return out;
}

// The engine behind the worker: every CalmWorkerApi call, over the headless core. It owns
// every tensor (models, bridges, decoders) and runs the same in the Web Worker and in Node
// tests; the worker entry (worker.ts) only adds the .wasm URLs and Comlink.
//
// One long job at a time (init, compose, import, training, evaluation, generation): a second
// one is refused with a one-line message rather than queued, so the UI always knows what runs.
// Quick synchronous calls (attention, setDisabled, exportBundle, listModels) run any time:
// the worker is single-threaded, so they land between two training steps.
import { tf } from '../model/tf';
import { GPT, disposeResult } from '../model/gpt';
import type { GPTConfig } from '../model/config';
import { countParameters, initWeights } from '../model/init';
import { cachedDecoder, sampleToken, type Decoder } from '../model/sampling';
import { parseBuiltinIndex, type BuiltinIndex, type BuiltinModel } from '../io/builtin';
import { errorMessage, ModelLoadError } from '../io/errors';
import { checkpointParameters, disposeWeights, loadModelFolder, parseConfig } from '../io/model-folder';
import { readSafetensorsHeader } from '../io/safetensors';
import { memorySource, urlSource, type FileSource } from '../io/source';
import { Tokenizer, compareVocabularies } from '../tokenizer';
import { Composition, composedDecoder } from '../calm/compose';
import { initBridges } from '../calm/bridge';
import { KV_RECIPE } from '../tasks/recipe';
import { validateConnections, validateHeads } from '../calm/connections';
import { compositionEstimate } from '../calm/estimate';
import {
  bridgesFromRaw,
  disposeBridges,
  exportBundle as writeBundle,
  parseBundle,
  readBundleManifest,
  type Metrics,
  type ModelRef,
  type TrainingInfo,
} from '../calm/bundle';
import { codecOf, TABLE_ROWS } from '../calm/experiment';
import type { BridgeWeights, CompositionSpec } from '../calm/types';
import { crossAttentionWeights } from '../kernels/cross-attention';
import { encodeExamples } from '../train/batch';
import { buildFrozenCache, disposeFrozenCache, frozenCacheKey, trainComposition, type FrozenCache } from '../train/compose-train';
import type { EncodedExample } from '../train/batch';
import { answerChance, KV_SPEC, makeExamples, makeKeyTable, type KeyTable } from '../tasks/kv';
import { chooseBackend, startBackend, type GpuLike } from './backend-choice';
import type {
  AttentionMap,
  BackendChoice,
  BackendKind,
  BackendReport,
  BundleFiles,
  CalmWorkerApi,
  Column,
  CompositionInfo,
  CompositionSettings,
  EvaluationTable,
  GenerateSettings,
  ModelCard,
  ModelFile,
  TableRow,
  TokenEvent,
  TrainEvent,
  TrainSettings,
  TrainSummary,
} from './protocol';

export interface EngineOptions {
  /** Fetches model files (tests pass a shim reading public/models). Default: global fetch. */
  fetch?: typeof fetch;
  /** Runs once before the WebAssembly backend first starts: the worker calls setWasmPaths here. */
  wasmSetup?: () => void;
  /** Registers the WebGPU backend (and any kernels of its own); default: imports tfjs-backend-webgpu. */
  webgpuSetup?: () => Promise<void>;
  /** Stands in for navigator.gpu (tests). */
  gpu?: GpuLike;
  /** Called once when the WebGPU device in use is lost: the worker reports it as a crash, so the page restarts it. */
  onDeviceLost?: (message: string) => void;
}

/** Held-out examples scored during training, at most: exact match decodes every one. */
export const HELD_OUT_CAP = 200;
/** Sizes CompositionInfo's memory figures are given for. */
const ESTIMATE = { batch: 64, T: 16 };
/** The probe: a forward pass of a random GPT shaped like the built-in models, on [B, T] ids. */
const PROBE_CONFIG: GPTConfig = {
  modelType: 'gpt2',
  vocabSize: 98,
  nPositions: 32,
  nEmbd: 96,
  nLayer: 3,
  nHead: 4,
  layerNormEpsilon: 1e-5,
  activation: 'gelu_new',
};
const PROBE_SHAPE: [number, number] = [8, 16];
const PROBE_PASSES = 3;

type JobKind = 'init' | 'compose' | 'import' | 'training' | 'evaluation' | 'generation';
const ACTION: Record<JobKind, string> = {
  init: 'start the backend',
  compose: 'compose',
  import: 'import a composition',
  training: 'train',
  evaluation: 'evaluate',
  generation: 'generate',
};
const ACTIVITY: Record<JobKind, string> = {
  init: 'starting the backend',
  compose: 'composing',
  import: 'importing a composition',
  training: 'training',
  evaluation: 'evaluation',
  generation: 'generation',
};

interface LoadedModel {
  entry: BuiltinModel;
  gpt: GPT;
  tokenizer: Tokenizer;
  card?: string;
}

interface Current {
  settings: CompositionSettings;
  comp: Composition;
  anchor: LoadedModel;
  augment: LoadedModel;
  /** What composition.json will say about training and results (accumulates over train calls). */
  training?: TrainingInfo;
  metrics?: Metrics;
}

const nextTick = () => new Promise<void>((r) => setTimeout(r, 0));

function isAbort(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { name?: unknown }).name === 'AbortError';
}

function abortError(message: string): Error {
  const e = new Error(message);
  e.name = 'AbortError';
  return e;
}

/** The error as the UI shows it: one line, the name kept (Comlink carries name and message). */
function oneLineError(e: unknown): Error {
  const message = errorMessage(e).replace(/\s*\n\s*/g, ' ').trim() || 'unknown error';
  if (e instanceof Error && e.message === message) return e;
  const out = new Error(message, { cause: e });
  if (e instanceof Error) out.name = e.name;
  return out;
}

/** Calls a callback that may be a Comlink proxy (its result a promise that may reject). */
function notify<T>(cb: ((v: T) => unknown) | undefined, value: T): void {
  if (!cb) return;
  try {
    const r = cb(value);
    if (r instanceof Promise) r.catch(() => {});
  } catch {
    // a listener's failure must not stop the work it listens to
  }
}

/**
 * Exact-match accuracy as train/evaluate.ts's exactMatch computes it (greedy, batched by prompt
 * length, one token past the longest answer), but reading each step's argmax asynchronously
 * and yielding between batches: WebGPU has no usable synchronous readback, and stop() needs a
 * gap to arrive in. Returns the number of exact matches; throws an AbortError when `signal` fires.
 */
async function exactMatchAsync(
  makeDecoder: (B: number) => Decoder,
  codec: { encode(text: string): number[]; decode(ids: number[]): string; eosId: number },
  examples: { prompt: string; completion: string }[],
  opts: { maxLength: number; signal?: AbortSignal; onBatch?: (size: number) => void; batchSize?: number },
): Promise<number> {
  const batchSize = opts.batchSize ?? 64;
  const byLength = new Map<number, number[]>();
  const prompts = examples.map((e) => codec.encode(e.prompt));
  const answers = examples.map((e) => codec.encode(e.completion).length);
  prompts.forEach((p, i) => {
    const group = byLength.get(p.length);
    if (group) group.push(i);
    else byLength.set(p.length, [i]);
  });
  let correct = 0;
  for (const group of byLength.values()) {
    for (let s = 0; s < group.length; s += batchSize) {
      if (opts.signal?.aborted) throw abortError('evaluation cancelled');
      const chunk = group.slice(s, s + batchSize);
      const B = chunk.length;
      const maxNew = Math.max(...chunk.map((i) => answers[i])) + 1;
      const out: number[][] = chunk.map(() => []);
      const done = new Array<boolean>(B).fill(false);
      const decoder = makeDecoder(B);
      try {
        let next = chunk.map((i) => prompts[i]);
        let fed = 0;
        for (let step = 0; step < maxNew && fed + next[0].length <= opts.maxLength; step++) {
          const logits = decoder.feed(next); // [B, V]
          const argmax = tf.argMax(logits, -1);
          logits.dispose();
          let ids: Int32Array;
          try {
            ids = (await argmax.data()) as Int32Array;
          } finally {
            argmax.dispose();
          }
          fed += next[0].length;
          next = [];
          for (let b = 0; b < B; b++) {
            if (!done[b]) {
              if (ids[b] === codec.eosId) done[b] = true;
              else out[b].push(ids[b]);
            }
            next.push([ids[b]]);
          }
          if (done.every(Boolean)) break;
        }
      } finally {
        decoder.dispose();
      }
      chunk.forEach((i, j) => {
        if (codec.decode(out[j]) === examples[i].completion) correct += 1;
      });
      opts.onBatch?.(B);
      await nextTick();
    }
  }
  return correct;
}

function requireInteger(name: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer from ${min} to ${max}`;
    throw new Error(`${name} must be ${range}, found ${JSON.stringify(v)}`);
  }
  return v;
}

export class CalmEngine implements CalmWorkerApi {
  private readonly fetchFn: typeof fetch;
  private modelsUrl = '';
  private index: BuiltinIndex | null = null;
  private wasmReady = false;
  private webgpuReady = false;
  /** Models by id: the load in flight or done. A failed load is forgotten, so it is retried. */
  private readonly models = new Map<string, Promise<LoadedModel>>();
  private readonly loaded = new Map<string, LoadedModel>();
  private readonly cards = new Map<string, Promise<ModelCard>>();
  /** Model folders the person imported, by id: read from memory instead of modelsUrl. */
  private readonly importedFiles = new Map<string, Record<string, Uint8Array>>();
  private current: Current | null = null;
  /** Bridges switched off at inference; kept apart from comp.disabled, which training clears. */
  private disabled: number[] = [];
  private keyTable: KeyTable | null = null;
  /**
   * The frozen models' work of the last training data (it depends on no bridge parameter), kept
   * for the next Train on the same two models, layers and examples. At most one is held.
   */
  private frozen: { key: string; anchor: GPT; augment: GPT; cache: FrozenCache } | null = null;
  private job: { kind: JobKind; abort: AbortController } | null = null;
  private readonly watched = new WeakSet<GPUDevice>();
  private deviceLost: string | null = null;

  constructor(private readonly opts: EngineOptions = {}) {
    this.fetchFn = opts.fetch ?? ((...a) => fetch(...a));
  }

  // ---- the API ------------------------------------------------------------------------

  init(opts: { backend: BackendChoice; modelsUrl: string }): Promise<BackendReport> {
    return this.run('init', async () => {
      let url: URL;
      try {
        url = new URL(opts.modelsUrl);
      } catch {
        throw new Error(`modelsUrl must be an absolute URL (e.g. https://host/models), found ${JSON.stringify(opts.modelsUrl)}`);
      }
      this.reset();
      const base = url.href.replace(/\/+$/, '');
      const indexFile = `${base}/index.json`;
      const text = await urlSource(base, this.fetchFn).readText('index.json');
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (e) {
        throw new ModelLoadError('bad-json', `${indexFile} is not valid JSON (${errorMessage(e)})`, { file: indexFile });
      }
      const index = parseBuiltinIndex(json, indexFile);
      const report = await startBackend(opts.backend, this.backendDeps());
      this.modelsUrl = base;
      this.index = index;
      return report;
    });
  }

  measureBackends(): Promise<BackendReport> {
    return this.run('init', () => chooseBackend('auto', this.backendDeps()));
  }

  switchBackend(backend: BackendKind): Promise<void> {
    return this.run('init', async () => {
      if (backend !== 'webgpu' && backend !== 'wasm' && backend !== 'cpu') throw new Error(`unknown backend ${JSON.stringify(backend)}`);
      if (tf.getBackend() === backend) return;
      // tfjs moves each tensor to the new backend on first use, reading it synchronously where it
      // lives; WebGPU's synchronous read is not reliable, so nothing leaves it.
      if (tf.getBackend() === 'webgpu') {
        throw new Error('the worker cannot leave WebGPU (its tensors cannot be read back synchronously); open the page with another backend instead');
      }
      if (!(await this.activate(backend))) throw new Error(`the ${backend} backend could not be started`);
    });
  }

  listModels(): Promise<ModelCard[]> {
    return this.guard(async () => Promise.all(this.requireIndex().models.map((m) => this.card(m))));
  }

  compose(settings: CompositionSettings): Promise<CompositionInfo> {
    return this.run('compose', async () => {
      try {
        const [anchor, augment] = await this.pair(settings.anchor, settings.augment);
        const spec = this.checkSpec(settings, anchor.gpt.config, augment.gpt.config);
        const seed = requireInteger('the seed', settings.seed, 0);
        const Da = anchor.gpt.config.nEmbd;
        const Dg = augment.gpt.config.nEmbd;
        const bridges = initBridges(spec, Da, Dg, seed, KV_RECIPE.positionInit); // as composeModels builds them
        this.replace({
          settings: { ...settings, connections: spec.connections, numHeads: spec.numHeads },
          comp: new Composition(anchor.gpt, augment.gpt, spec, bridges),
          anchor,
          augment,
        });
        return this.info();
      } finally {
        this.prune();
      }
    });
  }

  train(settings: TrainSettings, onEvent: (e: TrainEvent) => void): Promise<TrainSummary> {
    return this.run('training', async (signal) => {
      const cur = this.requireComposition();
      const steps = requireInteger('steps', settings.steps, 1, 1_000_000);
      const batch = requireInteger('the batch size', settings.batch, 1, 4096);
      const seed = requireInteger('the training seed', settings.seed, 0);
      const evalEvery = requireInteger('evalEvery', settings.evalEvery, 0);
      if (!(typeof settings.lr === 'number' && settings.lr > 0 && Number.isFinite(settings.lr))) {
        throw new Error(`the learning rate must be a positive number, found ${JSON.stringify(settings.lr)}`);
      }
      if (!Array.isArray(settings.examples) || settings.examples.length === 0) {
        throw new Error('there are no training examples');
      }
      const tokenizer = cur.anchor.tokenizer;
      const codec = codecOf(tokenizer);
      const maxLength = this.context(cur);
      const data = encodeExamples(codec, settings.examples, maxLength);
      const heldOut = (settings.heldOut ?? []).slice(0, HELD_OUT_CAP);
      const emit = (e: TrainEvent) => notify(onEvent, e);
      const comp = cur.comp;
      const t0 = performance.now();
      let heldOutAccuracy: number | undefined;
      let result: Awaited<ReturnType<typeof trainComposition>> | null = null;

      // Every bridge trains; the ablation switches apply at inference only.
      comp.disabled.clear();
      try {
        const padId = tokenizer.padId ?? 0;
        const cache = await this.frozenWork(cur, data, padId, (done, total, reused) =>
          emit({ stage: 'caching', step: 0, steps, cacheDone: done, cacheTotal: total, ...(reused ? { cacheReused: true } : {}) }),
        signal);
        result = await trainComposition(comp, data, {
          cache,
          batchSize: batch,
          steps,
          lr: settings.lr,
          seed,
          padId,
          signal,
          progressEvery: 1,
          evalEvery: heldOut.length > 0 ? evalEvery : 0,
          evaluate: async (step): Promise<Record<string, number>> => {
            if (signal.aborted) return {};
            emit({ stage: 'evaluating', step, steps });
            let correct: number;
            try {
              correct = await exactMatchAsync((B) => composedDecoder(comp, B), codec, heldOut, { maxLength, signal });
            } catch (e) {
              // Stopped mid-evaluation: the loop ends before the next step. Only our own signal
              // counts: a lost WebGPU device rejects its reads with an AbortError too.
              if (isAbort(e) && signal.aborted) return {};
              throw e;
            }
            heldOutAccuracy = correct / heldOut.length;
            return { heldOut: heldOutAccuracy };
          },
          onProgress: (p) =>
            emit({
              stage: 'training',
              step: p.step,
              steps: p.steps,
              loss: p.loss,
              stepsPerSecond: p.stepsPerSecond,
              etaSeconds: p.etaSeconds,
              heldOutAccuracy: p.metrics?.heldOut,
            }),
        });
      } catch (e) {
        // Stopped while caching: no step was taken. A lost WebGPU device also rejects its reads
        // (mapAsync) with an AbortError; that is a fault, not a stop, and must reach the page
        // as one (the run stays resumable from its last checkpoint).
        if (!(isAbort(e) && signal.aborted)) throw e;
      } finally {
        this.applyDisabled();
      }

      const seconds = (performance.now() - t0) / 1000;
      const summary: TrainSummary = result
        ? {
            stopped: result.stopped,
            message: result.message,
            steps: result.steps,
            seconds,
            finalLoss: result.losses.at(-1),
            heldOutAccuracy,
          }
        : { stopped: 'cancelled', steps: 0, seconds, heldOutAccuracy };
      emit({ stage: 'done', step: summary.steps, steps, loss: summary.finalLoss, heldOutAccuracy });
      const before = cur.training ?? {};
      cur.training = {
        ...before,
        steps: (before.steps ?? 0) + summary.steps,
        lr: settings.lr,
        batch,
        seed,
        examples: data.length,
        seconds: Math.round(((before.seconds ?? 0) + seconds) * 10) / 10,
        init_seed: cur.settings.seed,
      };
      cur.metrics = {
        ...cur.metrics,
        ...(summary.finalLoss !== undefined ? { final_loss: summary.finalLoss } : {}),
        ...(heldOutAccuracy !== undefined ? { held_out_accuracy: heldOutAccuracy, held_out_n: heldOut.length } : {}),
      };
      return summary;
    });
  }

  stop(): void {
    const job = this.job;
    if (job && (job.kind === 'training' || job.kind === 'evaluation' || job.kind === 'generation')) job.abort.abort();
  }

  evaluate(opts: { n: number; seed: number }, onProgress?: (done: number, total: number) => void): Promise<EvaluationTable> {
    return this.run('evaluation', async (signal) => {
      const cur = this.requireComposition();
      const n = requireInteger('n', opts.n, 1, 100_000);
      const seed = requireInteger('the seed', opts.seed, 0);
      const table = (this.keyTable ??= makeKeyTable(KV_SPEC));
      const columns: Column[] = ['anchor', 'augment', 'composed'];
      const codec = codecOf(cur.anchor.tokenizer);
      const total = TABLE_ROWS.length * columns.length * n;
      const out = {} as EvaluationTable['table'];
      const chance = {} as EvaluationTable['chance'];
      let done = 0;
      const progress = () => notify(onProgress ? (d: number) => onProgress(d, total) : undefined, done);
      progress();
      for (const row of TABLE_ROWS) {
        // the examples evaluateTable (calm/experiment.ts) draws, so the CLI and the app agree
        const examples = makeExamples(row.task, n, { seed: seed + 9001, table, keys: row.keys });
        const task = row.task as TableRow;
        chance[task] = answerChance(examples).share;
        out[task] = { anchor: 0, augment: 0, composed: 0 };
        for (const column of columns) {
          const correct = await exactMatchAsync(this.decoders(cur, column), codec, examples, {
            maxLength: this.context(cur),
            signal,
            onBatch: (size) => {
              done += size;
              progress();
            },
          });
          out[task][column] = correct / n;
        }
      }
      return { table: out, chance, n };
    });
  }

  generate(settings: GenerateSettings, onToken: (t: TokenEvent) => void): Promise<{ text: string }> {
    return this.run('generation', async (signal) => {
      const cur = this.requireComposition();
      const column = settings.column;
      if (column !== 'anchor' && column !== 'augment' && column !== 'composed') {
        throw new Error(`column must be anchor, augment or composed, found ${JSON.stringify(column)}`);
      }
      const maxTokens = requireInteger('maxTokens', settings.maxTokens, 0);
      const temperature = settings.temperature ?? 0;
      if (!(typeof temperature === 'number' && temperature >= 0 && Number.isFinite(temperature))) {
        throw new Error(`the temperature must be a number ≥ 0, found ${JSON.stringify(settings.temperature)}`);
      }
      const tokenizer = cur.anchor.tokenizer;
      const prompt = tokenizer.encode(settings.prompt ?? '');
      if (prompt.length === 0) throw new Error('the prompt is empty: the models need at least one token to continue');
      const maxLength =
        column === 'anchor'
          ? cur.anchor.gpt.config.nPositions
          : column === 'augment'
            ? cur.augment.gpt.config.nPositions
            : this.context(cur);
      if (prompt.length > maxLength) {
        throw new Error(`the prompt is ${prompt.length} tokens but the ${column === 'composed' ? "models'" : 'model\'s'} context is ${maxLength}`);
      }
      const decoder = this.decoders(cur, column)(1);
      const ids: number[] = [];
      try {
        let next = prompt;
        // A position is fed once; the last one fed must lie inside the context.
        while (ids.length < maxTokens && prompt.length + ids.length <= maxLength && !signal.aborted) {
          const logits = decoder.feed([next]); // [1, V]
          let row: Float32Array;
          try {
            row = (await logits.data()) as Float32Array;
          } finally {
            logits.dispose();
          }
          const { id, prob } = sampleToken(row, { temperature });
          if (id === tokenizer.eosId) break;
          ids.push(id);
          notify(onToken, { text: tokenizer.decode([id]), prob });
          next = [id];
          await nextTick(); // lets stop() through
        }
      } finally {
        decoder.dispose();
      }
      return { text: tokenizer.decode(ids) };
    });
  }

  attention(opts: { prompt: string; connection: number }): Promise<AttentionMap> {
    return this.guard(async () => {
      const cur = this.requireComposition();
      const n = cur.comp.spec.connections.length;
      const i = requireInteger('the connection index', opts.connection, 0, n - 1);
      const tokenizer = cur.anchor.tokenizer;
      const ids = tokenizer.encode(opts.prompt ?? '');
      if (ids.length === 0) throw new Error('the prompt is empty');
      const context = this.context(cur);
      if (ids.length > context) throw new Error(`the prompt is ${ids.length} tokens but the models' context is ${context}`);
      const w = tf.tidy(() => cur.comp.attentionWeights(tf.tensor2d([ids], [1, ids.length], 'int32'), i, crossAttentionWeights)); // [h, T, S]
      let weights: number[][][];
      try {
        weights = (await w.array()) as number[][][];
      } finally {
        w.dispose();
      }
      return { tokens: ids.map((id) => tokenizer.idToToken(id) ?? ''), heads: cur.comp.spec.numHeads, weights };
    });
  }

  setDisabled(connections: number[]): Promise<void> {
    return this.guard(async () => {
      const cur = this.requireComposition();
      const n = cur.comp.spec.connections.length;
      if (!Array.isArray(connections)) throw new Error('setDisabled needs a list of connection indices');
      for (const i of connections) requireInteger('a connection index', i, 0, n - 1);
      this.disabled = [...new Set(connections)].sort((a, b) => a - b);
      if (this.job?.kind !== 'training') this.applyDisabled();
    });
  }

  exportBundle(): Promise<BundleFiles> {
    return this.guard(async () => {
      const cur = this.requireComposition();
      // A snapshot taken synchronously, so it is one step's bridges even while training goes
      // on between the awaits below (a checkpoint); writeBundle reads with dataSync, and reading
      // first with data() caches the values, so that read is free (WebGPU has no usable
      // synchronous readback, and a step must not change the tensors in between).
      const snapshot = cur.comp.bridges.map(
        (b) => Object.fromEntries(Object.entries(b).filter(([, v]) => v).map(([k, v]) => [k, tf.clone(v as tf.Tensor)])) as unknown as BridgeWeights,
      );
      try {
        await Promise.all(snapshot.flatMap((b) => Object.values(b) as tf.Tensor[]).map((v) => v.data()));
        return this.writeFiles(cur, snapshot);
      } finally {
        for (const b of snapshot) for (const t of Object.values(b) as tf.Tensor[]) t.dispose();
      }
    });
  }

  private writeFiles(cur: Current, bridges: BridgeWeights[]): BundleFiles {
    const ref = (m: LoadedModel): ModelRef => ({
        id: m.entry.id,
        n_layer: m.gpt.config.nLayer,
        n_embd: m.gpt.config.nEmbd,
        vocab_size: m.gpt.config.vocabSize,
      });
      const files = writeBundle(cur.comp.spec, bridges, {
        anchor: ref(cur.anchor),
        augment: ref(cur.augment),
        training: { ...cur.training, init_seed: cur.settings.seed },
        metrics: cur.metrics,
      });
      const bytes = files['bridge.safetensors'];
      const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer;
      return { composition: files['composition.json'], bridge: (whole ? bytes.buffer : bytes.slice().buffer) as ArrayBuffer };
  }

  importBundle(files: BundleFiles): Promise<CompositionSettings> {
    return this.run('import', async () => {
      try {
        if (typeof files?.composition !== 'string' || !(files.bridge instanceof ArrayBuffer)) {
          throw new Error('a composition bundle needs composition.json (text) and bridge.safetensors (bytes)');
        }
        const manifest = readBundleManifest(files.composition);
        const index = this.requireIndex();
        const name = (r: ModelRef) => r.id ?? r.name ?? r.path ?? '?';
        const missing = [manifest.anchor, manifest.augment].filter((r) => !r.id || !index.models.some((m) => m.id === r.id));
        if (missing.length > 0) {
          const list = [...new Set(missing.map(name))];
          throw new Error(
            `this composition needs the models ${name(manifest.anchor)} (anchor) and ${name(manifest.augment)} (augmenting); ` +
              `${list.join(' and ')} ${list.length > 1 ? 'are' : 'is'} not among the loaded models: load ${list.length > 1 ? 'them' : 'it'} first`,
          );
        }
        const [anchor, augment] = await this.pair(manifest.anchor.id!, manifest.augment.id!);
        const parsed = parseBundle(
          { composition: files.composition, bridge: new Uint8Array(files.bridge) },
          { anchor: anchor.gpt.config, augment: augment.gpt.config },
        );
        const training = manifest.training;
        const seed = [training.init_seed, training.seed].find((s): s is number => Number.isInteger(s) && (s as number) >= 0) ?? 0;
        const settings: CompositionSettings = {
          anchor: anchor.entry.id,
          augment: augment.entry.id,
          connections: parsed.spec.connections,
          numHeads: parsed.spec.numHeads,
          output: parsed.spec.output,
          seed,
          // what the bundle says, so that composing these settings again builds the same bridges
          positionBias: parsed.spec.positionBias ?? 0,
          inputNorm: parsed.spec.inputNorm ?? 'none',
          queryNorm: parsed.spec.queryNorm ?? false,
          valueGate: parsed.spec.valueGate ?? false,
        };
        this.replace({
          settings,
          comp: new Composition(anchor.gpt, augment.gpt, parsed.spec, bridgesFromRaw(parsed.bridges)),
          anchor,
          augment,
          training,
          metrics: manifest.metrics,
        });
        return { ...settings, connections: settings.connections.map(([a, g]): [number, number] => [a, g]) };
      } finally {
        this.prune();
      }
    });
  }

  importModel(files: ModelFile[], opts: { id: string; title?: string; description?: string }): Promise<ModelCard> {
    return this.guard(async () => {
      const index = this.requireIndex();
      if (!Array.isArray(files) || files.some((f) => typeof f?.name !== 'string' || !(f.bytes instanceof ArrayBuffer))) {
        throw new Error('a model folder is a list of named files (config.json, model.safetensors, tokenizer.json)');
      }
      const base = String(opts?.id ?? '').trim().replace(/[^\w.-]+/g, '-').replace(/^-+|-+$/g, '') || 'imported';
      const title = opts.title?.trim() || base;
      const map: Record<string, Uint8Array> = {};
      for (const f of files) map[f.name.split('/').at(-1)!] = new Uint8Array(f.bytes);
      const missing = ['config.json', 'model.safetensors', 'tokenizer.json'].filter((n) => !(n in map));
      if (missing.length > 0) {
        throw new Error(`${title} lacks ${missing.join(', ')}: a model folder in Hugging Face layout needs config.json, model.safetensors and tokenizer.json`);
      }
      // Checks every file (config fields, tokenizer ids against vocab_size, each tensor).
      const folder = await loadModelFolder(memorySource(title, map));
      let id = base;
      for (let i = 2; index.models.some((m) => m.id === id && !this.importedFiles.has(m.id)); i++) id = `${base}-${i}`;
      try {
        Tokenizer.fromJSON(folder.tokenizerJson, `${title}/tokenizer.json`);
      } finally {
        disposeWeights(folder.weights); // loaded again from memory when composed
      }
      const entry: BuiltinModel = { id, role: 'augment', title, description: opts.description ?? 'Imported by you', path: `imported/${id}` };
      // Replacing an import of the same id: forget what was loaded from the old files.
      if (this.importedFiles.has(id)) {
        const old = this.loaded.get(id);
        if (old && this.current?.anchor.entry.id !== id && this.current?.augment.entry.id !== id) disposeWeights(old.gpt.weights);
        this.loaded.delete(id);
        this.models.delete(id);
        this.cards.delete(id);
      }
      this.importedFiles.set(id, map);
      this.index = { ...index, models: [...index.models.filter((m) => m.id !== id), entry] };
      return this.card(entry);
    });
  }

  debug(action: 'crash' | 'lose-device'): Promise<string> {
    return this.guard(async () => {
      if (action === 'crash') {
        setTimeout(() => {
          throw new Error('the worker crashed (a test asked it to)');
        }, 0);
        return 'crashing';
      }
      if (action === 'lose-device') {
        const device = tf.getBackend() === 'webgpu' ? (tf.backend() as unknown as { device?: GPUDevice }).device : undefined;
        if (!device) throw new Error(`there is no WebGPU device to lose: the backend is ${tf.getBackend()}`);
        device.destroy();
        return 'destroyed';
      }
      throw new Error(`unknown debug action ${JSON.stringify(action)}`);
    });
  }

  // ---- jobs and errors ----------------------------------------------------------------

  /** Runs fn with one-line errors. */
  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      if (this.deviceLost) throw new Error(this.deviceLost);
      return await fn();
    } catch (e) {
      throw oneLineError(this.deviceLost ? new Error(`${this.deviceLost} [${errorMessage(e)}]`) : e);
    }
  }

  /** Runs fn as the one long job; refuses when another is running. */
  private run<T>(kind: JobKind, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    return this.guard(async () => {
      const busy = this.job;
      if (busy) {
        if (busy.kind === kind && kind === 'training') throw new Error('training is already running');
        throw new Error(`cannot ${ACTION[kind]} while ${ACTIVITY[busy.kind]} is in progress${busy.kind === 'training' ? '; stop it first' : ''}`);
      }
      const job = { kind, abort: new AbortController() };
      this.job = job;
      try {
        return await fn(job.abort.signal);
      } finally {
        this.job = null;
      }
    });
  }

  // ---- backend ------------------------------------------------------------------------

  private backendDeps() {
    return { gpu: this.opts.gpu, activate: (kind: BackendKind) => this.activate(kind), probe: () => this.probe() };
  }

  private async activate(kind: BackendKind): Promise<boolean> {
    try {
      if (kind === 'wasm' && !this.wasmReady) {
        this.opts.wasmSetup?.();
        this.wasmReady = true;
      }
      if (kind === 'webgpu' && !this.webgpuReady) {
        await (this.opts.webgpuSetup ?? (() => import('@tensorflow/tfjs-backend-webgpu').then(() => undefined)))();
        this.webgpuReady = true;
      }
      if (!(await tf.setBackend(kind))) return false;
      await tf.ready();
      if (tf.getBackend() !== kind) return false;
      if (kind === 'webgpu') this.watchDevice();
      return true;
    } catch {
      return false;
    }
  }

  /** Remembers a lost WebGPU device: every later call then says so instead of a tfjs error. */
  private watchDevice(): void {
    const device = (tf.backend() as unknown as { device?: GPUDevice }).device;
    if (!device || this.watched.has(device)) return;
    this.watched.add(device);
    void device.lost.then((info) => {
      if (tf.getBackend() === 'webgpu' && (tf.backend() as unknown as { device?: GPUDevice }).device === device) {
        this.deviceLost = `the WebGPU device was lost (${info.reason}${info.message ? `: ${info.message}` : ''}); restart the worker`;
        this.opts.onDeviceLost?.(this.deviceLost);
      }
    });
  }

  /** Milliseconds per forward pass of a random built-in-sized GPT on the active backend. */
  private async probe(): Promise<number> {
    const weights = initWeights(PROBE_CONFIG, 7);
    const gpt = new GPT(PROBE_CONFIG, weights);
    const [B, T] = PROBE_SHAPE;
    const ids = tf.tensor2d(
      Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, t) => (b * 31 + t * 7) % PROBE_CONFIG.vocabSize)),
      PROBE_SHAPE,
      'int32',
    );
    const pass = async () => {
      const r = gpt.forward(ids);
      try {
        await r.logits!.data(); // waits for the device
      } finally {
        disposeResult(r);
      }
    };
    try {
      await pass(); // warm-up: shader compilation, first allocations
      const t0 = performance.now();
      for (let i = 0; i < PROBE_PASSES; i++) await pass();
      return (performance.now() - t0) / PROBE_PASSES;
    } finally {
      ids.dispose();
      disposeWeights(weights);
    }
  }

  // ---- models -------------------------------------------------------------------------

  private requireIndex(): BuiltinIndex {
    if (!this.index) throw new Error('the engine is not started: call init first');
    return this.index;
  }

  private entry(id: string): BuiltinModel {
    const index = this.requireIndex();
    const entry = index.models.find((m) => m.id === id);
    if (!entry) {
      const known = index.models.map((m) => m.id).join(', ') || 'none';
      throw new Error(`no model ${JSON.stringify(id)} in ${this.modelsUrl}/index.json (models: ${known})`);
    }
    return entry;
  }

  private source(entry: BuiltinModel): FileSource {
    const imported = this.importedFiles.get(entry.id);
    if (imported) return memorySource(entry.title, imported);
    return urlSource(`${this.modelsUrl}/${entry.path}/`, this.fetchFn);
  }

  /** A missing file of a listed model: say so, and how the files are made. */
  private explainMissing(e: unknown, entry: BuiltinModel): unknown {
    if (e instanceof ModelLoadError && e.code === 'missing-file') {
      return new ModelLoadError(
        'missing-file',
        `${e.message}: the model '${entry.id}' is listed in models/index.json but its files are missing (npm run train:builtin)`,
        { file: e.file, cause: e },
      );
    }
    return e;
  }

  private model(id: string): Promise<LoadedModel> {
    const entry = this.entry(id);
    let p = this.models.get(id);
    if (!p) {
      const load = (async (): Promise<LoadedModel> => {
        let folder;
        try {
          folder = await loadModelFolder(this.source(entry));
        } catch (e) {
          throw this.explainMissing(e, entry);
        }
        try {
          const tokenizer = Tokenizer.fromJSON(folder.tokenizerJson, `${folder.label}/tokenizer.json`);
          const m: LoadedModel = { entry, gpt: new GPT(folder.config, folder.weights), tokenizer, card: folder.card };
          this.loaded.set(id, m);
          return m;
        } catch (e) {
          disposeWeights(folder.weights);
          throw e;
        }
      })();
      p = load;
      this.models.set(id, load);
      load.catch(() => {
        if (this.models.get(id) === load) this.models.delete(id);
      });
    }
    return p;
  }

  /** Both models, checked to tokenize identically (DESIGN §1). */
  private async pair(anchorId: string, augmentId: string): Promise<[LoadedModel, LoadedModel]> {
    const [anchor, augment] = await Promise.all([this.model(anchorId), this.model(augmentId)]);
    const cmp = compareVocabularies(anchor.tokenizer, augment.tokenizer);
    if (!cmp.same) throw new Error(`cannot compose ${anchorId} with ${augmentId}: ${cmp.message}`);
    return [anchor, augment];
  }

  private card(m: BuiltinModel): Promise<ModelCard> {
    let p = this.cards.get(m.id);
    if (!p) {
      const make = (async (): Promise<ModelCard> => {
        const loaded = this.loaded.get(m.id);
        let config: GPTConfig;
        let card: string | undefined;
        let parameters: number;
        if (loaded) {
          config = loaded.gpt.config;
          card = loaded.card;
          parameters = countParameters(loaded.gpt.weights);
        } else {
          const src = this.source(m);
          const file = `${src.label}/config.json`;
          let text: string;
          try {
            text = await src.readText('config.json');
          } catch (e) {
            throw this.explainMissing(e, m);
          }
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch (e) {
            throw new ModelLoadError('bad-json', `${file} is not valid JSON (${errorMessage(e)})`, { file });
          }
          config = parseConfig(json, file);
          // The tensor names decide whether the LM head is the model's own (as the loader counts it).
          const names = await src
            .readBytes('model.safetensors')
            .then((bytes) => Object.keys(readSafetensorsHeader(bytes, `${src.label}/model.safetensors`)))
            .catch(() => []);
          parameters = checkpointParameters(config, names);
          card = await src.readText('README.md').catch((e: unknown) => {
            if (e instanceof ModelLoadError && e.code === 'missing-file') return undefined;
            throw e;
          });
        }
        return {
          id: m.id,
          role: m.role,
          title: m.title,
          description: m.description,
          layers: config.nLayer,
          width: config.nEmbd,
          heads: config.nHead,
          context: config.nPositions,
          vocabSize: config.vocabSize,
          parameters,
          ...(card !== undefined ? { card } : {}),
        };
      })();
      p = make;
      this.cards.set(m.id, make);
      make.catch(() => {
        if (this.cards.get(m.id) === make) this.cards.delete(m.id);
      });
    }
    return p;
  }

  /** Frees the models the composition does not use (a finished load only: none is in flight here). */
  private prune(): void {
    const keep = new Set(this.current ? [this.current.anchor.entry.id, this.current.augment.entry.id] : []);
    for (const [id, m] of this.loaded) {
      if (keep.has(id)) continue;
      disposeWeights(m.gpt.weights);
      this.loaded.delete(id);
      this.models.delete(id);
    }
  }

  /** Drops the composition and every model (a new backend, or a new models folder). */
  private reset(): void {
    this.dropFrozen();
    if (this.current) disposeBridges(this.current.comp.bridges);
    this.current = null;
    this.disabled = [];
    this.prune();
    this.models.clear();
    this.cards.clear();
    this.index = null;
  }

  // ---- composition --------------------------------------------------------------------

  private requireComposition(): Current {
    if (!this.current) throw new Error('there is no composition yet: compose two models first');
    return this.current;
  }

  private checkSpec(s: CompositionSettings, anchor: GPTConfig, augment: GPTConfig): CompositionSpec {
    if (s.output !== 'zero-init' && s.output !== 'rmsnorm') {
      throw new Error(`output must be "zero-init" or "rmsnorm", found ${JSON.stringify(s.output)}`);
    }
    if (!Array.isArray(s.connections)) throw new Error('connections must be a list of [anchorLayer, augmentLayer] pairs');
    const connections = s.connections.map((c): [number, number] => (Array.isArray(c) ? [c[0], c[1]] : c));
    validateConnections(connections, anchor.nLayer, augment.nLayer);
    validateHeads(s.numHeads, anchor.nEmbd);
    // the recipe's bridge parameterisation unless the caller says otherwise, as `calm repro kv` uses it
    const R = s.positionBias ?? KV_RECIPE.positionBias ?? 0;
    if (!Number.isInteger(R) || R < 0 || R > 4096) throw new Error(`the position bias needs 0–4096 buckets, found ${JSON.stringify(s.positionBias)}`);
    const inputNorm = s.inputNorm ?? KV_RECIPE.inputNorm ?? 'none';
    if (inputNorm !== 'none' && inputNorm !== 'whiten') throw new Error(`inputNorm must be "none" or "whiten", found ${JSON.stringify(s.inputNorm)}`);
    const flag = (name: string, v: unknown, recipe: boolean | undefined): boolean => {
      if (v !== undefined && typeof v !== 'boolean') throw new Error(`${name} must be true or false, found ${JSON.stringify(v)}`);
      return v ?? recipe ?? false;
    };
    return {
      connections,
      numHeads: s.numHeads,
      output: s.output,
      ...(R > 0 ? { positionBias: R } : {}),
      ...(inputNorm === 'whiten' ? { inputNorm } : {}),
      ...(flag('queryNorm', s.queryNorm, KV_RECIPE.queryNorm) ? { queryNorm: true } : {}),
      ...(flag('valueGate', s.valueGate, KV_RECIPE.valueGate) ? { valueGate: true } : {}),
    };
  }

  /** Decoders of one column: a model alone (KV cache) or the composition (caches + bridge K/V). */
  private decoders(cur: Current, column: Column): (B: number) => Decoder {
    if (column === 'anchor') return (B) => cachedDecoder(cur.anchor.gpt, B);
    if (column === 'augment') return (B) => cachedDecoder(cur.augment.gpt, B);
    return (B) => composedDecoder(cur.comp, B);
  }

  /** The shorter context of the two models: composed sequences must fit both. */
  private context(cur: Current): number {
    return Math.min(cur.anchor.gpt.config.nPositions, cur.augment.gpt.config.nPositions);
  }

  private replace(next: Current): void {
    if (this.current) disposeBridges(this.current.comp.bridges);
    this.current = next;
    this.disabled = [];
    // The frozen work of other models is of no use any more.
    if (this.frozen && (this.frozen.anchor !== next.anchor.gpt || this.frozen.augment !== next.augment.gpt)) this.dropFrozen();
  }

  /**
   * The frozen models' work of `data` for the composition: kept from the last training when it
   * was on the same two models, layers and examples (reported at once as done, `reused`),
   * otherwise computed now and kept in its place.
   */
  private async frozenWork(
    cur: Current,
    data: EncodedExample[],
    padId: number,
    progress: (done: number, total: number, reused: boolean) => void,
    signal: AbortSignal,
  ): Promise<FrozenCache> {
    const key = frozenCacheKey(cur.comp, data, padId);
    const kept = this.frozen;
    if (kept && kept.key === key && kept.anchor === cur.anchor.gpt && kept.augment === cur.augment.gpt) {
      progress(data.length, data.length, true);
      return kept.cache;
    }
    this.dropFrozen();
    progress(0, data.length, false);
    const cache = await buildFrozenCache(cur.comp, data, padId, (done, total) => progress(done, total, false), signal);
    this.frozen = { key, anchor: cur.anchor.gpt, augment: cur.augment.gpt, cache };
    return cache;
  }

  private dropFrozen(): void {
    if (this.frozen) disposeFrozenCache(this.frozen.cache);
    this.frozen = null;
  }

  private applyDisabled(): void {
    const comp = this.current?.comp;
    if (!comp) return;
    comp.disabled.clear();
    for (const i of this.disabled) comp.disabled.add(i);
  }

  private info(): CompositionInfo {
    const cur = this.requireComposition();
    const e = compositionEstimate(cur.comp.spec, cur.anchor.gpt.config, cur.augment.gpt.config, ESTIMATE);
    return {
      trainableParameters: e.trainableParameters,
      memory: {
        bridges: e.bridgeBytes,
        stats: e.frozenBytes,
        optimizer: e.adamStateBytes,
        activationsPerStep: e.activationBytesPerStep,
        cachePerExample: e.cacheBytesPerExample,
      },
    };
  }
}

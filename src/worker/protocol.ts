// The worker's API: types only, shared by the worker (src/worker/worker.ts implements
// `CalmWorkerApi`) and the UI thread (src/worker/client.ts wraps it with Comlink). Nothing
// here imports tfjs: the UI thread never loads it. Callbacks cross the boundary as Comlink
// proxies; ArrayBuffers are transferred, not copied. The composition's types derive from the
// spec (src/calm/spec.ts, tfjs-free; docs/design.md § Spec).
import type { CompositionEstimate, Connection, OutputVariant, SpecSettings } from '../calm/spec';
import type { KernelCalls, KernelUsage } from '../kernels/usage';
import type { AlignmentRule } from '../calm/align';

export type { Connection, OutputVariant, KernelCalls, KernelUsage };

export type BackendChoice = 'auto' | 'webgpu' | 'wasm' | 'cpu';
export type BackendKind = 'webgpu' | 'wasm' | 'cpu';

export interface AdapterInfo {
  vendor: string;
  architecture: string;
  description: string;
  /** A few limits that matter for the kernels (maxComputeWorkgroupStorageSize, ...). */
  limits: Record<string, number>;
  features: string[];
  /** The browser says this adapter is a fallback (software) one. */
  fallback?: boolean;
}

export interface BackendReport {
  backend: BackendKind; // what runs now
  adapter?: AdapterInfo; // when WebGPU is available (even if not chosen)
  /** Measured milliseconds per probe forward pass on the loaded models, per backend tried. */
  probe?: Partial<Record<BackendKind, number>>;
  /** Why this backend: "fastest in the probe", "chosen by you", "WebGPU unavailable: …". */
  reason: string;
  /**
   * `auto` with a WebGPU adapter: WebAssembly runs for now, and WebGPU is still to be measured
   * against it (measureBackends, in a worker of its own, so that nobody waits for it).
   */
  pending?: boolean;
}

export interface ModelCard {
  id: string;
  role: 'anchor' | 'augment';
  title: string;
  description: string;
  layers: number;
  width: number;
  heads: number;
  context: number;
  vocabSize: number;
  parameters: number;
  card?: string; // README.md (markdown)
}

/**
 * What the page asks the worker to build: two models, the spec (SPEC_DEFAULTS fills the bridge
 * options left out; numHeads 0 = the anchor's) and the seed of the fresh bridges.
 */
export type CompositionSettings = Omit<SpecSettings, 'connections' | 'numHeads'> & {
  anchor: string; // model id
  augment: string;
  connections: Connection[];
  numHeads: number;
  seed: number;
};

/** The spec's sizes (compositionEstimate) for the worker's composition, at batch 64 and 16 tokens. */
export type CompositionInfo = Pick<
  CompositionEstimate,
  'trainableParameters' | 'bridgeBytes' | 'frozenBytes' | 'adamStateBytes' | 'activationBytesPerStep' | 'cacheBytesPerExample'
> & {
  /** Set when the two models tokenize differently: the rule the bridges align them by (docs/design.md § Across tokenizers). */
  alignment?: AlignmentRule;
};

export interface Example {
  prompt: string;
  completion: string;
}

export interface TrainSettings {
  examples: Example[];
  /** Held-out examples whose exact-match accuracy is charted during training. */
  heldOut: Example[];
  steps: number;
  lr: number;
  batch: number;
  seed: number;
  evalEvery: number; // steps
}

export interface TrainEvent {
  stage: 'caching' | 'training' | 'evaluating' | 'done';
  step: number;
  steps: number;
  loss?: number;
  stepsPerSecond?: number;
  etaSeconds?: number;
  heldOutAccuracy?: number;
  cacheDone?: number; // examples cached so far
  cacheTotal?: number;
  /** The frozen models' work of these examples was kept from the last run on the same models and layers: nothing to cache. */
  cacheReused?: boolean;
}

export interface TrainSummary {
  stopped: 'done' | 'cancelled' | 'non-finite';
  message?: string;
  steps: number;
  seconds: number;
  finalLoss?: number;
  heldOutAccuracy?: number;
}

export type Column = 'anchor' | 'augment' | 'composed';

export interface GenerateSettings {
  prompt: string;
  column: Column;
  maxTokens: number;
  temperature?: number; // 0 = greedy (default)
}

export interface TokenEvent {
  text: string;
  prob: number; // probability of this token under the model
}

export type TableRow = 'kv-subs' | 'num-arith' | 'kv-arith';
export interface EvaluationTable {
  table: Record<TableRow, Record<Column, number>>;
  chance: Record<TableRow, number>;
  n: number;
}

export interface AttentionMap {
  tokens: string[]; // the prompt's tokens (same for both models)
  heads: number;
  weights: number[][][]; // [h][T anchor][S augmenting]
}

/** A file of a model folder (config.json, model.safetensors, tokenizer.json, README.md), its bytes transferred. */
export interface ModelFile {
  name: string;
  bytes: ArrayBuffer;
}

export interface BundleFiles {
  composition: string; // composition.json
  bridge: ArrayBuffer; // bridge.safetensors (transferred)
}

/** Every call rejects with an Error whose message is one line, fit to show the person. */
export interface CalmWorkerApi {
  /**
   * Starts the backend and loads the built-in model list. `auto` starts WebAssembly at once and,
   * when there is a WebGPU adapter, says the choice is `pending`; other choices are honoured.
   */
  init(opts: { backend: BackendChoice; modelsUrl: string }): Promise<BackendReport>;
  /**
   * Times WebGPU and WebAssembly on the same small forward pass and keeps the faster: the
   * choice `auto` leaves pending, made in a throwaway worker while the page's own one works.
   */
  measureBackends(): Promise<BackendReport>;
  /**
   * Makes `backend` the one that runs from now on (models and bridges move to it as they are
   * used); refused when leaving WebGPU, whose tensors cannot be read back synchronously.
   */
  switchBackend(backend: BackendKind): Promise<void>;
  listModels(): Promise<ModelCard[]>;
  /** Builds (or rebuilds) the composition with fresh bridges; loads models as needed. */
  compose(settings: CompositionSettings): Promise<CompositionInfo>;
  train(settings: TrainSettings, onEvent: (e: TrainEvent) => void): Promise<TrainSummary>;
  /** Cancels training or evaluation in progress; the bridges keep the last finished step. */
  stop(): void;
  evaluate(opts: { n: number; seed: number }, onProgress?: (done: number, total: number) => void): Promise<EvaluationTable>;
  generate(settings: GenerateSettings, onToken: (t: TokenEvent) => void): Promise<{ text: string }>;
  attention(opts: { prompt: string; connection: number }): Promise<AttentionMap>;
  /** Bridges switched off at inference (ablation), by connection index. */
  setDisabled(connections: number[]): Promise<void>;
  exportBundle(): Promise<BundleFiles>;
  importBundle(files: BundleFiles): Promise<CompositionSettings>;
  /**
   * Registers a model folder in Hugging Face layout (GPT-2: config.json, model.safetensors,
   * tokenizer.json; README.md optional) after checking all of it with the io loaders; it is
   * then composable like a built-in model under the returned card's id (`id` when free).
   * Rejects with the loader's message (which file, which field, which tensor).
   */
  importModel(files: ModelFile[], opts: { id: string; title?: string; description?: string }): Promise<ModelCard>;
  /**
   * What our kernels ran since the worker started (or the last reset): WGSL dispatches per
   * program, and per kernel the fused and reference calls with the last fallback reason.
   * `reset` zeroes the counters after the snapshot.
   */
  kernelUsage(opts?: { reset?: boolean }): Promise<KernelUsage>;
  /**
   * Test hooks for faults: `crash` throws an uncaught error in the worker (as a bug would);
   * `lose-device` destroys the WebGPU device in use (as a GPU reset would).
   */
  debug(action: 'crash' | 'lose-device'): Promise<string>;
}

/**
 * What the worker's bootstrap (boot.ts) posts once, beside Comlink's messages: its module
 * loaded (`started`), or why it could not (`failed`, the browser's message naming the file).
 */
export type WorkerStartMessage = { calmWorker: 'started' } | { calmWorker: 'failed'; message: string };

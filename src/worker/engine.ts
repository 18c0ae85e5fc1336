// The engine behind the worker: every CalmWorkerApi call, over the headless core. It owns
// every tensor (models, bridges, decoders) and runs the same in the Web Worker and in Node
// tests; the worker entry (worker.ts) only adds the .wasm URLs and Comlink.
//
// A thin layer: which calls are long jobs (jobs.ts: one at a time, the others refused), the
// backend (backend.ts), the models (registry.ts) and the composition (session.ts). Quick calls
// (attention, setDisabled, exportBundle, listModels, kernelUsage) run any time: the worker is
// single-threaded, so they land between two training steps.
import { tf } from '../model/tf';
import { kernelUsage, resetKernelUsage } from '../kernels/usage';
import { WorkerBackend, type BackendOptions } from './backend';
import { Jobs } from './jobs';
import { ModelRegistry, modelsBase } from './registry';
import { CompositionSession } from './session';
import type {
  AttentionMap,
  BackendChoice,
  BackendKind,
  BackendReport,
  BundleFiles,
  CalmWorkerApi,
  CompositionInfo,
  CompositionSettings,
  EvaluationTable,
  GenerateSettings,
  KernelUsage,
  ModelCard,
  ModelFile,
  TokenEvent,
  TrainEvent,
  TrainSettings,
  TrainSummary,
} from './protocol';

export interface EngineOptions extends BackendOptions {
  /** Fetches model files (tests pass a shim reading public/models). Default: global fetch. */
  fetch?: typeof fetch;
}

export class CalmEngine implements CalmWorkerApi {
  private readonly jobs = new Jobs();
  private readonly backend: WorkerBackend;
  private readonly registry: ModelRegistry;
  private readonly session: CompositionSession;

  constructor(opts: EngineOptions = {}) {
    this.backend = new WorkerBackend({
      ...opts,
      onDeviceLost: (message) => {
        this.jobs.deviceLost = message;
        opts.onDeviceLost?.(message);
      },
    });
    this.registry = new ModelRegistry(opts.fetch ?? ((...a) => fetch(...a)));
    this.session = new CompositionSession(this.registry);
  }

  init(opts: { backend: BackendChoice; modelsUrl: string }): Promise<BackendReport> {
    return this.jobs.run('init', async () => {
      const base = modelsBase(opts.modelsUrl);
      // a new models folder or backend: nothing of the old one is kept
      this.session.clear();
      this.registry.reset();
      const index = await this.registry.readIndex(base);
      const report = await this.backend.start(opts.backend);
      this.registry.use(base, index);
      return report;
    });
  }

  measureBackends(): Promise<BackendReport> {
    return this.jobs.run('init', () => this.backend.measure());
  }

  switchBackend(backend: BackendKind): Promise<void> {
    return this.jobs.run('init', () => this.backend.switchTo(backend));
  }

  listModels(): Promise<ModelCard[]> {
    return this.jobs.guard(() => this.registry.listCards());
  }

  compose(settings: CompositionSettings): Promise<CompositionInfo> {
    return this.jobs.run('compose', () => this.withPrune(() => this.session.compose(settings)));
  }

  train(settings: TrainSettings, onEvent: (e: TrainEvent) => void): Promise<TrainSummary> {
    return this.jobs.run('training', (signal) => this.session.train(settings, onEvent, signal));
  }

  stop(): void {
    this.jobs.stop();
  }

  evaluate(opts: { n: number; seed: number }, onProgress?: (done: number, total: number) => void): Promise<EvaluationTable> {
    return this.jobs.run('evaluation', (signal) => this.session.evaluate(opts, onProgress, signal));
  }

  generate(settings: GenerateSettings, onToken: (t: TokenEvent) => void): Promise<{ text: string }> {
    return this.jobs.run('generation', (signal) => this.session.generate(settings, onToken, signal));
  }

  attention(opts: { prompt: string; connection: number }): Promise<AttentionMap> {
    return this.jobs.guard(() => this.session.attention(opts));
  }

  setDisabled(connections: number[]): Promise<void> {
    return this.jobs.guard(async () => this.session.setDisabled(connections, this.jobs.running === 'training'));
  }

  exportBundle(): Promise<BundleFiles> {
    return this.jobs.guard(() => this.session.exportBundle());
  }

  importBundle(files: BundleFiles): Promise<CompositionSettings> {
    return this.jobs.run('import', () => this.withPrune(() => this.session.importBundle(files)));
  }

  importModel(files: ModelFile[], opts: { id: string; title?: string; description?: string }): Promise<ModelCard> {
    return this.jobs.guard(() => this.registry.importModel(files, opts, this.session.modelsInUse()));
  }

  kernelUsage(opts: { reset?: boolean } = {}): Promise<KernelUsage> {
    return this.jobs.guard(async () => {
      const usage = kernelUsage(tf.getBackend());
      if (opts.reset) resetKernelUsage();
      return usage;
    });
  }

  debug(action: 'crash' | 'lose-device'): Promise<string> {
    return this.jobs.guard(async () => {
      if (action === 'crash') {
        setTimeout(() => {
          throw new Error('the worker crashed (a test asked it to)');
        }, 0);
        return 'crashing';
      }
      if (action === 'lose-device') return this.backend.loseDevice();
      throw new Error(`unknown debug action ${JSON.stringify(action)}`);
    });
  }

  /** Runs fn, then frees the models the composition does not use (whether fn succeeded or not). */
  private async withPrune<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } finally {
      this.registry.prune(this.session.modelsInUse());
    }
  }
}

// The worker's tfjs backend at run time: starting one (WebAssembly's .wasm paths, WebGPU's
// registration), watching a WebGPU device for loss, and the probe that times a forward pass
// for the choice between them (the policy is backend-choice.ts's). Starting WebGPU installs our
// kernels (src/kernels/install.ts).
import { tf } from '../model/tf';
import { disposeResult } from '../model/causal-lm';
import { initModel } from '../model/init';
import { architecture, parseModelConfig } from '../model/registry';
import { installKernels } from '../kernels/install';
import { chooseBackend, startBackend, type BackendDeps, type GpuLike } from './backend-choice';
import type { BackendChoice, BackendKind, BackendReport } from './protocol';

/** The probe: a forward pass of a random model shaped like the built-in models (config.json fields), on [B, T] ids. */
const PROBE_CONFIG = parseModelConfig({ model_type: 'gpt2', vocab_size: 98, n_positions: 32, n_embd: 96, n_layer: 3, n_head: 4 });
const PROBE_SHAPE: [number, number] = [8, 16];
const PROBE_PASSES = 3;

export interface BackendOptions {
  /** Runs once before the WebAssembly backend first starts: the worker calls setWasmPaths here. */
  wasmSetup?: () => void;
  /** Registers the WebGPU backend (and any kernels of its own); default: imports tfjs-backend-webgpu. */
  webgpuSetup?: () => Promise<void>;
  /** Stands in for navigator.gpu (tests). */
  gpu?: GpuLike;
  /** Called once when the WebGPU device in use is lost, with the message every later call gives. */
  onDeviceLost?: (message: string) => void;
}

export class WorkerBackend {
  private wasmReady = false;
  private webgpuReady = false;
  private readonly watched = new WeakSet<GPUDevice>();

  constructor(private readonly opts: BackendOptions) {}

  start(choice: BackendChoice): Promise<BackendReport> {
    return startBackend(choice, this.deps());
  }

  measure(): Promise<BackendReport> {
    return chooseBackend('auto', this.deps());
  }

  async switchTo(backend: BackendKind): Promise<void> {
    if (backend !== 'webgpu' && backend !== 'wasm' && backend !== 'cpu') throw new Error(`unknown backend ${JSON.stringify(backend)}`);
    if (tf.getBackend() === backend) return;
    // tfjs moves each tensor to the new backend on first use, reading it synchronously where it
    // lives; WebGPU's synchronous read is not reliable, so nothing leaves it.
    if (tf.getBackend() === 'webgpu') {
      throw new Error('the worker cannot leave WebGPU (its tensors cannot be read back synchronously); open the page with another backend instead');
    }
    if (!(await this.activate(backend))) throw new Error(`the ${backend} backend could not be started`);
  }

  /** Destroys the WebGPU device in use (a test of the page's recovery). */
  loseDevice(): string {
    const device = tf.getBackend() === 'webgpu' ? (tf.backend() as unknown as { device?: GPUDevice }).device : undefined;
    if (!device) throw new Error(`there is no WebGPU device to lose: the backend is ${tf.getBackend()}`);
    device.destroy();
    return 'destroyed';
  }

  private deps(): BackendDeps {
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
        installKernels(); // our WGSL linear on WebGPU's path of the model's ops (the cross-attention dispatches itself)
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

  /** Reports a lost WebGPU device (the one in use) once. */
  private watchDevice(): void {
    const device = (tf.backend() as unknown as { device?: GPUDevice }).device;
    if (!device || this.watched.has(device)) return;
    this.watched.add(device);
    void device.lost.then((info) => {
      if (tf.getBackend() === 'webgpu' && (tf.backend() as unknown as { device?: GPUDevice }).device === device) {
        this.opts.onDeviceLost?.(`the WebGPU device was lost (${info.reason}${info.message ? `: ${info.message}` : ''}); restart the worker`);
      }
    });
  }

  /** Milliseconds per forward pass of a random built-in-sized model on the active backend. */
  private async probe(): Promise<number> {
    const model = initModel(architecture(PROBE_CONFIG.modelType), PROBE_CONFIG, 7);
    const [B, T] = PROBE_SHAPE;
    const ids = tf.tensor2d(
      Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, t) => (b * 31 + t * 7) % PROBE_CONFIG.vocabSize)),
      PROBE_SHAPE,
      'int32',
    ); // [B, T]
    const pass = async () => {
      const r = model.forward(ids);
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
      model.dispose();
    }
  }
}

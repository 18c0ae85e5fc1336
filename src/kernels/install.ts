// Puts our kernels on the model's WebGPU path (docs/design.md § Kernels): model/ops.ts's
// `linear` (every projection of the models and the bridges) consults a registry of backend
// kernels by backend name, which src/model keeps and src/kernels fills here, since src/model may
// not import src/kernels (docs/design.md § Layering). Called where the backend is chosen (the
// worker's WorkerBackend, the bench page), never as an import's side effect. The fused
// cross-attention needs no install: src/calm calls its dispatcher (./cross-attention.ts).
import { setBackendLinear } from '../model/ops';
import { linearFusedOrNull } from './linear';

/** Installs the WGSL linear as WebGPU's x·W + b (frozen weights: no weight gradients). Idempotent. */
export function installKernels(): void {
  setBackendLinear('webgpu', (x, w, b, weightGrads) => linearFusedOrNull(x, w, b, { weightGrads }));
}

// Puts our kernels on the model's WebGPU path (docs/design.md § Kernels): model/ops.ts's
// `linear` (every projection of the models and the bridges) and `layerNorm`, and the models'
// causal self-attention and RMSNorm (model/decoder.ts), consult registries of backend kernels by
// backend name, which src/model keeps and src/kernels fills here, since src/model may not import
// src/kernels (docs/design.md § Layering). Called where the backend is chosen (the worker's WorkerBackend, the bench page),
// never as an import's side effect. The bridges' cross-attention needs no install: src/calm calls
// its dispatcher (./cross-attention.ts).
import { setBackendAttention, setBackendLinear, setBackendNorm } from '../model/ops';
import { causalAttentionFusedOrNull } from './cross-attention';
import { linearFusedOrNull } from './linear';
import { normFusedOrNull } from './norm';

/**
 * Installs the WGSL linear as WebGPU's x·W + b (frozen weights: no weight gradients), the fused
 * row-wise attention as WebGPU's causal self-attention and the row-wise norm as its LayerNorm and
 * RMSNorm (frozen weights only). Idempotent.
 */
export function installKernels(): void {
  setBackendLinear('webgpu', (x, w, b, weightGrads) => linearFusedOrNull(x, w, b, { weightGrads }));
  setBackendAttention('webgpu', causalAttentionFusedOrNull);
  setBackendNorm('webgpu', normFusedOrNull);
}

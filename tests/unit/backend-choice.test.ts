// How the worker picks its backend, with a fake navigator.gpu and fake backends: `auto` starts
// WebAssembly at once and leaves WebGPU pending; the timing (chooseBackend) keeps the faster.
import { describe, expect, it } from 'vitest';
import { chooseBackend, startBackend, type BackendDeps, type GpuLike } from '../../src/worker/backend-choice';
import type { BackendKind } from '../../src/worker/protocol';

const adapter = {
  info: { vendor: 'acme', architecture: 'rdna', description: 'Acme GPU' },
  limits: { maxComputeWorkgroupStorageSize: 32768 },
  features: new Set(['timestamp-query']),
} as unknown as GPUAdapter;
const gpu: GpuLike = { requestAdapter: async () => adapter };

/** Backends that start (or not) and take `ms` per probe pass; records what was activated. */
function deps(ms: Partial<Record<BackendKind, number>>, opts: { gpu?: GpuLike } = {}): BackendDeps & { activated: BackendKind[] } {
  let active: BackendKind | undefined;
  const activated: BackendKind[] = [];
  return {
    gpu: opts.gpu,
    activated,
    activate: async (kind) => {
      activated.push(kind);
      if (ms[kind] === undefined) return false;
      active = kind;
      return true;
    },
    probe: async () => ms[active!]!,
  };
}

describe('startBackend', () => {
  it('auto with a WebGPU adapter: WebAssembly at once, WebGPU left pending (never activated here)', async () => {
    const d = deps({ wasm: 20, webgpu: 5 }, { gpu });
    const report = await startBackend('auto', d);
    expect(report).toMatchObject({ backend: 'wasm', probe: { wasm: 20 }, pending: true });
    expect(report.adapter?.vendor).toBe('acme');
    expect(d.activated).toEqual(['wasm']);
  });

  it('auto with a software adapter (SwiftShader): WebAssembly, and WebGPU is not timed', async () => {
    const swiftshader = { ...adapter, info: { vendor: 'google', architecture: 'swiftshader', description: '' } } as unknown as GPUAdapter;
    const d = deps({ wasm: 20, webgpu: 900 }, { gpu: { requestAdapter: async () => swiftshader } });
    const report = await startBackend('auto', d);
    expect(report).toMatchObject({ backend: 'wasm', reason: 'WebGPU here is a software renderer (google swiftshader), far slower; WebAssembly 20 ms per forward pass' });
    expect(report.pending).toBeUndefined();
    expect(d.activated).toEqual(['wasm']);
  });

  it('auto without an adapter: WebAssembly, nothing pending, and why', async () => {
    const report = await startBackend('auto', deps({ wasm: 20 }, { gpu: { requestAdapter: async () => null } }));
    expect(report).toEqual({ backend: 'wasm', probe: { wasm: 20 }, reason: 'WebGPU unavailable: navigator.gpu has no adapter; WebAssembly 20 ms per forward pass' });
  });

  it('auto when WebAssembly does not start: the full choice (WebGPU here)', async () => {
    const report = await startBackend('auto', deps({ webgpu: 5 }, { gpu }));
    expect(report.backend).toBe('webgpu');
    expect(report.pending).toBeUndefined();
  });

  it('an explicit choice is honoured as before', async () => {
    expect(await startBackend('wasm', deps({ wasm: 20 }, { gpu }))).toMatchObject({ backend: 'wasm', reason: 'chosen by you' });
  });
});

describe('chooseBackend (the timing, in a throwaway worker)', () => {
  it('keeps the faster of WebGPU and WebAssembly, and leaves it active', async () => {
    const d = deps({ wasm: 20, webgpu: 5 }, { gpu });
    const report = await chooseBackend('auto', d);
    expect(report).toMatchObject({ backend: 'webgpu', probe: { webgpu: 5, wasm: 20 } });
    expect(report.reason).toBe('fastest in the probe (WebGPU 5 ms, WebAssembly 20 ms per forward pass)');
    expect(d.activated.at(-1)).toBe('webgpu');
  });
});

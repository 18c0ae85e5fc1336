// Which TensorFlow.js backend runs the models: WebGPU when the browser gives an adapter,
// WebAssembly otherwise, the plain-JS CPU backend last. On `auto`, both WebGPU and
// WebAssembly are timed on the same small forward pass and the faster wins, since a
// software adapter (SwiftShader) has WebGPU but runs it far slower than WebAssembly. The page
// does not wait for that: it starts on WebAssembly (startBackend) and the timing runs in a
// worker of its own (chooseBackend there).
// No DOM here: `navigator.gpu` is reached through globalThis, so this loads in Node too.
import type { AdapterInfo, BackendChoice, BackendKind, BackendReport } from './protocol';

export const NO_WEBGPU = 'WebGPU is not available in this browser (navigator.gpu has no adapter)';

/** Adapter limits worth showing: the ones the kernels and the tfjs WebGPU backend depend on. */
const LIMITS = [
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
] as const;

/** The part of `navigator.gpu` used here (structural, so a test can hand in a fake). */
export interface GpuLike {
  requestAdapter(): Promise<GPUAdapter | null>;
}

/** `navigator.gpu` of this thread (window or worker), or undefined (Node, old browsers). */
export function navigatorGpu(): GpuLike | undefined {
  const nav = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator;
  return nav?.gpu ?? undefined;
}

/**
 * The WebGPU adapter's description, or a reason why there is none. Never throws: a browser
 * without WebGPU is an ordinary case, not an error.
 */
export async function describeAdapter(gpu: GpuLike | undefined = navigatorGpu()): Promise<{ info: AdapterInfo } | { why: string }> {
  if (!gpu) return { why: 'navigator.gpu is missing' };
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter();
  } catch (e) {
    return { why: `requestAdapter failed (${e instanceof Error ? e.message : String(e)})` };
  }
  if (!adapter) return { why: 'navigator.gpu has no adapter' };
  // Chrome ≥ 114 has adapter.info; older versions only requestAdapterInfo().
  const legacy = adapter as unknown as { requestAdapterInfo?: () => Promise<GPUAdapterInfo> };
  const raw: Partial<GPUAdapterInfo> & { isFallbackAdapter?: boolean } =
    adapter.info ?? (legacy.requestAdapterInfo ? await legacy.requestAdapterInfo().catch(() => ({})) : {});
  const fallback = raw.isFallbackAdapter ?? (adapter as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter;
  const limits: Record<string, number> = {};
  for (const name of LIMITS) {
    const v = (adapter.limits as unknown as Record<string, number | undefined>)[name];
    if (typeof v === 'number') limits[name] = v;
  }
  return {
    info: {
      vendor: raw.vendor ?? '',
      architecture: raw.architecture ?? '',
      description: raw.description ?? '',
      limits,
      features: [...adapter.features].map(String).sort(),
      ...(fallback ? { fallback: true } : {}),
    },
  };
}

/**
 * A software renderer behind WebGPU (SwiftShader, llvmpipe, lavapipe, WARP): it runs WebGPU on
 * the CPU, far slower than WebAssembly (60 to 80 times on the probe here), so timing it would
 * only keep the cores busy while the page is being used.
 */
export function softwareAdapter(info: AdapterInfo): boolean {
  return info.fallback === true || /swiftshader|llvmpipe|lavapipe|software|basic render/i.test(`${info.vendor} ${info.architecture} ${info.description}`);
}

export interface BackendDeps {
  gpu?: GpuLike;
  /** Makes `kind` the active tfjs backend; false when it cannot start. */
  activate(kind: BackendKind): Promise<boolean>;
  /** Milliseconds per probe forward pass on the active backend. */
  probe(): Promise<number>;
}

const LABEL: Record<BackendKind, string> = { webgpu: 'WebGPU', wasm: 'WebAssembly', cpu: 'CPU' };

const round = (ms: number) => Math.round(ms * 100) / 100;

/**
 * Activates a backend at once: on `auto`, WebAssembly, with `pending` set when a WebGPU
 * adapter remains to be measured against it (chooseBackend, elsewhere); when WebAssembly does
 * not start, or for any other choice, as chooseBackend.
 */
export async function startBackend(choice: BackendChoice, deps: BackendDeps): Promise<BackendReport> {
  if (choice !== 'auto') return chooseBackend(choice, deps);
  const described = await describeAdapter(deps.gpu ?? navigatorGpu());
  let ms: number | undefined;
  try {
    if (await deps.activate('wasm')) ms = round(await deps.probe());
  } catch {
    ms = undefined;
  }
  if (ms === undefined) return chooseBackend('auto', deps);
  if ('info' in described && softwareAdapter(described.info)) {
    const name = [described.info.vendor, described.info.architecture].filter(Boolean).join(' ') || 'a fallback adapter';
    return { backend: 'wasm', adapter: described.info, probe: { wasm: ms }, reason: `WebGPU here is a software renderer (${name}), far slower; WebAssembly ${ms} ms per forward pass` };
  }
  if ('info' in described) {
    return { backend: 'wasm', adapter: described.info, probe: { wasm: ms }, reason: 'to start with; WebGPU is being measured against it in the background', pending: true };
  }
  return { backend: 'wasm', probe: { wasm: ms }, reason: `WebGPU unavailable: ${described.why}; WebAssembly ${ms} ms per forward pass` };
}

/**
 * Activates the backend for `choice` and says why. An explicit choice is honoured or fails
 * with a one-line Error; `auto` probes WebGPU (when there is an adapter) and WebAssembly and
 * keeps the faster, falling back to CPU when neither starts.
 */
export async function chooseBackend(choice: BackendChoice, deps: BackendDeps): Promise<BackendReport> {
  const described = await describeAdapter(deps.gpu ?? navigatorGpu());
  const adapter = 'info' in described ? described.info : undefined;

  if (choice !== 'auto') {
    if (choice === 'webgpu' && !adapter) throw new Error(NO_WEBGPU);
    if (!(await deps.activate(choice))) {
      throw new Error(`the ${LABEL[choice]} backend could not be started in this browser`);
    }
    const ms = await deps.probe();
    return { backend: choice, adapter, probe: { [choice]: round(ms) }, reason: 'chosen by you' };
  }

  const candidates: BackendKind[] = adapter ? ['webgpu', 'wasm'] : ['wasm'];
  const probe: Partial<Record<BackendKind, number>> = {};
  const failed: string[] = [];
  let active: BackendKind | undefined;
  for (const kind of candidates) {
    try {
      if (!(await deps.activate(kind))) {
        failed.push(`${LABEL[kind]} did not start`);
        continue;
      }
      active = kind;
      probe[kind] = round(await deps.probe());
    } catch (e) {
      failed.push(`${LABEL[kind]} failed (${e instanceof Error ? e.message : String(e)})`);
    }
  }
  const timed = (Object.entries(probe) as [BackendKind, number][]).sort((a, b) => a[1] - b[1]);
  const notes = [adapter ? '' : `WebGPU unavailable: ${'why' in described ? described.why : ''}`, ...failed].filter(Boolean);
  const suffix = notes.length ? `; ${notes.join('; ')}` : '';

  if (timed.length === 0) {
    if (!(await deps.activate('cpu'))) throw new Error(`no TensorFlow.js backend could be started${suffix}`);
    probe.cpu = round(await deps.probe());
    return { backend: 'cpu', adapter, probe, reason: `CPU, the last resort${suffix}` };
  }
  const [best] = timed[0];
  // The probe ran the candidates in turn: make the winner active again.
  if (active !== best) {
    if (!(await deps.activate(best))) throw new Error(`the ${LABEL[best]} backend could not be restarted`);
  }
  const figures = `${timed.map(([k, ms]) => `${LABEL[k]} ${ms} ms`).join(', ')} per forward pass`;
  const reason = timed.length > 1 ? `fastest in the probe (${figures})${suffix}` : [...notes, figures].join('; ');
  return { backend: best, adapter, probe, reason };
}

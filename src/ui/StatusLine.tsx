// One line that says where tensors run (the WebGPU adapter, or WebAssembly), which of our
// kernels ran (docs/design.md § Kernels), and what is loading or running now, with its progress.
import { useAppStore } from '../store';
import type { BackendReport, KernelUsage } from '../worker/protocol';

const BACKEND_NAMES = { webgpu: 'WebGPU', wasm: 'WebAssembly', cpu: 'plain JavaScript (cpu)' } as const;

/** The backend in one line: its name, the GPU it runs on (WebGPU), and why it was chosen. */
export function describeBackend(r: BackendReport): string {
  const name = BACKEND_NAMES[r.backend];
  const gpu = r.backend === 'webgpu' ? ` on ${adapterName(r) || 'the GPU'}` : '';
  return `${name}${gpu} — ${r.reason}`;
}

/** The WebGPU adapter as its vendor, architecture and description say; '' without one. */
export function adapterName(r: BackendReport): string {
  const a = r.adapter;
  return a ? [a.vendor, a.architecture, a.description].filter(Boolean).join(' ') || 'an adapter' : '';
}

/** Our kernels as people read them, by the worker's kernel names. */
const KERNEL_NAMES: Record<string, string> = { crossAttention: 'cross-attention', causalAttention: 'self-attention', linear: 'linear', norm: 'norm' };

/**
 * Which of our kernels ran, in one line: off WebGPU "WebAssembly: plain tfjs ops"; on WebGPU
 * each kernel fused (our WGSL) or reference (plain tfjs) with the last reason it fell back.
 */
export function describeKernels(u: KernelUsage): string {
  const name = BACKEND_NAMES[u.backend as keyof typeof BACKEND_NAMES] ?? u.backend;
  if (u.backend !== 'webgpu') return `${name}: plain tfjs ops`;
  if (!u.enabled) return 'WebGPU: our kernels are switched off (plain tfjs-webgpu ops)';
  const parts = Object.entries(u.kernels).map(([k, c]) => {
    const label = KERNEL_NAMES[k] ?? k;
    const why = c.lastReason ? ` (${c.lastReason})` : '';
    if (c.reference === 0) return `${label} fused ×${c.fused}`;
    if (c.fused === 0) return `${label} reference ×${c.reference}${why}`;
    return `${label} fused ×${c.fused}, reference ×${c.reference}${why}`;
  });
  const programs = Object.keys(u.dispatches).length;
  return parts.length === 0 ? 'WebGPU: none of our kernels has run yet' : `WebGPU: ${parts.join('; ')} — ${programs} WGSL program${programs === 1 ? '' : 's'}`;
}

export function StatusLine() {
  const session = useAppStore((s) => s.session);
  const { activity, backend, kernels, phase, error } = session;
  const hasTotal = activity?.total !== undefined && activity.total > 0;

  return (
    <div className="status-line">
      <p role="status" aria-label="Backend" className="backend" title={backend?.adapter ? `WebGPU adapter: ${adapterName(backend)}` : undefined}>
        <span className="muted">Backend:</span>{' '}
        {backend ? describeBackend(backend) : phase === 'error' ? 'not running' : 'choosing…'}
      </p>
      {kernels && (
        <p role="status" aria-label="Kernels" className="kernels">
          <span className="muted">Kernels:</span> {describeKernels(kernels)}
        </p>
      )}
      <div role="status" aria-label="Activity" className="activity">
        {activity ? (
          <>
            <span>
              {activity.label}
              {hasTotal ? ` (${activity.done ?? 0} / ${activity.total})` : '…'}
            </span>
            <progress aria-label="Loading progress" max={hasTotal ? activity.total : undefined} value={hasTotal ? activity.done : undefined} />
          </>
        ) : (
          <span className="muted">Idle.</span>
        )}
      </div>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
    </div>
  );
}

// One line that says where tensors run (the WebGPU adapter, or WebAssembly) and what is
// loading or running now, with its progress.
import { useAppStore } from '../store';
import type { BackendReport } from '../worker/protocol';

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

export function StatusLine() {
  const session = useAppStore((s) => s.session);
  const { activity, backend, phase, error } = session;
  const hasTotal = activity?.total !== undefined && activity.total > 0;

  return (
    <div className="status-line">
      <p role="status" aria-label="Backend" className="backend" title={backend?.adapter ? `WebGPU adapter: ${adapterName(backend)}` : undefined}>
        <span className="muted">Backend:</span>{' '}
        {backend ? describeBackend(backend) : phase === 'error' ? 'not running' : 'choosing…'}
      </p>
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

// The worker's kernel counts (docs/design.md § Kernels) for the status line: asked for after
// the work that runs the kernels (training, generation).
import { setState } from './app';
import { api } from './worker';

/** Fetches the worker's kernel usage into session.kernels. */
export async function refreshKernelUsage(): Promise<void> {
  try {
    const kernels = await api().kernelUsage();
    setState((s) => ({ session: { ...s.session, kernels } }));
  } catch {
    // a worker that died or is busy restarting: the status line keeps the last snapshot, and the
    // crash itself is reported by the session (session-control.ts)
  }
}

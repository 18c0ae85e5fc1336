// The backend choice that `auto` leaves pending: the page starts on WebAssembly at once, and
// once it has been idle a moment a throwaway worker times WebGPU against WebAssembly. When
// WebGPU wins, the page's worker switches to it between two jobs; either way the status line
// then gives the figures. Work the person starts meanwhile stops the timing (it would compete
// for the same cores), which starts again at the next idle moment.
import { controller, getState, setState, useAppStore } from './app';
import { isTraining } from './training';
import { api, messageOf, serial } from './worker';
import type { BackendReport } from '../worker/protocol';

const LABEL = { webgpu: 'WebGPU', wasm: 'WebAssembly', cpu: 'CPU' } as const;

function busy(): boolean {
  const s = getState();
  return s.session.activity !== null || isTraining(s.training);
}

/** Resolves once nothing has run for `ms` (no activity on the status line, no training). */
function whenIdle(ms: number): Promise<void> {
  return new Promise((resolve) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const check = () => {
      clearTimeout(timer);
      if (!busy()) {
        timer = setTimeout(() => {
          unsubscribe();
          resolve();
        }, ms);
      }
    };
    const unsubscribe = useAppStore.subscribe((s, prev) => {
      if (s.session.activity !== prev.session.activity || s.training.status !== prev.training.status) check();
    });
    check();
  });
}

function patchBackend(report: BackendReport): void {
  setState((s) => ({ session: { ...s.session, backend: report } }));
}

/** Times the backends in a throwaway worker; null when work started meanwhile (and stopped it). */
async function measure(): Promise<BackendReport | null> {
  const probe = controller().probeClient();
  let interrupted = false;
  const stopIfBusy = useAppStore.subscribe(() => {
    if (busy() && !interrupted) {
      interrupted = true;
      probe.terminate();
    }
  });
  probe.onCrash(() => probe.terminate()); // a crash leaves the call pending: end it
  try {
    return await probe.api.measureBackends();
  } catch (e) {
    if (interrupted) return null;
    throw e;
  } finally {
    stopIfBusy();
    probe.terminate();
  }
}

/**
 * Makes the pending choice; `current()` says whether the worker that asked for it still runs
 * (a restart starts over). Never throws: a failure is said on the status line.
 */
export async function chooseBackendInBackground(current: () => boolean): Promise<void> {
  const started = getState().session.backend;
  if (!started?.pending) return;
  const { backgroundAttempts, backgroundIdleMs } = controller().timing;
  for (let attempt = 0; attempt < backgroundAttempts; attempt++) {
    await whenIdle(backgroundIdleMs);
    if (!current()) return;
    let report: BackendReport | null;
    try {
      report = await measure();
    } catch (e) {
      if (current()) patchBackend({ ...started, pending: false, reason: `WebGPU could not be measured (${messageOf(e)}); WebAssembly stays` });
      return;
    }
    if (!current()) return;
    if (report === null) continue; // the person started something: try again when idle
    if (report.backend === started.backend) {
      patchBackend({ ...report, pending: false });
      return;
    }
    try {
      await serial(() => api().switchBackend(report.backend));
      if (current()) patchBackend({ ...report, pending: false, reason: `switched from ${LABEL[started.backend]}: ${report.reason}` });
    } catch (e) {
      if (current()) patchBackend({ ...started, pending: false, probe: report.probe, reason: `${LABEL[report.backend]} was faster in the probe but could not take over (${messageOf(e)})` });
    }
    return;
  }
  if (current()) patchBackend({ ...started, pending: false, reason: 'the page stayed busy, so WebGPU was not measured; WebAssembly stays' });
}

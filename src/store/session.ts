// The worker session as people see it: which backend runs, what is loading now (with
// progress where it is known), and whether the worker died.
import type { StateCreator } from 'zustand';
import type { BackendReport, KernelUsage } from '../worker/protocol';

export interface Activity {
  /** What is happening, e.g. "Loading arith-tiny and kv-tiny and building 3 bridges". */
  label: string;
  done?: number;
  total?: number;
}

export interface SessionState {
  phase: 'starting' | 'ready' | 'error';
  backend?: BackendReport;
  /** What our kernels ran, as the worker counted after the last training or generation. */
  kernels?: KernelUsage;
  /** The latest unfinished piece of work, or null when idle. */
  activity: Activity | null;
  /** Why the worker could not start or stopped, for people. */
  error?: string;
}

export interface SessionSlice {
  session: SessionState;
}

export const createSessionSlice: StateCreator<SessionSlice, [], [], SessionSlice> = () => ({
  session: { phase: 'starting', activity: null },
});

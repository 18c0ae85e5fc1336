// What our kernels did since the last reset (docs/design.md § Kernels): WGSL dispatches per
// program key (counted by runProgram), and per kernel how many calls ran fused and how many fell
// back to the plain-tfjs reference, with the last reason. Also the switch that turns our kernels
// off (the bench's baseline: plain tfjs-webgpu ops). Imports nothing: the worker's protocol
// re-exports the snapshot's type for the page.

/** One kernel's calls: fused (our WGSL) or reference (plain tfjs), and why the last fallback happened. */
export interface KernelCalls {
  fused: number;
  reference: number;
  /** The last reason a call fell back to the reference (absent when none did). */
  lastReason?: string;
}

/** A snapshot of the counters. */
export interface KernelUsage {
  /** The tfjs backend when the snapshot was taken. */
  backend: string;
  /** false: our kernels are switched off (every call runs the reference). */
  enabled: boolean;
  /** Per kernel ('linear', 'crossAttention', 'causalAttention', 'norm'): fused and reference calls. */
  kernels: Record<string, KernelCalls>;
  /** WGSL dispatches per program key (shaderKey). */
  dispatches: Record<string, number>;
}

const calls = new Map<string, KernelCalls>();
const dispatches = new Map<string, number>();
let enabled = true;

/** The reason every call gives while our kernels are switched off. */
export const SWITCHED_OFF = 'our kernels are switched off';

/** Turns our kernels on or off (off: the dispatchers run the reference, with SWITCHED_OFF). */
export function setKernelsEnabled(on: boolean): void {
  enabled = on;
}

export function kernelsEnabled(): boolean {
  return enabled;
}

function entry(kernel: string): KernelCalls {
  let c = calls.get(kernel);
  if (!c) calls.set(kernel, (c = { fused: 0, reference: 0 }));
  return c;
}

/** Records one call of `kernel`: fused when `reason` is null, else the reference, for `reason`. */
export function recordCall(kernel: string, reason: string | null): void {
  const c = entry(kernel);
  if (reason === null) c.fused++;
  else {
    c.reference++;
    c.lastReason = reason;
  }
}

/** Records one dispatch of the WGSL program `key`. */
export function recordDispatch(key: string): void {
  dispatches.set(key, (dispatches.get(key) ?? 0) + 1);
}

/** The counters now (copies), on `backend`. */
export function kernelUsage(backend: string): KernelUsage {
  return {
    backend,
    enabled,
    kernels: Object.fromEntries([...calls].map(([k, c]) => [k, { ...c }])),
    dispatches: Object.fromEntries(dispatches),
  };
}

/** Zeroes the counters (the switch stays as it is). */
export function resetKernelUsage(): void {
  calls.clear();
  dispatches.clear();
}

// The compositions shipped with the app (trained by `repro kv`): fetching one's bundle into
// the worker, and the configuration its recorded training means. The user action that asks
// first is actions/openComposition.ts.
import type { CompositionSettings } from '../worker/protocol';
import type { Config } from './config';
import { beginActivity } from './activity';
import { setState } from './app';
import { readManifest } from './bundle-file';
import { builtinFilePath, fetchFile, type BuiltinComposition } from './models';
import { bundleOpened } from './replaced';
import { whenSessionReady } from './session-start';
import { api, messageOf, serial, transferBundle } from './worker';

/** Fetches composition.json and bridge.safetensors and hands both to the worker. */
export async function openCompositionNow(entry: BuiltinComposition, opts: { baseUrl?: string; fetch?: typeof fetch } = {}): Promise<void> {
  const baseUrl = opts.baseUrl ?? import.meta.env?.BASE_URL ?? '/';
  const doFetch = opts.fetch ?? fetch;
  const activity = beginActivity(`Opening ${entry.title}`);
  setState((s) => ({ composition: { ...s.composition, status: 'building', error: undefined } }));
  try {
    const [composition, bridge] = await Promise.all([
      fetchFile(doFetch, baseUrl, builtinFilePath(entry, 'composition.json')).then((r) => r.text()),
      fetchFile(doFetch, baseUrl, builtinFilePath(entry, 'bridge.safetensors')).then((r) => r.arrayBuffer()),
    ]);
    await whenSessionReady();
    const settings: CompositionSettings = await serial(() => api().importBundle(transferBundle({ composition, bridge })));
    // A shipped composition is no saved record (bundleOpened forgets the open one).
    const manifest = readManifest(composition);
    const source = { kind: 'bundle', title: entry.title, metrics: manifest.metrics, training: manifest.training, alignment: manifest.alignment } as const;
    setState((s) => bundleOpened(s, { settings, source, recorded: recordedSettings(manifest) }));
  } catch (e) {
    setState((s) => ({
      composition: { ...s.composition, status: 'error', error: `Could not open ${entry.title}: ${messageOf(e)}` },
    }));
  } finally {
    activity.end();
  }
}

const whole = (v: unknown, min: number, max: number): number | undefined =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? v : undefined;

/**
 * What the composition was trained and evaluated with (composition.json `training` and
 * `metrics`), as configuration: Train then retrains the same recipe, and Evaluate draws the
 * examples its recorded table was measured on (the same seed and size). Values out of the
 * page's ranges are left as they are.
 */
export function recordedSettings(manifest: { metrics?: Record<string, unknown>; training?: Record<string, unknown> }): Partial<Config> {
  const t = manifest.training ?? {};
  const m = manifest.metrics ?? {};
  const out: Partial<Config> = {};
  const steps = whole(t.steps, 1, 100_000);
  if (steps !== undefined) out.steps = steps;
  if (typeof t.lr === 'number' && t.lr > 0 && Number.isFinite(t.lr)) out.lr = t.lr;
  const batch = whole(t.batch, 1, 4096);
  if (batch !== undefined) out.batch = batch;
  const seed = whole(m.eval_seed ?? t.seed, 0, 2 ** 31 - 1);
  if (seed !== undefined) out.seed = seed;
  const n = whole(m.n, 1, 10_000);
  if (n !== undefined) out.evalN = n;
  return out;
}


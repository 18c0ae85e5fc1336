// User action: open a composition shipped with the app (trained by `repro kv`), so a person
// who does not want to wait can compare at once.
import type { CompositionSettings } from '../../worker/protocol';
import { beginActivity } from '../activity';
import { setState } from '../app';
import { requestChange } from '../change';
import { idleOutputs } from '../compare';
import { serial } from '../compose';
import { settingsKey } from '../composition';
import { builtinFilePath, fetchFile, type BuiltinComposition } from '../models';
import { whenSessionReady } from '../session-control';
import { api, messageOf, transferBundle } from '../worker';

export function openComposition(composition: BuiltinComposition): void {
  requestChange({ kind: 'bundle', composition, what: `open ${composition.title}` });
}

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
    const manifest = readManifest(composition);
    setState((s) => ({
      config: {
        ...s.config,
        anchor: settings.anchor,
        augment: settings.augment,
        connections: settings.connections.map(([a, g]) => [a, g]),
        numHeads: settings.numHeads,
        output: settings.output,
      },
      composition: {
        status: 'ready',
        key: settingsKey(settings),
        trained: true,
        source: { kind: 'bundle', title: entry.title, metrics: manifest.metrics, training: manifest.training },
        disabled: [],
      },
      compare: { ...s.compare, outputs: idleOutputs() },
      evaluation: { status: 'idle', done: 0, total: 0 },
      attention: { ...s.attention, connection: 0, status: 'idle', map: undefined, shown: undefined },
    }));
  } catch (e) {
    setState((s) => ({
      composition: { ...s.composition, status: 'error', error: `Could not open ${entry.title}: ${messageOf(e)}` },
    }));
  } finally {
    activity.end();
  }
}

/** The free-form parts of composition.json that the page shows; the worker checks the rest. */
function readManifest(text: string): { metrics?: Record<string, unknown>; training?: Record<string, unknown> } {
  try {
    const json = JSON.parse(text) as { metrics?: unknown; training?: unknown };
    const obj = (v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
    return { metrics: obj(json.metrics), training: obj(json.training) };
  } catch {
    return {};
  }
}

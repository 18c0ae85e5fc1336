// User action: download both models of a ready pair of real models (real-models.ts) by repo id,
// then pick them as anchor and augmenting model (docs/design.md § Models, the Real models section).
import { getState, setState } from '../app';
import { requestChange } from '../change';
import { importModelFromUrl } from '../imported';
import type { RealPair } from '../real-models';

/**
 * Downloads both models of a pair (progress, cancel and cache as any download by repo id), then
 * sets them as anchor and augmenting model. Returns whether both came; a failure or a cancel
 * is the download's message in the store.
 */
export async function downloadRealPair(pair: RealPair, opts: { fetch?: typeof fetch; caches?: CacheStorage } = {}): Promise<boolean> {
  if (getState().realDownload !== null) return false;
  const ids: string[] = [];
  try {
    for (const [i, repo] of [pair.anchor, pair.augment].entries()) {
      setState({ realDownload: { pair: pair.id, model: i } });
      const id = await importModelFromUrl(repo, opts);
      if (id === null) return false;
      ids.push(id);
    }
  } finally {
    setState({ realDownload: null });
  }
  const [anchor, augment] = ids;
  if (getState().config.anchor !== anchor || getState().config.augment !== augment) {
    requestChange({ kind: 'config', patch: { anchor, augment }, what: `use ${anchor} as the anchor and ${augment} as the augmenting model` });
  }
  return true;
}

// The configuration in the address bar: read when the page opens (and when the hash is
// edited), written back on every change, so a link reproduces a setup.
import { controller, getState, setState, useAppStore } from './app';
import { fitConfig } from './fit';
import { configFromHash, configToHash, type Config } from './config';
import { COMPOSITION_KEYS, type CompositionPatch } from './composition';
import { requestChange } from './change';

/** Applies a hash to the configuration; the composition part asks first when bridges are trained. */
export function applyHash(hash: string, opts: { initial?: boolean } = {}): void {
  const { config, errors } = configFromHash(hash);
  const patch: CompositionPatch = {};
  const rest: Partial<Config> = {};
  for (const [k, v] of Object.entries(config) as [keyof Config, unknown][]) {
    if ((COMPOSITION_KEYS as readonly string[]).includes(k)) (patch as Record<string, unknown>)[k] = v;
    else (rest as Record<string, unknown>)[k] = v;
  }
  setState((s) => ({
    config: { ...s.config, ...rest },
    linkErrors: errors.map((e) => `The link's ${e}; kept the default.`),
  }));
  const current = getState().config;
  const changed = COMPOSITION_KEYS.some((k) => k in patch && JSON.stringify(patch[k]) !== JSON.stringify(current[k]));
  if (opts.initial) {
    // The page is opening: nothing is composed yet, and the page's start (main.tsx) decides
    // between the last visit's composition and the link's (restoreLastSession), then composes
    // once. Composing here as well raced that restore and replaced its bridges.
    controller().openedWithLink = COMPOSITION_KEYS.some((k) => k in patch);
    if (changed) {
      setState((s) => {
        const { config, dropped } = fitConfig({ ...s.config, ...patch }, s);
        return { config, linkErrors: [...s.linkErrors, ...dropped] };
      });
    }
    return;
  }
  if (!changed) return;
  requestChange({ kind: 'config', patch, what: 'open the link' });
}

/** Reads the page's hash once, then keeps it in step with the configuration. Returns an unsubscribe. */
export function startUrlSync(win: Window = window): () => void {
  if (win.location.hash.length > 1) applyHash(win.location.hash, { initial: true });
  const write = (config: Config) => {
    const hash = configToHash(config);
    if (win.location.hash !== hash) win.history.replaceState(null, '', hash);
  };
  write(getState().config);
  const unsubscribe = useAppStore.subscribe((s, prev) => {
    if (s.config !== prev.config) write(s.config);
  });
  const onHashChange = () => {
    if (win.location.hash !== configToHash(getState().config)) applyHash(win.location.hash);
  };
  win.addEventListener('hashchange', onHashChange);
  return () => {
    unsubscribe();
    win.removeEventListener('hashchange', onHashChange);
  };
}

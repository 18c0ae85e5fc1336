// Real published models the page offers ready to compose (docs/design.md § Models, the Real
// models section): three pairs, each an anchor and an augmenting model of one family (so they
// share a tokenizer). Before anything is downloaded the page shows each model's sizes, its
// parameters and the memory it needs, summarised from its published config.json (shipped under
// models/real/<owner>/<name>/) by the architecture's tensor table; one button downloads both by
// repo id through the usual download, then picks them (actions/downloadRealPair.ts).
import type { StoreApi } from 'zustand';
import { summarizeModelConfig, type ModelSummary } from '../io/model-summary';
import { parseModelSource } from './model-url';
import { fetchJson, type FetchOptions, type Loadable, type ModelsSlice } from './models';

export interface RealPair {
  id: string;
  /** What the pair is, for people. */
  title: string;
  /** Hugging Face repo ids. */
  anchor: string;
  augment: string;
}

export const REAL_PAIRS: readonly RealPair[] = [
  { id: 'smollm2', title: 'SmolLM2 (Llama): 360M ← 135M', anchor: 'HuggingFaceTB/SmolLM2-360M', augment: 'HuggingFaceTB/SmolLM2-135M' },
  { id: 'pythia', title: 'Pythia (GPT-NeoX): 160M ← 70M', anchor: 'EleutherAI/pythia-160m', augment: 'EleutherAI/pythia-70m' },
  { id: 'gpt2', title: 'GPT-2: 124M ← DistilGPT2 82M', anchor: 'openai-community/gpt2', augment: 'distilbert/distilgpt2' },
];

/** Where a real model's published config.json is shipped with the app. */
export function realConfigPath(repo: string): string {
  return `models/real/${repo}/config.json`;
}

/** The name a downloaded repo gets in the pickers: the id importModelFromUrl gives it. */
export function realModelId(repo: string): string {
  return parseModelSource(repo).id;
}

/** Reads every real model's config.json and summarises it into `store`. Never throws: a failure is a message naming the file. */
export async function fetchRealConfigs(store: StoreApi<ModelsSlice>, options: Omit<FetchOptions, 'current'> = {}): Promise<void> {
  const baseUrl = options.baseUrl ?? import.meta.env.BASE_URL;
  const doFetch = options.fetch ?? fetch;
  const repos = REAL_PAIRS.flatMap((p) => [p.anchor, p.augment]);
  store.setState({ realConfigs: Object.fromEntries(repos.map((r) => [r, { status: 'loading' } as const])) });
  await Promise.all(
    repos.map(async (repo) => {
      const path = realConfigPath(repo);
      let entry: Loadable<ModelSummary>;
      try {
        entry = { status: 'ready', value: summarizeModelConfig(await fetchJson(doFetch, baseUrl, path), path) };
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        entry = { status: 'error', error: message.startsWith(path) ? message : `Could not load ${path}: ${message}` };
      }
      store.setState((s) => ({ realConfigs: { ...s.realConfigs, [repo]: entry } }));
    }),
  );
}

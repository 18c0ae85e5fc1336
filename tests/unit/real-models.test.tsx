// @vitest-environment happy-dom
// The Real models section (docs/design.md § Models): before anything is downloaded, each ready
// pair shows per model the sizes, parameters and memory summarised from its published
// config.json (public/models/real/); one button downloads both models by repo id and picks them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';

vi.mock('../../src/worker/client', () => ({
  createCalmClient: () => {
    throw new Error('the tests install a session with a fake client (installSession)');
  },
  proxyCallback: <T,>(f: T) => f,
  transferBundle: <T,>(f: T) => f,
  defaultModelsUrl: () => 'http://test.local/models',
}));

import { getState, initialState, loadBuiltinModels, REAL_PAIRS, setState, startSession } from '../../src/store';
import { installSession } from '../../src/store/session-control';
import { formatBytes } from '../../src/store/saved';
import { summarizeModelConfig } from '../../src/io/model-summary';
import { RealModels } from '../../src/ui/RealModels';
import { ModelCard } from '../../src/ui/ModelCard';
import { formatCount } from '../../src/ui/format';
import { fakeFetch, FakeWorker } from './helpers/fake-calm-worker';

const PUBLIC = join(__dirname, '../../public');
const configOf = (repo: string) => JSON.parse(readFileSync(join(PUBLIC, 'models/real', repo, 'config.json'), 'utf8')) as Record<string, unknown>;

/** The page's own files: the fake worker's fixtures, and the real models' configs from public/. */
function pageFetch(): typeof fetch {
  const base = fakeFetch();
  return (async (input: RequestInfo | URL, init?: RequestInit) => {
    const path = String(input).replace(/^\/+/, '');
    if (path.startsWith('models/real/')) {
      try {
        return new Response(readFileSync(join(PUBLIC, path)), { headers: { 'content-type': 'application/json' } });
      } catch {
        return new Response('Not Found', { status: 404 });
      }
    }
    return base(input, init);
  }) as typeof fetch;
}

let worker: FakeWorker;
beforeEach(async () => {
  setState(initialState, true);
  worker = new FakeWorker();
  installSession({ client: worker.client });
  await loadBuiltinModels({ baseUrl: '/', fetch: pageFetch() });
  await startSession();
});
afterEach(() => {
  vi.unstubAllGlobals();
  cleanup();
});

describe('Real models', () => {
  it('the shipped config.json files are the published ones: their parameter counts are the models\' published totals', () => {
    // The totals the model cards and papers give (SmolLM2, Pythia's 70M/160M, GPT-2 and DistilGPT2).
    const published: Record<string, number> = {
      'HuggingFaceTB/SmolLM2-360M': 361_821_120,
      'HuggingFaceTB/SmolLM2-135M': 134_515_008,
      'EleutherAI/pythia-160m': 162_322_944,
      'EleutherAI/pythia-70m': 70_426_624,
      'openai-community/gpt2': 124_439_808,
      'distilbert/distilgpt2': 81_912_576,
    };
    const repos = REAL_PAIRS.flatMap((p) => [p.anchor, p.augment]);
    expect(repos.sort()).toEqual(Object.keys(published).sort());
    for (const repo of repos) expect([repo, summarizeModelConfig(configOf(repo)).parameters]).toEqual([repo, published[repo]]);
  });

  it('shows per model the layers, parameters and memory computed from its config.json, before any download', async () => {
    render(<RealModels />);
    for (const pair of REAL_PAIRS) {
      const card = screen.getByRole('article', { name: pair.title });
      const table = within(card).getByRole('table', { name: `${pair.title}: sizes` });
      await waitFor(() => expect(table.textContent).not.toContain('…'));
      const rows = Object.fromEntries(
        within(table)
          .getAllByRole('row')
          .slice(1)
          .map((tr) => {
            const cells = [...tr.querySelectorAll('th, td')].map((c) => c.textContent);
            return [cells[0], cells.slice(1)];
          }),
      );
      const [a, g] = [pair.anchor, pair.augment].map((r) => summarizeModelConfig(configOf(r)));
      expect(rows).toEqual({
        Architecture: [a.architecture, g.architecture],
        Layers: [String(a.nLayer), String(g.nLayer)],
        Width: [formatCount(a.nEmbd), formatCount(g.nEmbd)],
        Parameters: [formatCount(a.parameters), formatCount(g.parameters)],
        'Memory (float32)': [formatBytes(a.parameters * 4), formatBytes(g.parameters * 4)],
        'Download, at least': [formatBytes(a.checkpointBytes), formatBytes(g.checkpointBytes)],
      });
      expect(card.textContent).toContain(`Both models together: ${formatBytes((a.parameters + g.parameters) * 4)} of memory.`);
    }
    // SmolLM2's pair as people read it: 32 and 30 layers, Llama.
    const smol = within(screen.getByRole('article', { name: REAL_PAIRS[0].title })).getByRole('table');
    expect(smol.textContent).toContain('32');
    expect(smol.textContent).toContain('361,821,120');
    expect(smol.textContent).toContain('1.35 GB');
    expect(worker.callsOf('importModel')).toHaveLength(0);
  });

  it('downloads both models of a pair by repo id, then picks them as anchor and augmenting model', async () => {
    const tiny = (layers: number) => JSON.stringify({ model_type: 'llama', vocab_size: 98, hidden_size: 8, intermediate_size: 16, num_hidden_layers: layers, num_attention_heads: 2, max_position_embeddings: 64, tie_word_embeddings: true });
    const served: string[] = [];
    const hub = (async (input: RequestInfo | URL) => {
      const url = String(input);
      served.push(url);
      const m = /^https:\/\/huggingface\.co\/HuggingFaceTB\/(SmolLM2-360M|SmolLM2-135M)\/resolve\/main\/(.+)$/.exec(url);
      if (!m) return new Response('Entry not found', { status: 404 });
      const files: Record<string, string> = { 'config.json': tiny(m[1] === 'SmolLM2-360M' ? 4 : 3), 'model.safetensors': 'WEIGHTS', 'tokenizer.json': '{}' };
      const body = files[m[2]];
      return body === undefined ? new Response('Entry not found', { status: 404 }) : new Response(body, { headers: { 'content-length': String(body.length) } });
    }) as typeof fetch;
    render(<RealModels />);
    const pair = REAL_PAIRS[0];
    const { downloadRealPair } = await import('../../src/store');
    const seen = new Set<string>();
    const unsubscribe = (await import('../../src/store')).useAppStore.subscribe((s) => {
      if (s.realDownload) seen.add(`${s.realDownload.pair}:${s.realDownload.model}`);
    });
    expect(await downloadRealPair(pair, { fetch: hub })).toBe(true);
    unsubscribe();
    expect([...seen]).toEqual(['smollm2:0', 'smollm2:1']);
    expect(worker.callsOf('importModel').map((args) => (args[1] as { id: string }).id)).toEqual(['SmolLM2-360M', 'SmolLM2-135M']);
    expect(served.filter((u) => u.endsWith('model.safetensors'))).toHaveLength(2);
    await waitFor(() => expect(getState().config).toMatchObject({ anchor: 'SmolLM2-360M', augment: 'SmolLM2-135M' }));
    expect(getState().realDownload).toBeNull();
    // A downloaded model has no listed role: its card says nothing of one in either column, as a
    // built-in augmenting model's card in the anchor column does.
    const models = getState().builtinModels;
    if (models.status !== 'ready') throw new Error('the model list is not loaded');
    const downloaded = models.value.find((m) => m.id === 'SmolLM2-360M')!;
    const builtinAugment = models.value.find((m) => m.role === 'augment' && !m.path.startsWith('imported/'))!;
    const { container: card } = render(<ModelCard model={downloaded} role="anchor" />);
    expect(card.textContent).not.toContain('listed as');
    const { container: builtinCard } = render(<ModelCard model={builtinAugment} role="anchor" />);
    expect(builtinCard.textContent).toContain('listed as an augmenting model');
    // The button is there for people, and disabled while a download runs.
    expect(screen.getByRole('article', { name: pair.title }).querySelector('button')!.textContent).toBe('Download both and compose');
  });

  it('stops at the first model that fails, and says why', async () => {
    vi.stubGlobal('fetch', (() => Promise.resolve(new Response('Entry not found', { status: 404 }))) as typeof fetch);
    render(<RealModels />);
    fireEvent.click(within(screen.getByRole('article', { name: REAL_PAIRS[1].title })).getByRole('button', { name: 'Download both and compose' }));
    await waitFor(() => expect(getState().modelImport.error ?? '').toMatch(/config\.json: HTTP 404/));
    expect(getState().realDownload).toBeNull();
    expect(worker.callsOf('importModel')).toHaveLength(0);
  });
});

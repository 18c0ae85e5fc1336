// A built-in model's parameter count is one number everywhere: its model card (README.md), the
// CLI's `models`, the page's card before any weights load (config.json and the safetensors
// header, read by Range request) and the weights as the loader reads them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { create } from 'zustand';
import { createModelsSlice, fetchBuiltinModels, type ModelsSlice } from '../../src/store/models';
import { parameterCount } from '../../src/cli/commands/models';
import { countParameters } from '../../src/model/causal-lm';
import { loadModelFolder } from '../../src/io/model-folder';
import { nodeFolderSource } from '../../src/io/node-source';
import { useBackend } from '../../src/model/tf';

const ROOT = join(__dirname, '../..');
const PUBLIC = join(ROOT, 'public');
const index = JSON.parse(readFileSync(join(PUBLIC, 'models/index.json'), 'utf8')) as { models: { id: string; path: string }[] };

/** public/ as a server would serve it, Range requests ignored (the page reads no further than it needs). */
const servePublic = (async (input: RequestInfo | URL) => {
  const path = String(input).replace(/^\/+/, '');
  try {
    return new Response(readFileSync(join(PUBLIC, path)), { status: 200, headers: { 'content-type': 'application/octet-stream' } });
  } catch {
    return new Response('Not Found', { status: 404 });
  }
}) as typeof fetch;

beforeAll(async () => {
  await useBackend('cpu');
});

describe('parameter counts', () => {
  it('agree: model card, CLI, the page before loading, and the loaded weights', async () => {
    const store = create<ModelsSlice>()((...a) => createModelsSlice(...a));
    await fetchBuiltinModels(store, { baseUrl: '/', fetch: servePublic });
    for (const m of index.models) {
      const dir = join(PUBLIC, 'models', m.path);
      const card = /([\d,]+) parameters/.exec(readFileSync(join(dir, 'README.md'), 'utf8'))![1];
      const expected = Number(card.replace(/,/g, ''));
      const summary = store.getState().builtinConfigs[m.id];
      expect(summary.status).toBe('ready');
      if (summary.status !== 'ready') continue;
      const page = summary.value.parameters;
      const cli = (await parameterCount(dir, JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')), 'config.json')).parameters;
      const folder = await loadModelFolder(nodeFolderSource(dir));
      const loaded = countParameters(folder.model);
      folder.model.dispose();
      expect({ id: m.id, page, cli, loaded }).toEqual({ id: m.id, page: expected, cli: expected, loaded: expected });
    }
  });
});

// The home page lists the built-in models of public/models/index.json, with their sizes.
import { mkdir, readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './helpers/browser';
import { ROOT } from './helpers/server';

interface IndexEntry {
  id: string;
  role: 'anchor' | 'augment';
  title: string;
  path: string;
}

const baseUrl = inject('baseUrl');
let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

async function openPage(): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  return { page, errors };
}

describe('home page', () => {
  it('lists every built-in model with its config sizes, cross-origin isolated', async () => {
    const index = JSON.parse(await readFile(`${ROOT}/public/models/index.json`, 'utf8')) as { models: IndexEntry[] };
    const { page, errors } = await openPage();
    await page.goto(baseUrl);

    expect(await page.title()).toBe('CALM Playground');
    await page.getByRole('heading', { level: 1, name: 'CALM Playground' }).waitFor();
    const list = page.getByRole('list', { name: 'Built-in models' });
    await list.waitFor();
    for (const group of ['Anchor models', 'Augmenting models']) {
      await list.getByRole('heading', { name: group }).waitFor();
    }

    for (const model of index.models) {
      const config = JSON.parse(
        await readFile(`${ROOT}/public/models/${model.path.replace(/^\/+|\/+$/g, '')}/config.json`, 'utf8'),
      ) as Record<string, number>;
      const groupName = model.role === 'anchor' ? 'Anchor models' : 'Augmenting models';
      const card = list.getByRole('list', { name: groupName }).getByRole('article', { name: model.title, exact: true });
      await card.waitFor();
      expect(await card.innerText()).toContain(model.id);
      const sizes = card.locator('dl');
      await sizes.waitFor();
      const shown = await sizes.evaluate((dl) =>
        Object.fromEntries([...dl.querySelectorAll('dt')].map((dt) => [dt.textContent, dt.nextElementSibling?.textContent])),
      );
      const fmt = (n: number) => n.toLocaleString('en-US');
      expect(shown).toEqual({
        Layers: fmt(config.n_layer),
        Width: fmt(config.n_embd),
        Heads: fmt(config.n_head),
        Context: fmt(config.n_positions),
        Vocabulary: fmt(config.vocab_size),
      });
    }
    expect(await list.getByRole('article').count()).toBe(index.models.length);
    expect(await page.getByRole('alert').count()).toBe(0);

    // COOP/COEP from the preview server: needed for WASM threads (DESIGN §5).
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);

    await mkdir(`${ROOT}/artifacts/e2e`, { recursive: true });
    await page.screenshot({ path: `${ROOT}/artifacts/e2e/home.png`, fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('groups models by role, shows loading, sizes and a per-model config error (routed fixture)', async () => {
    const models = [
      { id: 'tiny-anchor', role: 'anchor', title: 'Tiny anchor', description: 'Reads keys.', path: 'tiny-anchor/' },
      { id: 'tiny-augment', role: 'augment', title: 'Tiny augmenting', description: 'Knows values.', path: 'tiny-augment' },
      { id: 'broken', role: 'augment', title: 'Broken augmenting', description: 'No config.', path: 'broken' },
      { id: 'odd', role: 'anchor', title: 'Odd anchor', description: 'Bad config.', path: 'odd' },
      // Not routed: the real preview server answers with its SPA fallback page.
      { id: 'absent', role: 'augment', title: 'Absent augmenting', description: 'Not on disk.', path: 'e2e-absent' },
    ];
    const configs: Record<string, object> = {
      'tiny-anchor': { model_type: 'gpt2', n_layer: 4, n_embd: 128, n_head: 4, n_positions: 256, vocab_size: 1024 },
      'tiny-augment': { model_type: 'gpt2', n_layer: 2, n_embd: 64, n_head: 2, n_positions: 128, vocab_size: 1024 },
      odd: { model_type: 'gpt2', n_layer: '4', n_embd: 64, n_head: 2, n_positions: 128, vocab_size: 1024 },
    };
    const { page, errors } = await openPage();
    let releaseIndex!: () => void;
    const indexHeld = new Promise<void>((resolve) => (releaseIndex = resolve));
    await page.route('**/models/index.json', async (route) => {
      await indexHeld; // keep the page in its loading state until it has been seen
      await route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ models }) });
    });
    await page.route('**/models/*/config.json', (route) => {
      const folder = new URL(route.request().url()).pathname.split('/').at(-2)!;
      if (folder === 'e2e-absent') return route.continue();
      const config = configs[folder];
      return config
        ? route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(config) })
        : route.fulfill({ status: 404, body: 'Not Found' });
    });
    await page.goto(baseUrl);

    await page.getByRole('status').filter({ hasText: 'Loading the built-in models' }).waitFor();
    releaseIndex();
    const list = page.getByRole('list', { name: 'Built-in models' });
    await list.waitFor();

    const anchors = list.getByRole('list', { name: 'Anchor models' });
    const augments = list.getByRole('list', { name: 'Augmenting models' });
    expect(await anchors.getByRole('article').count()).toBe(2);
    expect(await augments.getByRole('article').count()).toBe(3);

    const sizesOf = async (title: string) => {
      const dl = list.getByRole('article', { name: title, exact: true }).locator('dl');
      await dl.waitFor();
      return dl.evaluate((el) =>
        Object.fromEntries([...el.querySelectorAll('dt')].map((dt) => [dt.textContent, dt.nextElementSibling?.textContent])),
      );
    };
    expect(await sizesOf('Tiny anchor')).toEqual({ Layers: '4', Width: '128', Heads: '4', Context: '256', Vocabulary: '1,024' });
    expect(await sizesOf('Tiny augmenting')).toEqual({ Layers: '2', Width: '64', Heads: '2', Context: '128', Vocabulary: '1,024' });
    const anchorText = await anchors.getByRole('article', { name: 'Tiny anchor' }).innerText();
    expect(anchorText).toContain('tiny-anchor');
    expect(anchorText).toContain('Reads keys.');

    const broken = augments.getByRole('article', { name: 'Broken augmenting' }).getByRole('alert');
    await broken.waitFor();
    expect(await broken.innerText()).toBe('Could not load models/broken/config.json: HTTP 404');
    const odd = anchors.getByRole('article', { name: 'Odd anchor' }).getByRole('alert');
    await odd.waitFor();
    expect(await odd.innerText()).toBe('Could not load models/odd/config.json: n_layer must be a positive integer, found "4"');
    const absent = augments.getByRole('article', { name: 'Absent augmenting' }).getByRole('alert');
    await absent.waitFor();
    expect(await absent.innerText()).toBe(
      'Could not load models/e2e-absent/config.json: not found (the server sent an HTML page instead)',
    );

    await mkdir(`${ROOT}/artifacts/e2e`, { recursive: true });
    await page.screenshot({ path: `${ROOT}/artifacts/e2e/models-fixture.png`, fullPage: true });
    // The only console error allowed is the browser's own line for the routed 404.
    expect(errors.filter((e) => !e.includes('404'))).toEqual([]);
    await page.close();
  });

  it('says which file failed when models/index.json is missing', async () => {
    const { page } = await openPage();
    await page.route('**/models/index.json', (route) => route.fulfill({ status: 404, body: 'Not Found' }));
    await page.goto(baseUrl);

    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.innerText()).toBe('Could not load the built-in model list (models/index.json): HTTP 404');
    expect(await page.getByRole('list', { name: 'Built-in models' }).count()).toBe(0);
    await page.close();
  });

  it('says what is wrong when models/index.json does not match the schema', async () => {
    const { page } = await openPage();
    await page.route('**/models/index.json', (route) =>
      route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ models: [{ id: 'x', role: 'teacher' }] }) }),
    );
    await page.goto(baseUrl);

    const alert = page.getByRole('alert');
    await alert.waitFor();
    const text = await alert.innerText();
    expect(text).toBe(
      'Could not load the built-in model list (models/index.json): models[0].role must be "anchor" or "augment", found "teacher"',
    );
    await page.close();
  });
});

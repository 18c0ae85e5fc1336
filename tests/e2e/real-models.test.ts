// The Real models section in the built app (docs/design.md § Models): huggingface.co is the
// test's own route, serving random-weight Llamas shaped like the SmolLM2 pair in depth (32 and
// 30 layers) but tiny in width, made at setup by the core (initModel, the model folder writer)
// and sharing one character tokenizer; the 32-layer one is served sharded (an index and two
// shards). The page downloads the pair with one button, picks both, shows the 32×30 layer map,
// links layers, trains two steps and compares. Screenshots go to docs/screenshots/.
import { mkdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './helpers/browser';
import { connectionTexts, examplesBox, expectText, pageReport, watchRequests } from './helpers/page';
import { ROOT } from './helpers/server';
import { useBackend } from '../../src/model/tf';
import { buildCharTokenizerJson, CHAR_VOCAB_SIZE } from '../../src/tokenizer/char';
import { modelFolder, type FolderFiles } from '../helpers/model-fixtures';

const baseUrl = inject('baseUrl');
const SHOTS = `${ROOT}/docs/screenshots`;
const SLOW = 120_000;
const PAIR = 'SmolLM2 (Llama): 360M ← 135M';

/** A Llama as deep as a SmolLM2 model, a few values wide. */
const tinyLlama = (layers: number) => ({
  model_type: 'llama',
  vocab_size: CHAR_VOCAB_SIZE,
  hidden_size: 16,
  intermediate_size: 32,
  num_hidden_layers: layers,
  num_attention_heads: 2,
  num_key_value_heads: 1,
  max_position_embeddings: 64,
  rope_theta: 100000,
  tie_word_embeddings: true,
});

let browser: Browser;
const repos: Record<string, FolderFiles> = {};

beforeAll(async () => {
  await useBackend('cpu');
  const tokenizer = buildCharTokenizerJson();
  repos['HuggingFaceTB/SmolLM2-360M'] = await modelFolder(tinyLlama(32), tokenizer, { seed: 360, shards: 2, card: '# SmolLM2-360M (test fixture)\n\nRandom weights, 32 layers.\n' });
  repos['HuggingFaceTB/SmolLM2-135M'] = await modelFolder(tinyLlama(30), tokenizer, { seed: 135, card: '# SmolLM2-135M (test fixture)\n\nRandom weights, 30 layers.\n' });
  browser = await launchChromium();
  await mkdir(SHOTS, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
});

async function waitForBridges(page: Page): Promise<void> {
  try {
    await expectText(page.getByRole('status', { name: 'Backend' }), /WebAssembly|WebGPU|plain JavaScript/, SLOW);
    await expectText(page.getByRole('group', { name: 'Composition size' }), /Fresh bridges are built|The bridges/, SLOW);
  } catch (e) {
    throw new Error(`${e instanceof Error ? e.message : String(e)}; ${await pageReport(page)}`, { cause: e });
  }
}

describe('Real models', () => {
  it('downloads the SmolLM2-shaped pair (one sharded), picks it, maps 32×30 layers, trains two steps and compares', { timeout: 600_000 }, async () => {
    const page = watchRequests(await browser.newPage({ viewport: { width: 1280, height: 900 } }));
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    const served: string[] = [];
    await page.route('https://huggingface.co/**', async (route) => {
      const m = /^https:\/\/huggingface\.co\/([^/]+\/[^/]+)\/resolve\/main\/([^/]+)$/.exec(route.request().url());
      const headers = { 'access-control-allow-origin': '*' };
      const body = m ? repos[m[1]]?.[m[2]] : undefined;
      if (!m || !body) return route.fulfill({ status: 404, headers, body: 'Entry not found' });
      served.push(`${m[1]}/${m[2]}`);
      await new Promise((r) => setTimeout(r, 400)); // slow enough to see the progress
      return route.fulfill({ status: 200, headers: { ...headers, 'content-type': 'application/octet-stream' }, body: Buffer.from(body) });
    });
    await page.goto(baseUrl);
    await waitForBridges(page);

    // Before any download: the published sizes of each pair, from its config.json.
    const section = page.getByRole('region', { name: 'Real models' });
    const card = section.getByRole('article', { name: PAIR });
    await expectText(card.getByRole('table'), /Parameters\s+361,821,120\s+134,515,008/);
    await expectText(card.getByRole('table'), /Layers\s+32\s+30/);
    expect(served).toEqual([]);
    await section.scrollIntoViewIfNeeded();
    await section.screenshot({ path: `${SHOTS}/real-models-section.png` });

    // One button: both models, with progress, then both picked.
    const status = page.waitForFunction(
      (name) => {
        const text = document.querySelector(`[aria-label="${name}: download status"]`)?.textContent ?? '';
        return /^Model 1 of 2 \(HuggingFaceTB\/SmolLM2-360M\): [\d.]+ (B|kB|KB|MB)/.test(text) ? text : null;
      },
      PAIR,
      { timeout: SLOW, polling: 50 },
    );
    await card.getByRole('button', { name: 'Download both and compose' }).click();
    console.log(`download status seen: ${await (await status).jsonValue()}`);
    const anchor = page.getByRole('combobox', { name: 'Anchor model' });
    const augment = page.getByRole('combobox', { name: 'Augmenting model' });
    const t0 = Date.now();
    while ((await anchor.inputValue()) !== 'SmolLM2-360M' || (await augment.inputValue()) !== 'SmolLM2-135M') {
      if (Date.now() - t0 > SLOW) throw new Error(`the pair was not picked; ${await pageReport(page)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    // The 32-layer model came as published when sharded: the index, then each shard.
    expect(served.filter((s) => s.startsWith('HuggingFaceTB/SmolLM2-360M/')).sort()).toEqual(
      ['config.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json', 'tokenizer.json', 'README.md']
        .map((f) => `HuggingFaceTB/SmolLM2-360M/${f}`)
        .sort(),
    );
    expect(served.filter((s) => s.startsWith('HuggingFaceTB/SmolLM2-135M/')).sort()).toEqual(
      ['config.json', 'model.safetensors', 'tokenizer.json', 'README.md'].map((f) => `HuggingFaceTB/SmolLM2-135M/${f}`).sort(),
    );
    await waitForBridges(page);

    // The layer map: 32 anchor blocks, 30 augmenting blocks (and the final norm), each a button.
    const anchorLayers = page.getByRole('list', { name: 'Anchor layers' }).getByRole('button');
    const augmentLayers = page.getByRole('list', { name: 'Augmenting layers' }).getByRole('button');
    expect(await anchorLayers.count()).toBe(33); // embedding + 32 blocks
    expect(await augmentLayers.count()).toBe(32); // embedding + 30 blocks + the final norm
    const layer = (name: string) => page.getByRole('button', { name, exact: true });
    await layer('Augmenting block 14').click();
    await layer('Anchor block 15').click();
    await layer('Augmenting block 29').click();
    await layer('Anchor block 31').click();
    const links = await connectionTexts(page);
    expect(links).toContain('bridge 1 anchor block 15 ← augmenting block 14');
    expect(links).toContain('bridge 2 anchor block 31 ← augmenting block 29');
    // Every layer button of the deeper column can be told apart: none overlaps the next.
    const boxes = await page.getByRole('list', { name: 'Anchor layers' }).getByRole('button').evaluateAll((bs) => bs.map((b) => b.getBoundingClientRect()).map((r) => [r.top, r.bottom]));
    for (let i = 1; i < boxes.length; i++) expect(boxes[i][0]).toBeGreaterThanOrEqual(boxes[i - 1][1] - 0.5);
    await waitForBridges(page);
    const map = page.locator('.layer-map');
    await map.scrollIntoViewIfNeeded();
    await page.locator('section[aria-labelledby="models-heading"]').screenshot({ path: `${SHOTS}/real-models-map.png` });

    // Two training steps on a few examples, then the measured time of a step.
    await (await examplesBox(page)).fill('abc+abd= => 3\n004+005= => 9\nqdx-abc= => 1\n010+020= => 30\n');
    await page.getByRole('spinbutton', { name: 'Steps' }).fill('2');
    await page.getByRole('spinbutton', { name: 'Batch' }).fill('4');
    await page.getByRole('spinbutton', { name: 'Held-out examples' }).fill('0');
    await page.waitForURL(/steps=2&.*batch=4/);
    await page.getByRole('button', { name: 'Train' }).click();
    const done = await expectText(page.getByRole('status', { name: 'Training status' }), /^Done: 2 steps/, SLOW * 2).catch(async (e: unknown) => {
      throw new Error(`${e instanceof Error ? e.message : String(e)}; ${await pageReport(page)}`, { cause: e });
    });
    const perStep = /, ([\d.]+) s per step/.exec(done);
    expect(perStep, done).not.toBeNull();
    const measured = await expectText(card.getByRole('status', { name: `${PAIR}: measured training step` }), /^Measured here: [\d.]+ s per training step \(batch 4, 2 steps\)\.$/, SLOW);
    expect(measured).toContain(`${perStep![1]} s per training step`);
    console.log(`training status: ${done}; the pair says: ${measured}`);

    // Compare: the three columns answer.
    await page.getByRole('button', { name: 'Compare' }).click();
    for (const region of ['Anchor output', 'Augmenting output']) {
      await page.getByRole('region', { name: region }).locator('.token').first().waitFor({ timeout: SLOW });
    }
    await page.waitForFunction(() => !document.querySelector('.output[aria-busy="true"]'), undefined, { timeout: SLOW });
    const composed = await page.getByRole('region', { name: 'Composed output' }).locator('.tokens').innerText();
    expect(composed.trim().length).toBeGreaterThan(0);
    await section.scrollIntoViewIfNeeded();
    await section.screenshot({ path: `${SHOTS}/real-models-trained.png` });
    expect(await page.getByRole('alert').allInnerTexts()).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });
});

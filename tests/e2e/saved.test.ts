// Saved work in the built app: train, reload — the composition is back with the same bridge
// bytes and the same outputs; export, delete, import — the same again; a bundle that points
// past the models' layers is refused with a message and the page keeps working.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync, zipSync, strFromU8, strToU8 } from 'fflate';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './helpers/browser';
import { expectText, connectionTexts, examplesBox, pageReport, watchRequests } from './helpers/page';
import { ROOT } from './helpers/server';
import { expectedTensors, parseConfig } from '../../src/io/model-folder';
import { writeSafetensors } from '../../src/io/safetensors';

const baseUrl = inject('baseUrl');
const ARTIFACTS = `${ROOT}/artifacts/e2e`;
const SLOW = 90_000;
let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
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

/** Clicks Export and returns the zip's files. */
async function exportFiles(page: Page): Promise<{ zip: Buffer; files: Record<string, Uint8Array> }> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export composition' }).click()]);
  expect(download.suggestedFilename()).toMatch(/\.calm\.zip$/);
  const zip = await readFile(await download.path());
  return { zip, files: unzipSync(new Uint8Array(zip)) };
}

/** Greedy output of the composed column for the default prompt. */
async function composedOutput(page: Page): Promise<string> {
  // Each Compare is a new run (data-run): wait for this one's outputs, not the last one's.
  const region = page.getByRole('region', { name: 'Composed output' });
  const before = Number(await region.getAttribute('data-run'));
  await page.getByRole('button', { name: 'Compare', exact: true }).click();
  await page.waitForFunction(
    (before) => {
      const composed = document.querySelector('.output-composed');
      return Number(composed?.getAttribute('data-run')) > before && composed?.getAttribute('aria-busy') === 'false';
    },
    before,
    { timeout: SLOW },
  );
  // The tokens with their probabilities (title), or the region's words when it produced none.
  const tokens = await region.locator('.token').evaluateAll((els) => els.map((e) => `${e.textContent}|${e.getAttribute('title') ?? ''}`).join(' '));
  return tokens || region.innerText();
}

describe('saved work', () => {
  it('survives a reload, and an export → delete → import, with bit-identical bridges', { timeout: 300_000 }, async () => {
    const page = watchRequests(await browser.newPage({ viewport: { width: 1280, height: 900 } }));
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    await page.goto(baseUrl);
    await waitForBridges(page);

    // A short training run on a few pasted examples.
    const examples = 'abc+abd= => 3\n004+005= => 9\nqdx-abc= => 1\n010+020= => 30\n';
    await (await examplesBox(page)).fill(examples);
    await page.getByRole('spinbutton', { name: 'Steps' }).fill('3');
    await page.getByRole('spinbutton', { name: 'Batch' }).fill('4');
    await page.getByRole('spinbutton', { name: 'Held-out examples' }).fill('0');
    await page.getByRole('spinbutton', { name: 'Learning rate' }).fill('0.002');
    await page.waitForURL(/steps=3&lr=0\.002&batch=4/);
    await page.getByRole('button', { name: 'Train' }).click();
    await expectText(page.getByRole('status', { name: 'Training status' }), /^Done: 3 steps/, SLOW * 2);
    const saved = page.getByRole('list', { name: 'Saved compositions' });
    await expectText(saved, /arith-tiny \+ kv-tiny, .* 3 steps .* open now/, SLOW);
    const before = await exportFiles(page);
    const bridge = before.files['bridge.safetensors'];
    expect(bridge.byteLength).toBeGreaterThan(1000);
    expect(strFromU8(before.files['examples.txt'])).toBe(examples);
    const output = await composedOutput(page);
    expect(output).toMatch(/\S/);

    // Reload: the same composition, examples and bridges (byte for byte), the same output.
    await page.reload();
    await expectText(page.getByRole('status', { name: 'Saved work notice' }), /Restored “arith-tiny \+ kv-tiny, .*” from your last visit\./, SLOW);
    await waitForBridges(page);
    expect(await (await examplesBox(page)).inputValue()).toBe(examples);
    expect(await page.getByRole('spinbutton', { name: 'Steps' }).inputValue()).toBe('3');
    const reloaded = await exportFiles(page);
    expect(Buffer.from(reloaded.files['bridge.safetensors']).equals(Buffer.from(bridge))).toBe(true);
    expect(await composedOutput(page)).toBe(output);

    // Rename, export, delete, import the file again: the same bytes and output.
    await page.getByRole('button', { name: /^Rename arith-tiny/ }).click();
    await page.getByRole('textbox', { name: /^New name for/ }).fill('my kv bridges');
    await page.getByRole('button', { name: 'Save name' }).click();
    await expectText(saved, /my kv bridges/);
    await page.getByRole('button', { name: 'Delete my kv bridges' }).click();
    await saved.waitFor({ state: 'detached' });
    await page.getByLabel('Import a composition file').setInputFiles({ name: 'my kv bridges.calm.zip', mimeType: 'application/zip', buffer: before.zip });
    await expectText(page.getByRole('status', { name: 'Saved work notice' }), /Imported “my kv bridges”\./, SLOW);
    await expectText(saved, /my kv bridges .*imported/);
    const imported = await exportFiles(page);
    expect(Buffer.from(imported.files['bridge.safetensors']).equals(Buffer.from(bridge))).toBe(true);
    expect(await composedOutput(page)).toBe(output);

    // A bundle whose connections point past the anchor's layers: a message, nothing lost.
    const manifest = JSON.parse(strFromU8(before.files['composition.json'])) as { connections: [number, number][] };
    manifest.connections = manifest.connections.map(([, g], i) => (i === 0 ? [40, g] : [0, g]));
    const bad = zipSync({ 'composition.json': strToU8(JSON.stringify(manifest)), 'bridge.safetensors': bridge });
    await page.getByLabel('Import a composition file').setInputFiles({ name: 'bad.calm.zip', mimeType: 'application/zip', buffer: Buffer.from(bad) });
    const alert = await expectText(page.getByRole('alert', { name: 'Import problem' }), /^Could not import bad\.calm\.zip: .*40/, SLOW);
    expect(alert).toMatch(/layer|block/);
    expect(await composedOutput(page)).toBe(output); // the bridges it had are still there
    await page.screenshot({ path: `${ARTIFACTS}/saved-work.png`, fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });
});

const TINY_GPT2 = { model_type: 'gpt2', vocab_size: 1098, n_positions: 32, n_embd: 64, n_layer: 2, n_head: 4, layer_norm_epsilon: 1e-5, activation_function: 'gelu_new' };

/** A small GPT-2 in Hugging Face layout, random weights, the built-in tokenizer (its vocabulary must match to compose). */
async function writeTinyGpt2(dir: string, config: Record<string, unknown>): Promise<void> {
  await mkdir(dir, { recursive: true });
  const c = parseConfig({ ...config, model_type: 'gpt2' });
  let seed = 1;
  const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * 0.04;
  const tensors = Object.fromEntries(
    expectedTensors(c).map(([name, shape]) => {
      const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
      if (/ln_\w+\.weight$/.test(name)) data.fill(1);
      else if (!name.endsWith('.bias')) for (let i = 0; i < data.length; i++) data[i] = rand();
      return [name, { shape, data }];
    }),
  );
  await writeFile(join(dir, 'config.json'), JSON.stringify(config));
  await writeFile(join(dir, 'model.safetensors'), writeSafetensors(tensors, { format: 'pt' }));
  await writeFile(join(dir, 'tokenizer.json'), await readFile(`${ROOT}/public/models/kv-tiny/tokenizer.json`));
  await writeFile(join(dir, 'README.md'), '# tiny-gpt2\n\nRandom weights, written by the e2e test.\n');
}

describe('bringing your own model', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'calm-e2e-model-'));
    await writeTinyGpt2(join(dir, 'tiny-gpt2'), TINY_GPT2);
    await writeTinyGpt2(join(dir, 'falcon-ish'), { ...TINY_GPT2, model_type: 'falcon' });
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('imports a model folder into both pickers, composes with it, keeps it across a reload; a bad one says why', { timeout: 240_000 }, async () => {
    const page = watchRequests(await browser.newPage({ viewport: { width: 1280, height: 900 } }));
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    await page.goto(baseUrl);
    await waitForBridges(page);

    // A model whose architecture is not supported: the message names model_type and the supported ones.
    await page.getByLabel('Import a model folder').setInputFiles(join(dir, 'falcon-ish'));
    await expectText(
      page.getByRole('alert', { name: 'Model import problem' }),
      /^Could not import the model falcon-ish: falcon-ish\/config\.json: model_type "falcon" is not supported \(supported: gpt2, llama, gpt_neox\)$/,
      SLOW,
    );

    await page.getByLabel('Import a model folder').setInputFiles(join(dir, 'tiny-gpt2'));
    await expectText(page.getByRole('status', { name: 'Model import notice' }), /Imported the model “tiny-gpt2” \(2 layers, width 64\)/, SLOW);
    for (const name of ['Anchor model', 'Augmenting model']) {
      expect(await page.getByRole('combobox', { name }).locator('option').allInnerTexts()).toContain('tiny-gpt2'); // the title is the id: said once
    }
    await page.getByRole('combobox', { name: 'Augmenting model' }).selectOption('tiny-gpt2');
    const card = page.getByRole('article', { name: 'tiny-gpt2' });
    await card.locator('details .markdown').waitFor({ state: 'attached', timeout: SLOW });
    expect(await card.locator('details .markdown').textContent()).toMatch(/Random weights, written by the e2e test/);
    expect(await card.locator('details .markdown h5').textContent()).toBe('tiny-gpt2'); // its Markdown rendered
    const sizes = await card.locator('dl').evaluate((dl) => Object.fromEntries([...dl.querySelectorAll('dt')].map((dt) => [dt.textContent, dt.nextElementSibling?.textContent])));
    expect(sizes).toMatchObject({ Layers: '2', Width: '64', Heads: '4' });
    await page.waitForURL(/augment=tiny-gpt2/);
    // The recipe's link read kv-tiny's final norm (layer 3), which tiny-gpt2 (2 blocks) lacks:
    // dropped with a message; a preset links the two anew.
    await expectText(page.locator('body'), /Dropped anchor embedding ← augmenting block 3/);
    await page.getByText("Presets and the bridges' shape").click(); // folded under the map
    await page.getByRole('button', { name: 'Apply uniform 2' }).click();
    await page.waitForURL(/augment=tiny-gpt2&connections=0:0,2:1&/);
    await expectText(page.getByRole('group', { name: 'Composition size' }), /^Bridges\s*2[\s\S]*Fresh bridges are built/, SLOW);

    // The next visit has it without asking again.
    await page.reload();
    await waitForBridges(page);
    expect(await page.getByRole('combobox', { name: 'Augmenting model' }).inputValue()).toBe('tiny-gpt2');
    expect(await connectionTexts(page)).toEqual(['bridge 0 anchor block 0 ← augmenting block 0', 'bridge 1 anchor block 2 ← augmenting block 1']);
    const cardAgain = page.getByRole('article', { name: 'tiny-gpt2' });
    await cardAgain.locator('details .markdown').waitFor({ state: 'attached', timeout: SLOW });
    expect(await cardAgain.locator('details .markdown').textContent()).toMatch(/Random weights/);
    await page.screenshot({ path: `${ARTIFACTS}/model-import.png`, fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe('a model by repo id', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'calm-e2e-url-'));
    await writeTinyGpt2(join(dir, 'tiny-url'), TINY_GPT2);
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('downloads with progress, imports, and the next time needs no network (Cache Storage); a wrong id says so', { timeout: 240_000 }, async () => {
    const page = watchRequests(await browser.newPage({ viewport: { width: 1280, height: 900 } }));
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    // huggingface.co as the test's own server: each file slowly, in the layout of /resolve/main/.
    const served: string[] = [];
    let online = true;
    await page.route('https://huggingface.co/**', async (route) => {
      const url = route.request().url();
      if (!online) return route.abort('internetdisconnected');
      const m = /^https:\/\/huggingface\.co\/e2e\/tiny-url\/resolve\/main\/(config\.json|model\.safetensors|tokenizer\.json)$/.exec(url);
      const headers = { 'access-control-allow-origin': '*' };
      if (!m) return route.fulfill({ status: 404, headers, body: 'Entry not found' });
      served.push(m[1]);
      const body = await readFile(join(dir, 'tiny-url', m[1]));
      await new Promise((r) => setTimeout(r, 1000));
      return route.fulfill({ status: 200, headers: { ...headers, 'content-type': 'application/octet-stream' }, body });
    });
    await page.goto(baseUrl);
    await waitForBridges(page);

    const address = page.getByRole('textbox', { name: 'Hugging Face repo id or folder URL' });
    await address.fill('e2e/missing');
    await page.getByRole('button', { name: 'Download model' }).click();
    await expectText(
      page.getByRole('alert', { name: 'Model import problem' }),
      /^Could not download the model e2e\/missing: https:\/\/huggingface\.co\/e2e\/missing\/resolve\/main\/config\.json: HTTP 404 \(check the repo id/,
      SLOW,
    );

    await address.fill('e2e/tiny-url');
    // Each file is served after a second, so the download shows for a few seconds: read it as it
    // appears. (The bytes then arrive at once, so the figures of the progress are the unit
    // tests' business: tests/unit/model-url.test.ts.)
    const progress = page.waitForFunction(
      () => {
        const bar = document.querySelector('progress[aria-label="Model download progress"]');
        const text = document.querySelector('[aria-label="Model download status"]')?.textContent ?? '';
        return bar && /^Downloading e2e\/tiny-url: [\d.]+ (B|kB|KB|MB)/.test(text) ? text : null;
      },
      undefined,
      { timeout: SLOW, polling: 50 },
    );
    await page.getByRole('button', { name: 'Download model' }).click();
    await progress;
    expect(await page.getByRole('button', { name: 'Cancel download' }).count()).toBe(1);
    await expectText(page.getByRole('status', { name: 'Model import notice' }), /^Imported the model “tiny-url” \(2 layers, width 64\) from e2e\/tiny-url: it is in both model lists/, SLOW);
    expect(served.sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer.json']);
    for (const name of ['Anchor model', 'Augmenting model']) {
      expect(await page.getByRole('combobox', { name }).locator('option').allInnerTexts()).toContain('tiny-url');
    }

    // Offline now: the same repo again comes from this browser's cache.
    online = false;
    served.length = 0;
    await address.fill('e2e/tiny-url');
    await page.getByRole('button', { name: 'Download model' }).click();
    await expectText(page.getByRole('status', { name: 'Model import notice' }), /^Imported the model “tiny-url” \(2 layers, width 64\) from e2e\/tiny-url, all 3 files from this browser's cache \(no download\)/, SLOW);
    expect(served).toEqual([]);
    expect(await page.getByRole('alert', { name: 'Model import problem' }).count()).toBe(0);
    await page.screenshot({ path: `${ARTIFACTS}/model-url.png`, fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe('faults', () => {
  it('a worker crash mid-training: the page says so, restarts it, and finishes training from the last checkpoint', { timeout: 300_000 }, async () => {
    const page = watchRequests(await browser.newPage({ viewport: { width: 1280, height: 900 } }));
    await page.goto(baseUrl);
    await waitForBridges(page);
    await (await examplesBox(page)).fill('abc+abd= => 3\n004+005= => 9\nqdx-abc= => 1\n010+020= => 30\n');
    await page.getByRole('spinbutton', { name: 'Steps' }).fill('300');
    await page.getByRole('spinbutton', { name: 'Batch' }).fill('4');
    await page.getByRole('spinbutton', { name: 'Held-out examples' }).fill('0');
    await page.waitForURL(/steps=300&.*batch=4/);
    await page.getByRole('button', { name: 'Train' }).click();
    // A checkpoint is written every few seconds of training.
    const saved = page.getByRole('list', { name: 'Saved compositions' });
    const text = await expectText(saved, /interrupted at step \d+ of 300/, SLOW);
    const checkpointStep = Number(/interrupted at step (\d+)/.exec(text)![1]);
    expect(checkpointStep).toBeGreaterThan(0);
    expect(checkpointStep).toBeLessThan(300);

    await page.evaluate(() => (globalThis as unknown as { __calmDebug: (a: string) => Promise<string> }).__calmDebug('crash'));
    await expectText(page.locator('.status-line'), /The worker stopped \(.*crashed.*\); starting a new one\. The bridges come back from their last saved checkpoint\./, SLOW);
    await expectText(page.getByRole('status', { name: 'Saved work notice' }), /Restored “.*” after the worker restarted, from step \d+/, SLOW);
    await expectText(page.getByRole('status', { name: 'Training status' }), /^Done: 300 steps/, 240_000);
    await expectText(saved, /300 steps/);
    await page.screenshot({ path: `${ARTIFACTS}/worker-crash.png`, fullPage: true });
    await page.close();
  });

  it('a lost WebGPU device mid-training: the worker restarts and finishes training; a loss after it brings back the same bridges', { timeout: 480_000 }, async () => {
    const page = watchRequests(await browser.newPage({ viewport: { width: 1280, height: 900 } }));
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    await page.goto(`${baseUrl}#backend=webgpu`);
    await expectText(page.getByRole('status', { name: 'Backend' }), /WebGPU/, SLOW);
    await waitForBridges(page);
    await (await examplesBox(page)).fill('abc+abd= => 3\n004+005= => 9\nqdx-abc= => 1\n010+020= => 30\n');
    await page.getByRole('spinbutton', { name: 'Steps' }).fill('40');
    await page.getByRole('spinbutton', { name: 'Batch' }).fill('2');
    await page.getByRole('spinbutton', { name: 'Held-out examples' }).fill('0');
    await page.waitForURL(/steps=40&.*batch=2/);
    await page.getByRole('button', { name: 'Train' }).click();
    const saved = page.getByRole('list', { name: 'Saved compositions' });
    const text = await expectText(saved, /interrupted at step \d+ of 40/, SLOW * 2);
    expect(Number(/interrupted at step (\d+)/.exec(text)![1])).toBeLessThan(40);

    const lose = () => page.evaluate(() => (globalThis as unknown as { __calmDebug: (a: string) => Promise<string> }).__calmDebug('lose-device'));
    expect(await lose()).toBe('destroyed');
    await expectText(page.locator('.status-line'), /The worker stopped \(.*WebGPU device was lost.*\); starting a new one\. The bridges come back from their last saved checkpoint\./, SLOW);
    await expectText(page.getByRole('status', { name: 'Saved work notice' }), /Restored “.*” after the worker restarted, from step \d+/, SLOW);
    await expectText(page.getByRole('status', { name: 'Backend' }), /WebGPU/, SLOW);
    await expectText(page.getByRole('status', { name: 'Training status' }), /^Done: 40 steps/, 300_000);
    await expectText(saved, /40 steps/);
    const trained = await exportFiles(page);

    // The device lost when training is over: the bridges come back bit-identical.
    expect(await lose()).toBe('destroyed');
    await expectText(page.getByRole('status', { name: 'Saved work notice' }), /Restored “.*” after the worker restarted, from step 40/, SLOW);
    await waitForBridges(page);
    const restored = await exportFiles(page);
    expect(Buffer.from(restored.files['bridge.safetensors']).equals(Buffer.from(trained.files['bridge.safetensors']))).toBe(true);
    await page.screenshot({ path: `${ARTIFACTS}/device-lost.png`, fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });
});

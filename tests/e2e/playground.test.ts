// A person's path through the built app in Debian's Chromium: the default pair, the map (by
// mouse and by keyboard), a bad example, a few training steps, Compare, Evaluate, a look
// inside, a shipped composition, and a link that reproduces the setup. Screenshots are kept
// in artifacts/e2e/.
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './helpers/browser';
import { expectText, connectionTexts, examplesBox } from './helpers/page';
import { ROOT } from './helpers/server';
import { KV_RECIPE } from '../../src/tasks/recipe';
import { SPEC_DEFAULTS } from '../../src/calm/spec';
import { readPrompt } from '../../src/store/answers';
import { heldOutPrompt } from '../../src/store/actions/startHere';


const baseUrl = inject('baseUrl');
const ARTIFACTS = `${ROOT}/artifacts/e2e`;
/** Long enough for the worker to start and a few training steps on WebAssembly (2 cores). */
const SLOW = 90_000;
let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
  await mkdir(ARTIFACTS, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
});

async function openPage(hash = ''): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  await page.goto(baseUrl + hash);
  return { page, errors };
}

/** A layer's button on the map ("Anchor block 2"); exact, as link names contain layer names too. */
const layer = (page: Page, name: string) => page.getByRole('button', { name, exact: true });

const connections = (page: Page) => page.getByRole('list', { name: 'Connections' }).getByRole('listitem');


/** Waits until the worker has chosen a backend and built the default bridges. */
async function waitForWorker(page: Page): Promise<string> {
  const backend = page.getByRole('status', { name: 'Backend' });
  const t0 = Date.now();
  while (!/WebAssembly|WebGPU|cpu/.test(await backend.innerText())) {
    // A worker that cannot start says so on the status line: fail with its words, at once.
    const alert = page.locator('.status-line [role="alert"]');
    if ((await alert.count()) > 0 && /Reload the page|could not/.test(await alert.innerText())) throw new Error(await alert.innerText());
    if (Date.now() - t0 > SLOW) throw new Error(`no backend after ${SLOW} ms: ${await backend.innerText()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await expectText(page.getByRole('group', { name: 'Composition size' }), /Fresh bridges are built|The bridges/, SLOW);
  return backend.innerText();
}


describe('the playground', () => {
  it('walks the whole path: default pair, map, examples, training, compare, evaluate, inside', { timeout: 300_000 }, async () => {
    const first = await openPage();
    expect(await first.page.title()).toBe('CALM Playground');
    // 0. The spec's default mapping (SPEC_DEFAULTS, src/calm/spec.ts) when the page opens without a link.
    await connections(first.page).first().waitFor();
    expect(await connectionTexts(first.page)).toEqual(['bridge 0 anchor embedding ← augmenting final norm']);
    await first.page.close();

    // The rest of the path works on a three-link mapping, opened as a shared link would be.
    const { page, errors } = await openPage('#connections=-1:2,0:2,1:2');

    // 1. The built-in pair, the mapping and the default examples, before anything is clicked.
    const anchor = page.getByRole('combobox', { name: 'Anchor model' });
    const augment = page.getByRole('combobox', { name: 'Augmenting model' });
    await anchor.waitFor();
    expect(await anchor.inputValue()).toBe('arith-tiny');
    expect(await augment.inputValue()).toBe('kv-tiny');
    await connections(page).first().waitFor();
    expect(await connectionTexts(page)).toEqual([
      'bridge 0 anchor embedding ← augmenting block 2',
      'bridge 1 anchor block 0 ← augmenting block 2',
      'bridge 2 anchor block 1 ← augmenting block 2',
    ]);
    const total = Math.round(KV_RECIPE.kvArith / (1 - KV_RECIPE.numericShare)); // the recipe's kv-arith plus its numeric share
    await expectText(page.locator('#examples-counts'), new RegExp(`${total.toLocaleString('en')} training examples · 100 held-out examples`));
    const examples = await examplesBox(page);
    const text = await examples.inputValue();
    expect(text.split('\n').filter(Boolean)).toHaveLength(total);
    // key-value arithmetic over keys of the table, with the right result
    const kvLines = text.split('\n').filter((l) => readPrompt(l.split(' => ')[0])?.operands.some((o) => o.kind === 'key'));
    expect(kvLines.length).toBe(KV_RECIPE.kvArith);
    for (const line of kvLines.slice(0, 50)) expect(readPrompt(line.split(' => ')[0])!.answers.composed).toBe(line.split(' => ')[1]);

    // Each model's card: sizes from config.json, parameters, and its README.
    for (const [role, id] of [
      ['anchor', 'arith-tiny'],
      ['augment', 'kv-tiny'],
    ]) {
      const config = JSON.parse(await readFile(`${ROOT}/public/models/${id}/config.json`, 'utf8')) as Record<string, number>;
      const card = page.locator(`#model-${role}-${id}`).locator('xpath=..');
      const sizes = await card.locator('dl').evaluate((dl) =>
        Object.fromEntries([...dl.querySelectorAll('dt')].map((dt) => [dt.textContent, dt.nextElementSibling?.textContent])),
      );
      expect(sizes).toMatchObject({ Layers: String(config.n_layer), Width: String(config.n_embd), Heads: String(config.n_head) });
      const readme = await readFile(`${ROOT}/public/models/${id}/README.md`, 'utf8');
      const params = /([\d,]+) parameters/.exec(readme)?.[1];
      // the card shows the count from config.json at once and the measured one (an untied head
      // adds lm_head.weight) when the worker has loaded the weights
      if (params) await expectText(card.locator('dl'), new RegExp(`Parameters\\s*${params}`), SLOW);
    }

    // The status line names the backend once the worker is up.
    const backend = await waitForWorker(page);
    expect(backend).toMatch(/^Backend: (WebAssembly|WebGPU|plain JavaScript)/);
    await page.screenshot({ path: `${ARTIFACTS}/playground-start.png`, fullPage: true });

    // 2. The map by mouse: drag to add, click the link to remove, click-click to add.
    await layer(page, 'Anchor block 2').dragTo(layer(page, 'Augmenting block 0'));
    await expectText(page.getByRole('list', { name: 'Connections' }), /anchor block 2 ← augmenting block 0/);
    expect(await connections(page).count()).toBe(4);
    const size = page.getByRole('group', { name: 'Composition size' });
    // and the spec's default position bias (h·R) and value gate (D_a·h + h), which the worker builds
    const per = 128 * 128 + 128 + 4 * (128 * 128 + 128) + 4 * SPEC_DEFAULTS.positionBias + (SPEC_DEFAULTS.valueGate ? 128 * 4 + 4 : 0);
    await expectText(size, new RegExp((4 * per).toLocaleString('en-US')));
    await page.getByRole('button', { name: 'Remove link anchor block 2 ← augmenting block 0' }).click();
    await expectText(size, new RegExp((3 * per).toLocaleString('en-US')));
    expect(await connections(page).count()).toBe(3);
    await layer(page, 'Augmenting embedding').click();
    await layer(page, 'Anchor block 2').click();
    expect(await connectionTexts(page)).toContain('bridge 3 anchor block 2 ← augmenting embedding');
    await page.getByRole('button', { name: 'Remove anchor block 2 ← augmenting embedding' }).click();

    // ... and by keyboard: Enter on a layer, arrows to the other column, Enter; Enter on Remove.
    await layer(page, 'Anchor block 2').focus();
    await page.keyboard.press('Enter');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('Augmenting block 0');
    await page.keyboard.press('Enter');
    expect(await connectionTexts(page)).toContain('bridge 3 anchor block 2 ← augmenting block 0');
    await page.getByRole('button', { name: 'Remove anchor block 2 ← augmenting block 0' }).focus();
    await page.keyboard.press('Enter');
    expect(await connections(page).count()).toBe(3);
    await page.getByRole('button', { name: 'Remove link anchor block 1 ← augmenting block 2' }).focus();
    await page.keyboard.press('Delete');
    expect(await connections(page).count()).toBe(2);
    // The focus stays on the map, on a link that is left.
    expect(await page.evaluate(() => [!!document.activeElement?.closest('.layer-map'), document.activeElement?.getAttribute('aria-label')])).toEqual([
      true,
      'Remove link anchor embedding ← augmenting block 2',
    ]);
    await layer(page, 'Anchor block 1').press('Enter');
    await layer(page, 'Augmenting block 2').press('Enter');
    expect(await connectionTexts(page)).toEqual([
      'bridge 0 anchor embedding ← augmenting block 2',
      'bridge 1 anchor block 0 ← augmenting block 2',
      'bridge 2 anchor block 1 ← augmenting block 2',
    ]);

    // 3. A bad example: its line number, Train refused, then the defaults back.
    await examples.fill('abc+abd= => 3\nthis line has no arrow\n004+005= => 9\n');
    const errorList = page.getByRole('list', { name: 'Example errors' });
    await errorList.waitFor();
    expect(await errorList.innerText()).toContain('line 2');
    await expectText(page.locator('#examples-counts'), /^2 training examples/);
    expect(await page.getByRole('button', { name: 'Train' }).isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Restore default examples' }).click();
    await expectText(page.locator('#examples-counts'), new RegExp(`^${total.toLocaleString('en')} training examples`));
    expect(await errorList.count()).toBe(0);

    // 4. Train a few steps and watch the progress bar move.
    await page.getByRole('spinbutton', { name: 'Steps' }).fill('4');
    await page.getByRole('spinbutton', { name: 'Batch' }).fill('16');
    await page.getByRole('spinbutton', { name: 'Held-out examples' }).fill('10');
    await page.getByRole('spinbutton', { name: 'Learning rate' }).fill('0.003');
    await page.waitForURL(/steps=4&lr=0\.003&batch=16&seed=0&heldout=10/); // the link follows each edit
    const bar = page.getByRole('progressbar', { name: 'Training progress' });
    expect(await bar.evaluate((el) => (el as HTMLProgressElement).value)).toBe(0);
    await page.getByRole('button', { name: 'Train' }).click();
    const seen = await bar.evaluate(async (el, timeout) => {
      const values: number[] = [];
      const t0 = performance.now();
      while (performance.now() - t0 < timeout) {
        const v = (el as HTMLProgressElement).value;
        if (values.at(-1) !== v) values.push(v);
        if (document.querySelector('[aria-label="Training status"]')?.textContent?.startsWith('Done')) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      return values;
    }, SLOW * 2);
    const status = await page.getByRole('status', { name: 'Training status' }).innerText();
    expect(status).toMatch(/^Done: 4 steps/);
    expect(seen.at(-1)).toBe(4);
    expect(seen.some((v) => v > 0 && v < 4)).toBe(true); // it moved through the steps
    expect([...seen].sort((a, b) => a - b)).toEqual(seen); // and only forward
    await expectText(page.getByRole('figure', { name: 'Training loss and held-out accuracy' }), /Loss [\d.]+ at step 4/);

    // Changing the mapping now asks first, next to the control, saying where the trained bridges
    // stay; keeping them changes nothing and gives the focus back.
    const removeLink = page.getByRole('button', { name: 'Remove link anchor block 1 ← augmenting block 2' });
    await removeLink.click();
    const dialog = page.getByRole('alertdialog', { name: 'Replace the trained bridges?' });
    await dialog.waitFor();
    const [at, box] = [await removeLink.boundingBox(), await dialog.boundingBox()];
    const gap = Math.min(Math.abs(box!.y - (at!.y + at!.height)), Math.abs(at!.y - (box!.y + box!.height)));
    console.log(`the dialog opens ${gap.toFixed(0)} px from the link that asked`);
    expect(gap).toBeLessThan(40);
    expect(await dialog.innerText()).toMatch(/The trained bridges stay in Saved compositions as “arith-tiny \+ kv-tiny, .*”/);
    await dialog.getByRole('button', { name: 'Keep the trained bridges' }).click();
    expect(await connections(page).count()).toBe(3);
    expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('Remove link anchor block 1 ← augmenting block 2');

    // 5. Compare: three columns, each with tokens shaded by probability.
    const prompt = page.getByRole('textbox', { name: 'Prompt' });
    expect(await prompt.inputValue()).toBe(heldOutPrompt(0));
    await page.getByRole('button', { name: 'Compare' }).click();
    // The frozen models always write something here; bridges after four steps may end at once,
    // which the column says in words.
    for (const region of ['Anchor output', 'Augmenting output']) {
      await page.getByRole('region', { name: region }).locator('.token').first().waitFor({ timeout: SLOW });
    }
    await page.waitForFunction(() => !document.querySelector('.output[aria-busy="true"]'), undefined, { timeout: SLOW });
    const outputs = await Promise.all(
      ['Anchor output', 'Augmenting output', 'Composed output'].map((name) => page.getByRole('region', { name }).locator('.tokens').innerText()),
    );
    for (const o of outputs) expect(o.trim().length).toBeGreaterThan(0);
    const composedTokens = await page.getByRole('region', { name: 'Composed output' }).locator('.token').count();
    if (composedTokens === 0) expect(outputs[2]).toBe('(nothing: the model ended at once)');
    const shade = await page.getByRole('region', { name: 'Augmenting output' }).locator('.token').first().evaluate((el) => getComputedStyle(el).backgroundColor);
    expect(shade).toMatch(/^rgba\(47, 111, 219, 0\.\d+\)$/);
    expect(await page.getByLabel('Shading legend').innerText()).toMatch(/probability/);
    // Each answer is marked against its own right answer: the augmenting model's is the substitution.
    const reading = readPrompt(await prompt.inputValue())!;
    const augmentText = outputs[1].trim();
    expect(await page.getByRole('region', { name: 'Augmenting output' }).locator('.mark').innerText()).toBe(
      `${augmentText === reading.answers.augment ? '✓ Right' : '✗ Wrong'}: its right answer is the substitution ${reading.answers.augment}`,
    );
    // A new prompt empties the answers to the old one.
    await prompt.press('End');
    await prompt.press('Backspace');
    expect(await page.getByRole('region', { name: 'Anchor output' }).locator('.token').count()).toBe(0);
    await prompt.press('=');

    // 6. Evaluate a few examples per task: the table fills.
    await page.getByRole('spinbutton', { name: 'Examples per task' }).fill('4');
    await page.getByRole('button', { name: 'Evaluate' }).click();
    const table = page.getByRole('table', { name: 'Evaluation' });
    await page.waitForFunction(() => document.querySelectorAll('table[aria-label="Evaluation"] td').length > 0 && ![...document.querySelectorAll('table[aria-label="Evaluation"] tbody td')].some((td) => td.textContent === '—'), undefined, { timeout: SLOW });
    const rows = await table.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('th, td')].map((c) => c.textContent)));
    expect(rows.map((r) => r[0])).toEqual(['Key-value substitution (kv-subs)', 'Numeric arithmetic (num-arith)', 'Key-value arithmetic (kv-arith)']);
    for (const r of rows) for (const cell of r.slice(1, 5)) expect(cell).toMatch(/^\d+\.\d %$/);
    for (const r of rows) expect(r[5]).toMatch(/^\d+\.\d % \/ \d+\.\d % \/ \d+\.\d %$/); // the paper's anchor / augmenting / CALM
    const headers = await table.locator('thead th').allInnerTexts();
    expect(headers.map((h) => h.replace(/\s+/g, ' ').trim())).toEqual(['Task', 'Anchor arith-tiny', 'Augmenting kv-tiny', 'Composition', 'Chance', 'Paper']);
    expect(await page.locator('.table-sentence').innerText()).toMatch(/^On held-out keys the composition scores \d+\.\d % on key-value arithmetic, the anchor alone \d+\.\d %, the augmenting model alone \d+\.\d %, chance \d+\.\d %: /);

    // 7. Inside: the attention heatmap, and a bridge switched off for Compare.
    await page.getByRole('button', { name: 'Show attention' }).click();
    const heatmap = page.getByRole('table', { name: 'Cross-attention weights' });
    await heatmap.waitFor({ timeout: SLOW });
    const promptText = await prompt.inputValue();
    // one row per token: each key of the table is one token, every other character one
    expect(await heatmap.locator('tbody tr').count()).toBe(promptText.replace(/[a-z]{3}/g, 'k').length);
    await page.getByRole('switch', { name: /bridge 0: anchor embedding ← augmenting block 2/ }).click();
    await page.getByRole('button', { name: 'Compare' }).click();
    await expectText(page.getByRole('region', { name: 'Composed output' }), /Bridges switched off: bridge 0\./, SLOW);

    await page.screenshot({ path: `${ARTIFACTS}/playground.png`, fullPage: true });

    // 8. The link reproduces the setup in a new page (not the examples, not the bridges).
    const link = page.url();
    // Every field of the spec is in it, the bridge options too (their defaults, SPEC_DEFAULTS).
    expect(link).toMatch(
      /#anchor=arith-tiny&augment=kv-tiny&connections=-1:2,0:2,1:2&heads=auto&output=zero-init&posbias=4&posinit=5&inputnorm=whiten&querynorm=true&valuegate=true&steps=4&lr=0.003&batch=16/,
    );
    const again = await openPage(link.slice(link.indexOf('#')));
    expect(await again.page.getByRole('spinbutton', { name: 'Steps' }).inputValue()).toBe('4');
    expect(await again.page.getByRole('spinbutton', { name: 'Batch' }).inputValue()).toBe('16');
    await again.page.getByRole('list', { name: 'Connections' }).waitFor();
    expect(await connectionTexts(again.page)).toEqual(await connectionTexts(page));
    await again.page.close();

    expect(errors).toEqual([]);
    await page.close();
  });

  it('opens a link with another mapping and says what it could not use', async () => {
    const { page } = await openPage('#connections=2:0,0:7&heads=3&steps=oops');
    await connections(page).first().waitFor();
    expect(await connectionTexts(page)).toEqual(['bridge 0 anchor block 2 ← augmenting block 0']);
    const notices = await expectText(page.getByRole('status', { name: 'Link notices' }), /steps=oops/);
    expect(notices).toContain('Dropped anchor block 0 ← augmenting block 7');
    expect(notices).toContain('3 bridge heads do not divide');
    expect(await page.getByRole('spinbutton', { name: 'Steps' }).inputValue()).toBe(String(KV_RECIPE.steps));
    await page.close();
  });
});

describe('a shipped composition', () => {
  it('every composition listed in public/models/index.json has its two files', async () => {
    const index = JSON.parse(await readFile(`${ROOT}/public/models/index.json`, 'utf8')) as { compositions?: { path: string }[] };
    for (const c of index.compositions ?? []) {
      const manifest = JSON.parse(await readFile(`${ROOT}/public/models/${c.path}/composition.json`, 'utf8')) as { format: string };
      expect(manifest.format).toBe('calm-playground/composition@1');
      expect((await readFile(`${ROOT}/public/models/${c.path}/bridge.safetensors`)).length).toBeGreaterThan(8);
    }
  });

  it('opens kv-default with its bridges and recipe, compares at once, and Evaluate gives the table `repro kv` recorded', { timeout: 600_000 }, async () => {
    interface Recorded {
      connections: [number, number][];
      training: { steps: number; lr: number; batch: number; seed: number };
      metrics: { table: Record<string, { anchor: number; augment: number; composed: number }>; n: number; eval_seed: number };
    }
    const manifest = JSON.parse(await readFile(`${ROOT}/public/models/compositions/kv-default/composition.json`, 'utf8')) as Recorded;
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    await page.goto(baseUrl);
    await waitForWorker(page);
    await page.getByRole('button', { name: /^Open arith-tiny ← kv-tiny, bridges from calm repro kv/ }).click();
    const status = await expectText(page.locator('.shipped [role="status"]'), /^Opened arith-tiny ← kv-tiny/, SLOW);
    expect(status).toContain(`(trained ${manifest.training.steps} steps, lr ${manifest.training.lr}, batch ${manifest.training.batch})`);
    expect(status).toContain(`scored on ${manifest.metrics.n} examples per task`);
    expect(await connectionTexts(page)).toEqual(['bridge 0 anchor embedding ← augmenting final norm']);
    // The recipe comes with it: Train retrains it, Evaluate draws the recorded examples.
    await page.waitForURL(new RegExp(`connections=-1:3&.*steps=${manifest.training.steps}&lr=${manifest.training.lr}&batch=${manifest.training.batch}&seed=${manifest.metrics.eval_seed}&.*evaln=${manifest.metrics.n}&`));
    await expectText(page.getByRole('group', { name: 'Composition size' }), /come from a saved, imported or shipped composition/);

    await page.getByRole('button', { name: 'Compare' }).click();
    const composed = page.getByRole('region', { name: 'Composed output' });
    await expectText(composed, /trained bridges/);
    await composed.locator('.token').first().waitFor({ timeout: SLOW });

    // The same examples (its seed and size) as the `repro kv` run that made it: the same table within a few points.
    const t0 = Date.now();
    await page.getByRole('button', { name: 'Evaluate' }).click();
    const table = page.getByRole('table', { name: 'Evaluation' });
    await page.waitForFunction(
      () => document.querySelectorAll('table[aria-label="Evaluation"] td').length > 0 && ![...document.querySelectorAll('table[aria-label="Evaluation"] tbody td')].some((td) => td.textContent === '—'),
      undefined,
      { timeout: 480_000, polling: 1000 },
    );
    const seconds = (Date.now() - t0) / 1000;
    const rows = await table.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('th, td')].map((c) => c.textContent ?? '')));
    const tasks = ['kv-subs', 'num-arith', 'kv-arith'];
    const measured: Record<string, number[]> = {};
    rows.forEach((r, i) => (measured[tasks[i]] = r.slice(1, 4).map((c) => Number.parseFloat(c) / 100)));
    console.log(`Evaluate (${manifest.metrics.n} per task) took ${seconds.toFixed(1)} s: ${JSON.stringify(measured)}; repro kv: ${JSON.stringify(manifest.metrics.table)}`);
    for (const task of tasks) {
      const want = manifest.metrics.table[task];
      const got = measured[task];
      [want.anchor, want.augment, want.composed].forEach((w, i) => expect(Math.abs(got[i] - w), `${task} column ${i}`).toBeLessThanOrEqual(0.03));
    }
    await page.screenshot({ path: `${ARTIFACTS}/shipped-composition.png`, fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe('across tokenizers', () => {
  it('opens the shipped arith-tiny ← kv-letters-tiny (keys spelled in letters), says it aligns by characters, and compares', { timeout: 300_000 }, async () => {
    const { page, errors } = await openPage();
    await waitForWorker(page);
    await page.getByRole('button', { name: /^Open arith-tiny ← kv-letters-tiny/ }).click();
    await expectText(page.locator('.shipped [role="status"]'), /^Opened arith-tiny ← kv-letters-tiny/, SLOW);
    await expectText(page.getByRole('group', { name: 'Composition size' }), /These two models tokenize differently, so the bridges align them by characters/, SLOW);
    expect(await page.getByRole('combobox', { name: 'Augmenting model' }).inputValue()).toBe('kv-letters-tiny');
    await page.getByRole('button', { name: 'Compare' }).click();
    // every column answers and is marked; the augmenting model, reading the prompt with its own
    // tokenizer (keys in letters), writes the substitution as kv-tiny does
    for (const region of ['Anchor output', 'Augmenting output', 'Composed output']) {
      await expectText(page.getByRole('region', { name: region }).locator('.mark'), /^[✓✗] (Right|Wrong): its right answer is /, SLOW);
    }
    expect(await page.getByRole('region', { name: 'Augmenting output' }).locator('.mark').innerText()).toMatch(/^✓ Right: its right answer is the substitution/);
    expect(await page.getByRole('region', { name: 'Composed output' }).innerText()).toContain('(trained bridges)');
    await page.screenshot({ path: `${ARTIFACTS}/across-tokenizers.png`, fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe('the model list', () => {
  it('shows a per-model config error and the models of both roles in each list (routed fixture)', async () => {
    const models = [
      { id: 'arith-tiny', role: 'anchor', title: 'Tiny anchor', description: 'Adds.', path: 'arith-tiny' },
      { id: 'kv-tiny', role: 'augment', title: 'Tiny augmenting', description: 'Knows values.', path: 'kv-tiny' },
      { id: 'broken', role: 'augment', title: 'Broken augmenting', description: 'No config.', path: 'broken' },
    ];
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.route('**/models/index.json', (route) => route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ models }) }));
    await page.route('**/models/broken/config.json', (route) => route.fulfill({ status: 404, body: 'Not Found' }));
    await page.goto(`${baseUrl}#augment=broken`);
    const augment = page.getByRole('combobox', { name: 'Augmenting model' });
    await augment.waitFor();
    expect(await augment.locator('option').allInnerTexts()).toEqual(['kv-tiny — Tiny augmenting', 'broken — Broken augmenting', 'arith-tiny — Tiny anchor']);
    const alert = page.getByRole('article', { name: 'Broken augmenting' }).getByRole('alert');
    await alert.waitFor();
    expect(await alert.innerText()).toBe('Could not load models/broken/config.json: HTTP 404');
    await augment.selectOption('kv-tiny');
    await page.waitForURL(/augment=kv-tiny/);
    await page.getByRole('article', { name: 'Tiny augmenting' }).locator('dl').waitFor();
    await page.screenshot({ path: `${ARTIFACTS}/models-fixture.png`, fullPage: true });
    await page.close();
  });

  it('says which file failed when models/index.json is missing', async () => {
    const page = await browser.newPage();
    await page.route('**/models/index.json', (route) => route.fulfill({ status: 404, body: 'Not Found' }));
    await page.goto(baseUrl);
    const alert = page.getByRole('alert').filter({ hasText: 'built-in model list' }).first();
    await alert.waitFor();
    expect(await alert.innerText()).toBe('Could not load the built-in model list (models/index.json): HTTP 404');
    await page.close();
  });

  it('is served cross-origin isolated (WASM threads)', async () => {
    const page = await browser.newPage();
    await page.goto(baseUrl);
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    await page.close();
  });

  it('keeps the main thread under 300 KB of gzipped JavaScript, with tfjs only in the worker', async () => {
    // What the page loads on the main thread: every script of the build but the worker's.
    const assets = await readdir(`${ROOT}/dist/assets`);
    const main = assets.filter((f) => f.endsWith('.js') && !f.startsWith('worker-'));
    const worker = assets.filter((f) => f.startsWith('worker-') && f.endsWith('.js'));
    expect(main.length).toBeGreaterThan(0);
    expect(worker).toHaveLength(1);
    let gzipped = 0;
    for (const f of main) {
      const code = await readFile(`${ROOT}/dist/assets/${f}`);
      gzipped += gzipSync(code).byteLength;
      expect(code.toString('utf8'), f).not.toMatch(/Tensor is disposed|tfjsflags|_FusedMatMul/);
    }
    expect(await readFile(`${ROOT}/dist/assets/${worker[0]}`, 'utf8')).toMatch(/Tensor is disposed[\s\S]*_FusedMatMul/); // the check above can see tfjs
    console.log(`main-thread JavaScript: ${main.join(', ')}, ${(gzipped / 1000).toFixed(1)} kB gzipped`);
    expect(gzipped).toBeLessThan(300_000);
  });
});

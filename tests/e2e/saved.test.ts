// Saved work in the built app: a worker crash mid-training restarts the worker, says so, and
// finishes training from the last checkpoint.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Browser, Locator, Page } from 'playwright-core';
import { launchChromium } from './helpers/browser';
import { ROOT } from './helpers/server';

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

async function expectText(locator: Locator, pattern: RegExp, timeout = 10_000): Promise<string> {
  const t0 = Date.now();
  let text = '';
  while (Date.now() - t0 < timeout) {
    text = (await locator.innerText().catch(() => '')) ?? '';
    if (pattern.test(text)) return text;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`expected ${pattern} in "${text.slice(0, 300)}"`);
}

async function waitForBridges(page: Page): Promise<void> {
  await expectText(page.getByRole('status', { name: 'Backend' }), /WebAssembly|WebGPU|plain JavaScript/, SLOW);
  await expectText(page.getByRole('group', { name: 'Composition size' }), /Fresh bridges are built|The bridges/, SLOW);
}


describe('faults', () => {
  it('a worker crash mid-training: the page says so, restarts it, and finishes training from the last checkpoint', { timeout: 300_000 }, async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(baseUrl);
    await waitForBridges(page);
    await page.getByRole('textbox', { name: 'Examples' }).fill('abc+abd= => 3\n004+005= => 9\nqdx-abc= => 1\n010+020= => 30\n');
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
});

// The README's first command, `npm ci && npm run dev`, is the product's front door: the page
// it serves must start its worker and answer Compare, in Chromium, like the built app. This
// file runs `npm run dev` itself (tests/e2e/helpers/server.ts), with no cached dependency
// optimisation, as on a fresh clone. And when the worker cannot start, the page says why.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './helpers/browser';
import { expectText } from './helpers/page';
import { startDevServer, type RunningServer } from './helpers/server';

/** The first page of a dev server optimises the dependencies and compiles on demand: slower than the build. */
const SLOW = 180_000;
let browser: Browser;
let dev: RunningServer;

beforeAll(async () => {
  [browser, dev] = await Promise.all([launchChromium(), startDevServer()]);
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await dev?.close();
});

async function openDevPage(): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  await page.goto(dev.url);
  return { page, errors };
}

describe('npm run dev', () => {
  it('serves a page whose worker starts, and Start here compares the shipped composition', { timeout: 400_000 }, async () => {
    const t0 = Date.now();
    const { page, errors } = await openDevPage();
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    const backend = page.getByRole('status', { name: 'Backend' });
    while (!/WebAssembly|WebGPU|plain JavaScript/.test(await backend.innerText())) {
      const alert = page.locator('.status-line [role="alert"]');
      if ((await alert.count()) > 0) throw new Error(`the worker did not start under npm run dev: ${await alert.innerText()}`);
      if (Date.now() - t0 > SLOW) throw new Error(`no backend after ${SLOW} ms: ${await backend.innerText()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    await page.getByRole('button', { name: 'Try the shipped composition on held-out keys' }).click();
    await page.waitForFunction(() => document.querySelectorAll('.verdicts li.right, .verdicts li.wrong').length === 3, undefined, { timeout: SLOW });
    console.log(`npm run dev: from opening the page (dependencies optimised anew) to the first Compare with the shipped composition: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    for (const region of ['Anchor output', 'Augmenting output', 'Composed output']) {
      expect(await page.getByRole('region', { name: region }).locator('.mark').innerText()).toMatch(/^[✓✗] (Right|Wrong): its right answer is /);
    }
    expect(await page.getByRole('region', { name: 'Composed output' }).innerText()).toContain('(trained bridges)');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('says why the worker could not start: the error and the file', { timeout: 200_000 }, async () => {
    // The failure this file guards against: tfjs-backend-wasm's CommonJS worker file served as
    // it is, imported as a module by name. The worker's module is replaced by one that does that.
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await page.route('**/src/worker/worker-api.ts*', (route) =>
      route.fulfill({
        contentType: 'text/javascript',
        body: "import { wasmWorkerContents } from '/node_modules/@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js';\nexport const start = () => wasmWorkerContents;\n",
      }),
    );
    await page.goto(dev.url);
    const alert = await expectText(page.locator('.status-line [role="alert"]'), /The worker could not start/, SLOW);
    expect(alert).toMatch(/^The worker could not start: SyntaxError: .*tfjs-backend-wasm-threaded-simd\.worker\.js.* does not provide an export named 'wasmWorkerContents'/);
    expect(await page.getByRole('status', { name: 'Backend' }).innerText()).toBe('Backend: not running');
    await page.close();
  });
});

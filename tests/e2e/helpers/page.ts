// What the e2e files share about a page: waiting for a text, reading the connection list, and
// opening the Examples text box.
import type { Locator, Page } from 'playwright-core';

/** Waits until `locator`'s text matches `pattern` and returns it; the error shows the last text seen. */
export async function expectText(locator: Locator, pattern: RegExp, timeout = 10_000): Promise<string> {
  const t0 = Date.now();
  let text = '';
  while (Date.now() - t0 < timeout) {
    text = (await locator.innerText().catch(() => '')) ?? '';
    if (pattern.test(text)) return text;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`expected ${pattern} in "${text.slice(0, 300)}"`);
}

/** The Connections list's items as text, one per bridge (without the Remove button). */
export async function connectionTexts(page: Page): Promise<string[]> {
  const items = page.getByRole('list', { name: 'Connections' }).getByRole('listitem');
  return (await items.allInnerTexts()).map((t) => t.replace(/\s*Remove\s*$/, '').replace(/\s+/g, ' ').trim());
}

/** The Examples text box, opened first with "Edit as text" when the page shows the summary. */
export async function examplesBox(page: Page): Promise<Locator> {
  const box = page.getByRole('textbox', { name: 'Examples' });
  if ((await box.count()) === 0) await page.getByRole('button', { name: 'Edit as text' }).click();
  await box.waitFor();
  return box;
}

/** What a page said when a wait for it failed: the status line, its alerts, the requests still pending. */
export async function pageReport(page: Page): Promise<string> {
  const status = await page.locator('.status-line').innerText().catch(() => '?');
  const alerts = await page.getByRole('alert').allInnerTexts().catch(() => []);
  const pending = [...(unfinished.get(page) ?? [])];
  return `status line: ${status.replace(/\s+/g, ' ')}; alerts: ${JSON.stringify(alerts)}; unfinished requests: ${JSON.stringify(pending)}`;
}

const unfinished = new WeakMap<Page, Set<string>>();

/** Keeps the page's requests (its workers' too) that have not finished, for pageReport. */
export function watchRequests(page: Page): Page {
  const pending = new Set<string>();
  unfinished.set(page, pending);
  page.on('request', (r) => pending.add(r.url()));
  page.on('requestfinished', (r) => pending.delete(r.url()));
  page.on('requestfailed', (r) => pending.delete(r.url()));
  return page;
}

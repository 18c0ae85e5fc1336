// The first five minutes in the built app at 1440×900: the Start-here strip and the main loop
// (models, map, Train with its progress, Compare) on the first screen; one click compares the
// shipped composition on held-out keys, each answer marked against its own right answer; bad
// numbers get words and keep Train disabled; a second Train reuses the frozen models' work; the
// big Examples box answers each keystroke (the figures are printed, not asserted); a skip link
// reaches Train; every control's accessible name is its visible label. Screenshots of the first screen: artifacts/e2e/first-screen-*.png.
import { mkdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './helpers/browser';
import { examplesBox, expectText, pageReport, watchRequests } from './helpers/page';
import { ROOT } from './helpers/server';
import { readPrompt } from '../../src/store/answers';
import { heldOutPrompt } from '../../src/store/actions/startHere';
import { NO_LINKS } from '../../src/store/actions/train';

const baseUrl = inject('baseUrl');
const ARTIFACTS = `${ROOT}/artifacts/e2e`;
const SLOW = 90_000;
let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
  await mkdir(ARTIFACTS, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
});

async function open(width = 1440, height = 900): Promise<{ page: Page; errors: string[]; opened: number }> {
  const page = watchRequests(await browser.newPage({ viewport: { width, height } }));
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  const opened = Date.now();
  await page.goto(baseUrl);
  return { page, errors, opened };
}

/** Waits until the default composition's bridges are built (the worker is up); a timeout says what the page said. */
async function ready(page: Page): Promise<void> {
  try {
    await expectText(page.getByRole('group', { name: 'Composition size' }), /Fresh bridges are built|The bridges/, SLOW);
  } catch (e) {
    throw new Error(`${e instanceof Error ? e.message : String(e)}; ${await pageReport(page)}`, { cause: e });
  }
}

/** Whether the element lies wholly inside the first screen (no scrolling). */
async function onFirstScreen(page: Page, name: string, role: 'button' | 'progressbar' | 'heading' = 'button'): Promise<boolean> {
  const box = await page.getByRole(role, { name, exact: true }).first().boundingBox();
  const { height, width } = page.viewportSize()!;
  return !!box && box.y >= 0 && box.y + box.height <= height && box.x + box.width <= width;
}

describe('the first screen', () => {
  it('holds Start here and the main loop at 1440×900; one click compares the shipped composition on held-out keys, each answer against its own right answer', { timeout: 300_000 }, async () => {
    const { page, errors, opened } = await open();
    const start = page.getByRole('button', { name: 'Try the shipped composition on held-out keys' });
    await start.waitFor();
    for (const name of ['Try the shipped composition on held-out keys', 'Train', 'Stop', 'Compare', 'Anchor block 2', 'Anchor embedding', 'Augmenting final norm']) {
      expect(await onFirstScreen(page, name), name).toBe(true);
    }
    expect(await onFirstScreen(page, 'Training progress', 'progressbar')).toBe(true);
    await ready(page);
    await page.screenshot({ path: `${ARTIFACTS}/first-screen-1440x900.png` });

    await start.click();
    const result = page.getByRole('status', { name: 'Start here result' });
    await page.waitForFunction(() => document.querySelectorAll('.verdicts li.right, .verdicts li.wrong').length === 3, undefined, { timeout: SLOW });
    const seconds = (Date.now() - opened) / 1000;
    console.log(`from opening the page to the first Compare with the shipped composition: ${seconds.toFixed(1)} s (built app, 1440×900)`);
    const prompt = heldOutPrompt(0);
    expect(await page.getByRole('textbox', { name: 'Prompt' }).inputValue()).toBe(prompt);
    const reading = readPrompt(prompt)!;
    expect(reading.operands.every((o) => o.kind === 'key' && o.heldOut)).toBe(true);
    // Each column against its own right answer: the substitution for the augmenting model, the result for the others.
    const verdicts = await result.locator('.verdicts li').allInnerTexts();
    const columns = ['Anchor alone', 'Augmenting alone', 'Composition'] as const;
    const regions = ['Anchor output', 'Augmenting output', 'Composed output'];
    const rights = [reading.answers.anchor, reading.answers.augment, reading.answers.composed];
    for (const [i, v] of verdicts.entries()) {
      const said = (await page.getByRole('region', { name: regions[i] }).locator('.tokens').innerText()).trim();
      const right = said === rights[i];
      expect(v.replace(/\s+/g, ' ')).toBe(`${columns[i]} ${said} ${right ? '✓ right' : `✗ wrong (right: ${rights[i]})`}`);
    }
    expect(await page.getByRole('region', { name: 'Composed output' }).innerText()).toContain('(trained bridges)');
    console.log(`Start here on ${prompt}: ${verdicts.map((v) => v.replace(/\s+/g, ' ')).join(' | ')}`);
    await page.screenshot({ path: `${ARTIFACTS}/first-screen-1440x900-compared.png` });

    // Another click: the next held-out prompt, the composition already open.
    await page.getByRole('button', { name: 'Try another held-out prompt' }).click();
    await expectText(result, new RegExp(`Prompt ${heldOutPrompt(1).replace(/[+]/g, '\\+')}`), SLOW);
    expect(errors).toEqual([]);
    await page.close();

    const narrow = await open(800, 900);
    await ready(narrow.page);
    await narrow.page.screenshot({ path: `${ARTIFACTS}/first-screen-800x900.png` });
    await narrow.page.close();
  });

  it('bad numbers get words next to the field and keep Train disabled with the reason; no link, no Train', { timeout: 200_000 }, async () => {
    const { page } = await open();
    await ready(page);
    const train = page.getByRole('button', { name: 'Train', exact: true });
    const lr = page.getByRole('spinbutton', { name: 'Learning rate' });
    for (const bad of ['0', '-0.1', '2']) {
      await lr.fill(bad);
      await expectText(page.locator('#train-problem'), /^Learning rate must be a number above 0 and at most 1\.$/);
      expect(await train.isDisabled()).toBe(true);
    }
    await lr.blur();
    expect(await lr.inputValue()).toBe('2'); // kept as typed, never silently reverted
    expect(await lr.evaluate((el) => el.parentElement?.querySelector('.field-error')?.textContent)).toBe('a number above 0 and at most 1');
    await lr.fill('0.001');
    const steps = page.getByRole('spinbutton', { name: 'Steps' });
    await steps.fill('0');
    await expectText(page.locator('#train-problem'), /^Steps must be a whole number from 1 to 100,000\.$/);
    expect(await train.isDisabled()).toBe(true);
    await steps.fill('5');
    expect(await train.isDisabled()).toBe(false);
    // Every link removed: Train says why instead of failing a run.
    await page.getByRole('button', { name: /^Remove link / }).click();
    await expectText(page.locator('#train-problem'), new RegExp(`^${NO_LINKS.replace(/[.:]/g, '\\$&')}$`));
    expect(await train.isDisabled()).toBe(true);
    await page.close();
  });

  it("a second Train with the same models and examples reuses the frozen models' work (timed, printed)", { timeout: 400_000 }, async () => {
    const { page, errors } = await open();
    await ready(page);
    await page.getByRole('spinbutton', { name: 'Steps' }).fill('2');
    await page.getByRole('spinbutton', { name: 'Held-out examples' }).fill('0');
    await page.waitForURL(/steps=2&.*heldout=0/);
    const status = page.getByRole('status', { name: 'Training status' });
    const run = async () => {
      const t0 = Date.now();
      await page.getByRole('button', { name: 'Train', exact: true }).click();
      const text = await expectText(status, /^Done: 2 steps/, 300_000);
      return { seconds: (Date.now() - t0) / 1000, text };
    };
    const first = await run();
    const second = await run();
    console.log(`Train 2 steps on the default examples: ${first.seconds.toFixed(1)} s the first time (caching the frozen work), ${second.seconds.toFixed(1)} s the second (reusing it)`);
    expect(first.text).not.toContain('reused');
    expect(second.text).toContain("(the frozen models' work reused from the last run)");
    expect(errors).toEqual([]);
    await page.close();
  });

  it('the default Examples box answers each keystroke: typing and pasting, measured in the page', { timeout: 200_000 }, async () => {
    // A context that may use the clipboard, for a real paste (Ctrl+V).
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write']);
    const page = await context.newPage();
    await page.goto(baseUrl);
    await ready(page);
    const box = await examplesBox(page);
    const counts = await page.locator('#examples-counts').innerText();
    const before = Number(/^([\d,]+) training examples/.exec(counts)![1].replace(/,/g, ''));
    const lines = (await box.inputValue()).split('\n').length;
    // Input to the next frame: from each keydown (not a modifier's) to the first frame after the page has handled it.
    await page.evaluate(() => {
      const w = window as unknown as { __latencies: number[] };
      w.__latencies = [];
      document.addEventListener(
        'keydown',
        (e) => {
          if (['Control', 'Shift', 'Alt', 'Meta'].includes(e.key)) return; // a modifier alone changes nothing
          const t0 = e.timeStamp;
          requestAnimationFrame(() => setTimeout(() => w.__latencies.push(performance.now() - t0), 0));
        },
        true,
      );
    });
    const measured = () => page.evaluate(() => (window as unknown as { __latencies: number[] }).__latencies.splice(0));
    await box.focus();
    await page.keyboard.press('Control+End');
    await page.waitForTimeout(300);
    await measured(); // not the move to the end
    const typed = '\n004+005= => 9';
    await page.keyboard.type(typed, { delay: 60 });
    await page.waitForTimeout(300);
    const typing = await measured();
    await page.evaluate(() => navigator.clipboard.writeText('\n003+004= => 7'));
    for (let i = 0; i < 3; i++) {
      await page.keyboard.press('Control+V');
      await page.waitForTimeout(300);
    }
    const pasting = await measured();
    const summary = (xs: number[]) => {
      const sorted = [...xs].sort((a, b) => a - b);
      return `median ${sorted[Math.floor(sorted.length / 2)].toFixed(0)} ms, max ${sorted.at(-1)!.toFixed(0)} ms`;
    };
    console.log(
      `Examples box with ${lines.toLocaleString('en')} lines, input to next frame: ${typing.length} typed keystrokes ${summary(typing)}; ` +
        `${pasting.length} pastes of a line (Ctrl+V) ${summary(pasting)} (${pasting.map((x) => x.toFixed(0)).join(', ')} ms)`,
    );
    expect(typing).toHaveLength(typed.length); // every keystroke was measured
    expect(pasting).toHaveLength(3);
    await expectText(page.locator('#examples-counts'), new RegExp(`^${(before + 4).toLocaleString('en')} training examples`));
    expect(await box.inputValue()).toMatch(/004\+005= => 9(\n003\+004= => 7){3}$/);
    await context.close();
  });

  it('a skip link reaches Train, and every control is named by its visible label', { timeout: 200_000 }, async () => {
    const { page } = await open();
    await ready(page);
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to Train');
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('train-button');
    expect(page.url()).not.toMatch(/#train/); // the hash keeps the configuration

    // Open what is folded, so that every control is checked.
    for (const summary of await page.locator('details > summary').all()) await summary.click();
    // Names from the browser's accessibility tree, against the text a person sees.
    const cdp = await page.context().newCDPSession(page);
    const { nodes } = (await cdp.send('Accessibility.getFullAXTree')) as { nodes: { role?: { value: string }; name?: { value: string }; ignored: boolean; backendDOMNodeId?: number }[] };
    const CONTROLS = new Set(['textbox', 'spinbutton', 'combobox', 'checkbox', 'switch', 'button', 'link', 'radio', 'slider']);
    const problems: string[] = [];
    let checked = 0;
    for (const n of nodes) {
      if (n.ignored || !n.role || !CONTROLS.has(n.role.value) || n.backendDOMNodeId === undefined) continue;
      const { object } = (await cdp.send('DOM.resolveNode', { backendNodeId: n.backendDOMNodeId })) as { object: { objectId?: string } };
      if (!object.objectId) continue;
      const { result } = (await cdp.send('Runtime.callFunctionOn', {
        objectId: object.objectId,
        returnByValue: true,
        functionDeclaration: `function () {
          const text = (el) => {
            const copy = el.cloneNode(true);
            copy.querySelectorAll('input, select, textarea, title, [aria-hidden="true"], .visually-hidden').forEach((x) => x.remove());
            return copy.textContent.replace(/\\s+/g, ' ').trim();
          };
          const field = this.matches('input, select, textarea');
          if (field && this.type === 'file') return { kind: 'field', label: this.labels?.[0] ? text(this.labels[0]) : '' };
          if (field) return { kind: 'field', label: this.labels?.[0] ? text(this.labels[0]) : '' };
          return { kind: 'button', label: text(this) };
        }`,
      })) as { result: { value: { kind: string; label: string } } };
      const { kind, label } = result.value;
      const name = (n.name?.value ?? '').replace(/\s+/g, ' ').trim();
      if (!label) continue; // nothing visible to compare with (an icon-only link on the map)
      checked++;
      // A field is named exactly by its label; a button's name holds its visible text (WCAG 2.5.3, label in name).
      const ok = kind === 'field' ? name === label : name.toLowerCase().includes(label.toLowerCase());
      if (!ok) problems.push(`${n.role.value} "${name}" shows "${label}"`);
    }
    console.log(`accessible names checked against visible labels: ${checked} controls`);
    expect(checked).toBeGreaterThan(40);
    expect(problems).toEqual([]);
    await page.close();
  });
});

// @vitest-environment happy-dom
// Model cards render their Markdown (headings, bold, lists, tables, code) as elements; an
// imported card's HTML stays text, and only http(s) links become links.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, render, screen } from '@testing-library/react';
import { Markdown } from '../../src/ui/Markdown';

afterEach(cleanup);

describe('Markdown', () => {
  it("renders a built-in model's card with no Markdown left showing", () => {
    const card = readFileSync(join(process.cwd(), 'public/models/arith-tiny/README.md'), 'utf8');
    const { container } = render(<Markdown text={card} />);
    expect(screen.getByRole('heading', { name: 'arith-tiny' })).toBeTruthy();
    expect(container.querySelectorAll('strong').length).toBeGreaterThan(0);
    expect(container.querySelectorAll('li').length).toBeGreaterThan(0);
    expect(container.querySelector('table tbody tr')).toBeTruthy();
    expect(container.querySelector('pre code')?.textContent).toMatch(/npm run train:builtin/);
    expect(container.textContent).not.toMatch(/\*\*|^#|\|---/m);
  });

  it('keeps HTML as text and links only to http(s)', () => {
    const { container } = render(<Markdown text={'Hi <img src=x onerror="alert(1)"> [a](javascript:alert(1)) [b](https://example.org/)'} />);
    expect(container.querySelector('img')).toBeNull();
    expect(container.textContent).toContain('<img src=x onerror="alert(1)">');
    const links = [...container.querySelectorAll('a')];
    expect(links.map((a) => a.getAttribute('href'))).toEqual(['https://example.org/']);
  });
});

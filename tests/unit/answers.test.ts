// Reading a prompt against the key table (src/store/answers.ts): each column's right answer
// agrees with the task generators of src/tasks/kv.ts, whatever the table and formats become;
// unknown keys are named; and the README's key-value examples use keys the table has.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { keyRows, readPrompt, verdict } from '../../src/store/answers';
import { keyTable } from '../../src/store/examples';
import { makeExamples } from '../../src/tasks/kv';

const table = keyTable();

describe('readPrompt', () => {
  it("gives the composition and the anchor the result, the augmenting model the substitution, as the generators do", () => {
    for (const keys of ['composition', 'held-out'] as const) {
      for (const ex of makeExamples('kv-arith', 200, { seed: 3, table, keys })) {
        const r = readPrompt(ex.prompt)!;
        expect(r.answers.composed, ex.prompt).toBe(ex.completion);
        expect(r.answers.anchor, ex.prompt).toBe(ex.completion);
        expect(r.operands.every((o) => o.kind === 'key' && o.heldOut === (keys === 'held-out'))).toBe(true);
      }
    }
    for (const ex of makeExamples('kv-subs', 200, { seed: 4, table })) expect(readPrompt(ex.prompt)!.answers.augment, ex.prompt).toBe(ex.completion);
  });

  it('numbers: the result for the anchor and the composition, nothing for the augmenting model', () => {
    for (const ex of makeExamples('num-arith', 100, { seed: 5, table })) {
      const r = readPrompt(ex.prompt)!;
      expect(r.answers).toEqual({ anchor: ex.completion, composed: ex.completion, augment: null });
      expect(r.unknown).toEqual([]);
    }
  });

  it('names what is not a key, and then no column has a right answer', () => {
    const known = table.keys[0];
    const unknown = '§§§';
    const r = readPrompt(`${known}+${unknown}=`)!;
    expect(r.unknown).toEqual([unknown]);
    expect(r.answers).toEqual({ anchor: null, augment: null, composed: null });
    expect(verdict('composed', `${known}+${unknown}=`, '3')).toBeNull();
  });

  it('is null for what is not an expression', () => {
    for (const p of ['', '=', 'abc', `${table.keys[0]}=`, `${table.keys[0]}+=`, `${table.keys[0]}+${table.keys[1]}`]) expect(readPrompt(p), p).toBeNull();
  });

  it('judges an output against its own column', () => {
    const [ex] = makeExamples('kv-arith', 1, { seed: 6, table, keys: 'held-out' });
    const subs = readPrompt(ex.prompt)!.answers.augment!;
    expect(verdict('augment', ex.prompt, subs)).toEqual({ right: subs, correct: true });
    expect(verdict('composed', ex.prompt, subs)).toEqual({ right: ex.completion, correct: subs === ex.completion });
    expect(verdict('anchor', ex.prompt, ex.completion)).toEqual({ right: ex.completion, correct: true });
  });
});

describe('keyRows', () => {
  it('lists every key with its value, the held-out ones marked', () => {
    const rows = keyRows();
    expect(rows.map((r) => r.key)).toEqual(table.keys);
    expect(rows.filter((r) => r.heldOut).map((r) => r.key).sort()).toEqual([...table.heldOutKeys].sort());
    for (const r of rows) expect(r.value).toBe(table.values[r.key]);
  });
});

describe('the README', () => {
  it('uses keys that exist in its key-value examples', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    // Every code span that reads as an expression with a letter in it: `abc+qdx-kkr=`.
    const prompts = [...readme.matchAll(/`([^`\s]+=)`/g)].map((m) => m[1]).filter((p) => /[a-z]/i.test(p) && readPrompt(p) !== null);
    expect(prompts.length).toBeGreaterThan(0);
    for (const p of prompts) expect(readPrompt(p)!.unknown, `README.md: ${p}`).toEqual([]);
  });
});

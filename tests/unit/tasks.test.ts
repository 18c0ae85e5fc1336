import { describe, it, expect } from 'vitest';
import {
  answerChance,
  describeTask,
  DICT_ENTRIES,
  evaluateExpression,
  KV_SPEC,
  makeExamples,
  makeKeyTable,
  makeRng,
  TASKS,
  type Example,
  type KeyTable,
} from '../../src/tasks';

const KEY = '[a-z]{3}';
const OP = '[+-]';
const KV_EXPR = new RegExp(`^(${KEY})(?:(${OP})(${KEY}))(?:(${OP})(${KEY}))?=$`);

/** Keys and operators of `abc+qdx-kkr` (no '='). */
function splitExpression(expr: string): { operands: string[]; ops: string[] } {
  const parts = expr.split(/([+-])/);
  return { operands: parts.filter((_, i) => i % 2 === 0), ops: parts.filter((_, i) => i % 2 === 1) };
}

/** The answer recomputed here by hand, independent of kv.ts's evaluateExpression. */
function evalByHand(values: number[], ops: string[]): number {
  return values.reduce((acc, v, i) => (i === 0 ? v : ops[i - 1] === '+' ? acc + v : acc - v), 0);
}

describe('makeRng', () => {
  it('is deterministic per seed and differs between seeds', () => {
    const a = makeRng(7);
    const b = makeRng(7);
    const c = makeRng(8);
    const xa = Array.from({ length: 20 }, () => a.next());
    expect(Array.from({ length: 20 }, () => b.next())).toEqual(xa);
    expect(Array.from({ length: 20 }, () => c.next())).not.toEqual(xa);
    for (const x of xa) expect(x >= 0 && x < 1).toBe(true);
  });

  it('int is inclusive and covers its range; shuffle permutes in place', () => {
    const rng = makeRng(1);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const v = rng.int(-2, 3);
      expect(v).toBeGreaterThanOrEqual(-2);
      expect(v).toBeLessThanOrEqual(3);
      seen.add(v);
    }
    expect([...seen].sort((x, y) => x - y)).toEqual([-2, -1, 0, 1, 2, 3]);
    const arr = Array.from({ length: 50 }, (_, i) => i);
    const out = rng.shuffle(arr);
    expect(out).toBe(arr);
    expect([...arr].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(arr).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(['x', 'y']).toContain(rng.pick(['x', 'y']));
    expect(() => rng.pick([])).toThrow();
  });
});

describe('makeKeyTable', () => {
  const table = makeKeyTable();

  it('has numKeys distinct lowercase keys of keyLength letters with values in range', () => {
    expect(table.keys).toHaveLength(KV_SPEC.numKeys);
    expect(new Set(table.keys).size).toBe(KV_SPEC.numKeys);
    for (const k of table.keys) {
      expect(k).toMatch(/^[a-z]{3}$/);
      const v = table.values[k];
      expect(Number.isInteger(v) && v >= KV_SPEC.valueMin && v <= KV_SPEC.valueMax).toBe(true);
    }
    // Uniform values: every value of 0..9 occurs among 200 keys.
    expect(new Set(Object.values(table.values)).size).toBe(10);
  });

  it('puts 20 % of the keys in the composition set and the rest held out, disjoint', () => {
    expect(table.compositionKeys).toHaveLength(200);
    expect(table.heldOutKeys).toHaveLength(800);
    const comp = new Set(table.compositionKeys);
    for (const k of table.heldOutKeys) expect(comp.has(k)).toBe(false);
    expect([...table.compositionKeys, ...table.heldOutKeys].sort()).toEqual([...table.keys].sort());
  });

  it('is deterministic in the seed', () => {
    expect(makeKeyTable()).toEqual(table);
    const other = makeKeyTable({ ...KV_SPEC, seed: 99 });
    expect(other.keys).not.toEqual(table.keys);
  });

  it('follows a changed spec and rejects an impossible one', () => {
    const small = makeKeyTable({ ...KV_SPEC, numKeys: 10, keyLength: 2, compositionShare: 0.5 });
    expect(small.keys.every((k) => /^[a-z]{2}$/.test(k))).toBe(true);
    expect(small.compositionKeys).toHaveLength(5);
    expect(() => makeKeyTable({ ...KV_SPEC, numKeys: 27, keyLength: 1 })).toThrow(/numKeys/);
    expect(() => makeKeyTable({ ...KV_SPEC, valueMin: -1 })).toThrow(/valueMin/);
  });
});

describe('makeExamples', () => {
  const table = makeKeyTable();
  const N = 500;

  it('is deterministic per seed; tasks and seeds give different streams', () => {
    for (const task of TASKS) {
      expect(makeExamples(task, 50, { seed: 3, table })).toEqual(makeExamples(task, 50, { seed: 3, table }));
      expect(makeExamples(task, 50, { seed: 3, table })).not.toEqual(makeExamples(task, 50, { seed: 4, table }));
    }
    const subs = makeExamples('kv-subs', 50, { seed: 3, table }).map((e) => e.prompt);
    const arith = makeExamples('kv-arith', 50, { seed: 3, table }).map((e) => e.prompt);
    expect(subs).not.toEqual(arith);
    // A longer run starts with the shorter one, so n does not reshuffle a data set.
    expect(makeExamples('kv-arith', 80, { seed: 3, table }).slice(0, 50)).toEqual(makeExamples('kv-arith', 50, { seed: 3, table }));
  });

  it('kv-subs: abc+qdx-kkr= → the values in the same expression', () => {
    for (const { prompt, completion } of makeExamples('kv-subs', N, { seed: 1, table })) {
      expect(prompt).toMatch(KV_EXPR);
      const { operands, ops } = splitExpression(prompt.slice(0, -1));
      expect(completion).toBe(operands.map((k, i) => (i === 0 ? '' : ops[i - 1]) + table.values[k]).join(''));
      expect(completion).toMatch(/^\d(?:[+-]\d){1,2}$/);
    }
  });

  it('kv-lookup: a prefix ending at a key → that key’s value, single keys included', () => {
    const examples = makeExamples('kv-lookup', N, { seed: 1, table });
    let single = 0;
    for (const { prompt, completion } of examples) {
      expect(prompt).toMatch(/^[a-z]{3}(?:[+-][a-z]{3}){0,2}$/);
      const { operands } = splitExpression(prompt);
      if (operands.length === 1) single++;
      expect(completion).toBe(String(table.values[operands[operands.length - 1]]));
    }
    expect(single).toBeGreaterThan(0);
    expect(single).toBeLessThan(N);
  });

  it('num-arith: one-digit operands → the result, negative ones included', () => {
    const examples = makeExamples('num-arith', N, { seed: 1, table });
    for (const { prompt, completion } of examples) {
      expect(prompt).toMatch(/^\d(?:[+-]\d){1,2}=$/);
      const { operands, ops } = splitExpression(prompt.slice(0, -1));
      const values = operands.map(Number);
      for (const v of values) expect(v >= 0 && v <= 9).toBe(true);
      expect(completion).toBe(String(evalByHand(values, ops)));
      expect(completion).toMatch(/^-?\d+$/);
    }
    expect(examples.some((e) => e.completion.startsWith('-'))).toBe(true);
    // Operand counts span [minOperands, maxOperands].
    const counts = new Set(examples.map((e) => splitExpression(e.prompt.slice(0, -1)).operands.length));
    expect([...counts].sort()).toEqual([2, 3]);
  });

  it('kv-dict: the table as text, each value right after its key, no prompt', () => {
    for (const { prompt, completion } of makeExamples('kv-dict', N, { seed: 1, table })) {
      expect(prompt).toBe('');
      const entries = completion.split(' ');
      expect(entries).toHaveLength(DICT_ENTRIES);
      for (const e of entries) {
        expect(e).toMatch(/^[a-z]{3}\d$/);
        expect(Number(e[3])).toBe(table.values[e.slice(0, 3)]);
      }
    }
  });

  it('kv-mixed: one key among numbers → the result, the key anywhere', () => {
    const places = new Set<number>();
    for (const { prompt, completion } of makeExamples('kv-mixed', N, { seed: 1, table })) {
      const { operands, ops } = splitExpression(prompt.slice(0, -1));
      const keyAt = operands.map((o, i) => (/^[a-z]{3}$/.test(o) ? i : -1)).filter((i) => i >= 0);
      expect(keyAt).toHaveLength(1);
      places.add(keyAt[0]);
      for (const o of operands) if (!/^[a-z]{3}$/.test(o)) expect(o).toMatch(/^\d$/);
      expect(completion).toBe(String(evalByHand(operands.map((o) => (/^\d$/.test(o) ? Number(o) : table.values[o])), ops)));
    }
    expect([...places].sort()).toEqual([0, 1, 2]);
  });

  it('kv-arith: abc+qdx-kkr= → the result over the keys’ values', () => {
    for (const { prompt, completion } of makeExamples('kv-arith', N, { seed: 1, table })) {
      expect(prompt).toMatch(KV_EXPR);
      const { operands, ops } = splitExpression(prompt.slice(0, -1));
      expect(completion).toBe(String(evalByHand(operands.map((k) => table.values[k]), ops)));
    }
  });

  it('draws every key of an example from the chosen key set', () => {
    const held = new Set(table.heldOutKeys);
    const comp = new Set(table.compositionKeys);
    const keysIn = (examples: Example[]): string[] =>
      examples.flatMap((e) => splitExpression(e.prompt.replace(/=$/, '')).operands.filter((o) => !/^\d+$/.test(o)));
    const heldOut = keysIn(makeExamples('kv-arith', N, { seed: 5, table, keys: 'held-out' }));
    expect(heldOut.length).toBeGreaterThanOrEqual(N * 2); // at least two keys per example
    for (const k of heldOut) expect(held.has(k)).toBe(true);
    for (const task of ['kv-subs', 'kv-lookup', 'kv-arith', 'kv-mixed'] as const) {
      for (const k of keysIn(makeExamples(task, N, { seed: 5, table, keys: 'composition' }))) expect(comp.has(k)).toBe(true);
    }
    // 'all' reaches both sets.
    const all = new Set(keysIn(makeExamples('kv-arith', N, { seed: 5, table })));
    expect([...all].some((k) => held.has(k)) && [...all].some((k) => comp.has(k))).toBe(true);
  });

  it('rejects a bad n and an empty key set', () => {
    expect(() => makeExamples('kv-arith', -1, { seed: 1, table })).toThrow();
    const noComp: KeyTable = makeKeyTable({ ...KV_SPEC, compositionShare: 0 });
    expect(() => makeExamples('kv-arith', 3, { seed: 1, table: noComp, keys: 'composition' })).toThrow(/empty/);
    expect(makeExamples('num-arith', 3, { seed: 1, table: noComp, keys: 'composition' })).toHaveLength(3);
  });
});

describe('evaluateExpression, answerChance, describeTask', () => {
  it('evaluates left to right and checks its arguments', () => {
    expect(evaluateExpression([4, 7, 3], ['+', '-'])).toBe(8);
    expect(evaluateExpression([1, 5, 9], ['-', '-'])).toBe(-13);
    expect(evaluateExpression([6], [])).toBe(6);
    expect(() => evaluateExpression([1, 2], [])).toThrow();
    expect(() => evaluateExpression([1, 2], ['*'])).toThrow(/operator/);
  });

  it('gives the most common completion and its share', () => {
    const ex = (c: string): Example => ({ prompt: 'p', completion: c });
    expect(answerChance([ex('1'), ex('2'), ex('2'), ex('3')])).toEqual({ answer: '2', share: 0.5 });
    expect(answerChance([])).toEqual({ answer: '', share: 0 });
    // kv-arith results are not uniform: small results are more common than 1/#results.
    const { share } = answerChance(makeExamples('kv-arith', 2000, { seed: 2, table: makeKeyTable() }));
    expect(share).toBeGreaterThan(1 / 37);
    expect(share).toBeLessThan(0.2);
  });

  it('describes every task in one line', () => {
    for (const task of TASKS) {
      const d = describeTask(task);
      expect(d.length).toBeGreaterThan(10);
      expect(d).not.toContain('\n');
    }
    expect(new Set(TASKS.map(describeTask)).size).toBe(TASKS.length);
  });
});

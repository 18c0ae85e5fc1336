import { describe, it, expect } from 'vitest';
import {
  DEFAULT_MAX_BYTES,
  ExamplesError,
  formatExamples,
  makeExamples,
  makeKeyTable,
  parseExamples,
  parseExamplesStrict,
  type Example,
} from '../../src/tasks';

describe('parseExamples', () => {
  it('reads the arrow form, splitting at the first " => " and keeping spaces', () => {
    const { examples, errors } = parseExamples('abc+qdx-kkr= => 8\n x => y \nf(a) => a => b\n');
    expect(errors).toEqual([]);
    expect(examples).toEqual([
      { prompt: 'abc+qdx-kkr=', completion: '8' },
      { prompt: ' x', completion: 'y ' },
      { prompt: 'f(a)', completion: 'a => b' },
    ]);
  });

  it('reads JSON lines, ignoring other fields', () => {
    const text = '{"prompt": "abc=", "completion": "4"}\n  {"completion":"a => b","prompt":"{x}","note":1}  ';
    expect(parseExamples(text)).toEqual({
      examples: [
        { prompt: 'abc=', completion: '4' },
        { prompt: '{x}', completion: 'a => b' },
      ],
      errors: [],
    });
  });

  it('mixes both forms, skips blank lines and # comments, drops a trailing \\r', () => {
    const text = [
      '# kv-arith, held-out keys',
      '',
      'abc+qdx= => 9\r',
      '   ',
      '{"prompt": "004+007-003=", "completion": "8"}\r',
      '#abc => 1',
      '{a} => {b}',
    ].join('\n');
    const { examples, errors } = parseExamples(text);
    expect(errors).toEqual([]);
    expect(examples).toEqual([
      { prompt: 'abc+qdx=', completion: '9' },
      { prompt: '004+007-003=', completion: '8' },
      { prompt: '{a}', completion: '{b}' },
    ]);
  });

  it('reports each bad line with its 1-based number and reason, keeping the good ones', () => {
    const text = [
      'a => 1', // 1 ok
      'no arrow here', // 2
      ' => 3', // 3: the split is at column 0, so the prompt is empty
      'abc =>', // 4
      'abc => ', // 5
      '{"prompt": "a"}', // 6
      '{"prompt": "a", "completion": 5}', // 7
      '{"prompt": "", "completion": "5"}', // 8
      '{"prompt": "a", ', // 9: not a JSON object line; no arrow
      '{not json}', // 10
      '["a", "b"]', // 11
      'b => 2', // 12 ok
    ].join('\n');
    const { examples, errors } = parseExamples(text);
    expect(examples).toEqual([
      { prompt: 'a', completion: '1' },
      { prompt: 'b', completion: '2' },
    ]);
    expect(errors.map((e) => e.line)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    for (const e of errors) expect(e.message.startsWith(`line ${e.line}: `)).toBe(true);
    const byLine = new Map(errors.map((e) => [e.line, e.message]));
    expect(byLine.get(2)).toBe('line 2: expected "prompt => completion" or a JSON object with "prompt" and "completion"');
    expect(byLine.get(3)).toMatch(/prompt is empty/);
    expect(byLine.get(4)).toMatch(/completion is empty/);
    expect(byLine.get(5)).toMatch(/completion is empty/);
    expect(byLine.get(6)).toMatch(/no "completion"/);
    expect(byLine.get(7)).toMatch(/"completion" must be a string/);
    expect(byLine.get(8)).toMatch(/"prompt" is empty/);
    expect(byLine.get(10)).toMatch(/invalid JSON/);
  });

  it('refuses text over the size limit as a whole, saying its size and the limit', () => {
    const line = 'abc+qdx= => 9\n';
    const text = line.repeat(100); // 1400 bytes
    const { examples, errors } = parseExamples(text, { maxBytes: 1000 });
    expect(examples).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(errors[0].line).toBe(0);
    expect(errors[0].message).toContain('1400 bytes');
    expect(errors[0].message).toContain('1000 bytes');
    // Multi-byte characters count in UTF-8 bytes: 400 'é' are 400 code units but 800 bytes.
    expect(parseExamples(`a => ${'é'.repeat(400)}`, { maxBytes: 600 }).errors[0].message).toContain('805 bytes');
    expect(parseExamples(text, { maxBytes: 1400 }).examples).toHaveLength(100);
    expect(DEFAULT_MAX_BYTES).toBe(5 * 1024 * 1024);
    const huge = parseExamples('x'.repeat(DEFAULT_MAX_BYTES + 1));
    expect(huge.examples).toEqual([]);
    expect(huge.errors[0].message).toMatch(/limit is 5\.0 MB/);
  });

  it('stops at maxExamples with one error', () => {
    const { examples, errors } = parseExamples('a => 1\nb => 2\n\nc => 3\nd => 4', { maxExamples: 2 });
    expect(examples).toHaveLength(2);
    expect(errors).toHaveLength(1);
    expect(errors[0].line).toBe(4);
    expect(errors[0].message).toMatch(/more than 2 examples/);
  });
});

describe('parseExamplesStrict', () => {
  it('returns the examples when every line is good', () => {
    expect(parseExamplesStrict('a => 1\n{"prompt":"b","completion":"2"}\n')).toEqual([
      { prompt: 'a', completion: '1' },
      { prompt: 'b', completion: '2' },
    ]);
  });

  it('throws an ExamplesError at the first bad line, carrying its number', () => {
    let caught: unknown;
    try {
      parseExamplesStrict('a => 1\n# ok\nbad\nworse');
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ExamplesError);
    expect((caught as ExamplesError).line).toBe(3);
    expect((caught as ExamplesError).message).toMatch(/^line 3: /);
  });

  it('throws when there are no examples at all', () => {
    expect(() => parseExamplesStrict('# only a comment\n\n')).toThrow(ExamplesError);
  });
});

describe('formatExamples', () => {
  it('writes the arrow form that parses back to the same examples', () => {
    const examples = makeExamples('kv-arith', 50, { seed: 1, table: makeKeyTable() });
    const text = formatExamples(examples);
    expect(text.split('\n')[0]).toMatch(/^[a-z]{3}[+-][a-z]{3}([+-][a-z]{3})?= => -?\d+$/);
    expect(parseExamples(text)).toEqual({ examples, errors: [] });
  });

  it('falls back to a JSON line for examples the arrow form cannot carry', () => {
    const awkward: Example[] = [
      { prompt: 'a => b', completion: 'c' },
      { prompt: '#x', completion: '1' },
      { prompt: 'two\nlines', completion: '2' },
      { prompt: 'p', completion: 'trailing\r' },
      { prompt: '{"prompt":"q","completion":"r"}', completion: 'x}' },
      { prompt: 'plain', completion: '3' },
    ];
    const text = formatExamples(awkward);
    expect(text.trimEnd().split('\n')).toHaveLength(awkward.length);
    expect(text).toContain('plain => 3\n');
    expect(parseExamples(text)).toEqual({ examples: awkward, errors: [] });
    expect(formatExamples([])).toBe('');
  });
});

import { describe, it, expect } from 'vitest';
import {
  everyConnections,
  formatConnections,
  parseConnections,
  uniformConnections,
  validateConnections,
  validateHeads,
} from '../../src/calm/connections';
import { CompositionError, type CompositionErrorCode } from '../../src/calm/errors';

/** The one-line CompositionError that `f` throws. */
function thrown(f: () => unknown, code: CompositionErrorCode): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(CompositionError);
    const err = e as CompositionError;
    expect(err.code).toBe(code);
    expect(err.message).not.toContain('\n');
    return err.message;
  }
  throw new Error('expected a CompositionError');
}

describe('uniformConnections (floor of np.linspace, as google-deepmind/calm)', () => {
  it('matches hand-computed cases', () => {
    expect(uniformConnections(2, 4, 4)).toEqual([[0, 0], [3, 3]]);
    // linspace(0,5,3) = 0, 2.5, 5; linspace(0,3,3) = 0, 1.5, 3
    expect(uniformConnections(3, 6, 4)).toEqual([[0, 0], [2, 1], [5, 3]]);
    // linspace(0,11,4) = 0, 3.67, 7.33, 11; linspace(0,5,4) = 0, 1.67, 3.33, 5
    expect(uniformConnections(4, 12, 6)).toEqual([[0, 0], [3, 1], [7, 3], [11, 5]]);
  });

  it('matches the official utils_test cases, n = 1 included', () => {
    expect(uniformConnections(2, 2, 2)).toEqual([[0, 0], [1, 1]]);
    expect(uniformConnections(1, 2, 2)).toEqual([[0, 0]]);
    expect(uniformConnections(2, 1, 2)).toEqual([[0, 0], [0, 1]]);
    expect(uniformConnections(2, 2, 1)).toEqual([[0, 0], [1, 0]]);
  });

  it('keeps a pair that rounding repeats once', () => {
    // linspace(0,1,4) floors to 0,0,0,1 on both sides
    expect(uniformConnections(4, 2, 2)).toEqual([[0, 0], [1, 1]]);
  });
});

describe('everyConnections', () => {
  it('takes layers k-1, 2k-1, ... cut to the shorter list', () => {
    expect(everyConnections(2, 4, 6)).toEqual([[1, 1], [3, 3]]);
    expect(everyConnections(4, 8, 8)).toEqual([[3, 3], [7, 7]]);
    expect(everyConnections(3, 7, 9)).toEqual([[2, 2], [5, 5]]);
    expect(everyConnections(1, 3, 2)).toEqual([[0, 0], [1, 1]]);
  });
});

describe('parseConnections', () => {
  it('reads presets, case and whitespace tolerant', () => {
    expect(parseConnections('uniform:2', 4, 4)).toEqual([[0, 0], [3, 3]]);
    expect(parseConnections('  Uniform : 3 ', 6, 4)).toEqual([[0, 0], [2, 1], [5, 3]]);
    expect(parseConnections('every:2', 4, 6)).toEqual([[1, 1], [3, 3]]);
    expect(parseConnections('uniform:6', 4, 6)).toHaveLength(6); // up to the larger model
  });

  it('reads explicit lists with -1 / e for the embedding output', () => {
    expect(parseConnections(' 0 : 1 , 3:3 ', 4, 4)).toEqual([[0, 1], [3, 3]]);
    expect(parseConnections('e:2, -1:e,1:E', 2, 3)).toEqual([[-1, 2], [-1, -1], [1, -1]]);
    // several augmenting layers may feed one anchor layer
    expect(parseConnections('1:0,1:2', 2, 3)).toEqual([[1, 0], [1, 2]]);
  });

  it('reads f (and N) on the augmenting side as the final norm output, and only there', () => {
    expect(parseConnections('-1:f, 0:F, 1:2', 4, 3)).toEqual([
      [-1, 3],
      [0, 3],
      [1, 2],
    ]);
    expect(parseConnections('0:3', 4, 3)).toEqual([[0, 3]]);
    expect(() => parseConnections('f:0', 4, 3)).toThrow(/cannot read "f:0"/);
    expect(() => parseConnections('4:0', 4, 3)).toThrow(/anchor layer 4 is out of range/);
    expect(() => parseConnections('0:4', 4, 3)).toThrow(/augment layer 4 is out of range/);
  });

  it('formats back to the explicit form', () => {
    const c = parseConnections('e:2, 1:0', 2, 3);
    expect(formatConnections(c)).toBe('-1:2,1:0');
    expect(parseConnections(formatConnections(c), 2, 3)).toEqual(c);
  });

  it('gives one-line errors naming the fault', () => {
    expect(thrown(() => parseConnections('7:0', 4, 4), 'layer-out-of-range')).toBe(
      'anchor layer 7 is out of range: the anchor has 4 blocks (0–3, or -1 for the embedding output)',
    );
    expect(thrown(() => parseConnections('0:1, 0:5', 4, 3), 'layer-out-of-range')).toBe(
      'augment layer 5 is out of range: the augmenting model has 3 blocks (0–2, -1 for the embedding output, or 3 for the final norm output)',
    );
    expect(thrown(() => parseConnections('-2:0', 4, 4), 'layer-out-of-range')).toContain('anchor layer -2');
    expect(thrown(() => parseConnections('0:1, 2-3', 4, 4), 'bad-syntax')).toContain('"2-3"');
    expect(thrown(() => parseConnections('foo:3', 4, 4), 'bad-syntax')).toContain('"foo:3"');
    expect(thrown(() => parseConnections('0:1,,2:2', 4, 4), 'bad-syntax')).toContain('connection 2');
    expect(thrown(() => parseConnections('  ', 4, 4), 'empty-connections')).toContain('empty');
    expect(thrown(() => parseConnections('0:1, 2:2, e:1, 0:1', 4, 4), 'duplicate-connection')).toBe(
      'connection 0:1 is listed twice',
    );
    expect(thrown(() => parseConnections('uniform:0', 4, 4), 'bad-preset')).toContain('positive integer N, found "0"');
    expect(thrown(() => parseConnections('uniform:2.5', 4, 4), 'bad-preset')).toContain('"2.5"');
    expect(thrown(() => parseConnections('every:-1', 4, 4), 'bad-preset')).toContain('positive integer K');
    expect(thrown(() => parseConnections('uniform:7', 4, 6), 'bad-preset')).toContain('at most uniform:6');
    expect(thrown(() => parseConnections('every:5', 4, 6), 'bad-preset')).toBe(
      'every:5 connects every 5th block but the anchor has only 4 blocks, so at most every:4',
    );
  });
});

describe('validateConnections / validateHeads', () => {
  it('accepts valid lists and rejects non-integers and empty lists', () => {
    expect(() => validateConnections([[-1, -1], [3, 2]], 4, 3)).not.toThrow();
    thrown(() => validateConnections([], 4, 3), 'empty-connections');
    thrown(() => validateConnections([[0.5, 1]], 4, 3), 'bad-syntax');
  });

  it('names the file and the connection index for a bundle', () => {
    expect(thrown(() => validateConnections([[0, 0], [1, 1], [9, 0]], 4, 3, { file: 'composition.json' }), 'layer-out-of-range')).toBe(
      'composition.json: connection 2 points at anchor layer 9 but the anchor has 4 blocks (0–3, or -1 for the embedding output)',
    );
  });

  it('requires h ≥ 1 dividing D_a', () => {
    expect(() => validateHeads(4, 48)).not.toThrow();
    expect(() => validateHeads(48, 48)).not.toThrow();
    expect(thrown(() => validateHeads(5, 48), 'bad-heads')).toContain('num_heads 5 does not divide the anchor width 48');
    thrown(() => validateHeads(0, 48), 'bad-heads');
    thrown(() => validateHeads(1.5, 48), 'bad-heads');
  });
});

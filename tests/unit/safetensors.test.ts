import { describe, it, expect } from 'vitest';
import { parseSafetensors, writeSafetensors } from '../../src/io/safetensors';
import { SafetensorsError, errorMessage } from '../../src/io/errors';

const FILE = 'test.safetensors';

/** A safetensors file from a header (object or raw text) and a data section, unpadded. */
function build(header: unknown, data: Uint8Array = new Uint8Array(0), lengthOverride?: number): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  const dv = new DataView(out.buffer);
  const n = lengthOverride ?? json.length;
  dv.setUint32(0, n % 2 ** 32, true);
  dv.setUint32(4, Math.floor(n / 2 ** 32), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** The SafetensorsError that parsing `bytes` throws. */
function parseError(bytes: Uint8Array, opts?: { maxHeaderBytes?: number }): SafetensorsError {
  try {
    parseSafetensors(bytes, FILE, opts);
  } catch (e) {
    expect(e).toBeInstanceOf(SafetensorsError);
    const err = e as SafetensorsError;
    expect(err.file).toBe(FILE);
    expect(err.message).toContain(FILE);
    expect(err.message).not.toContain('\n');
    return err;
  }
  throw new Error('expected parseSafetensors to throw');
}

describe('writeSafetensors / parseSafetensors', () => {
  it('round-trips F32 tensors and metadata', () => {
    const a = Float32Array.from({ length: 6 }, (_, i) => i * 0.5 - 1);
    const b = new Float32Array([3.25]);
    const empty = new Float32Array(0);
    const bytes = writeSafetensors(
      { 'z.b': { shape: [1], data: b }, 'a.w': { shape: [2, 3], data: a }, empty: { shape: [0, 4], data: empty } },
      { format: 'pt' },
    );
    const header = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(header % 8).toBe(0); // data section 8-aligned
    const headerText = new TextDecoder().decode(bytes.subarray(8, 8 + header));
    // Sorted names: a.w, empty, z.b, each data_offsets following the previous.
    expect(headerText.indexOf('"a.w"')).toBeLessThan(headerText.indexOf('"empty"'));
    expect(headerText.indexOf('"empty"')).toBeLessThan(headerText.indexOf('"z.b"'));

    const f = parseSafetensors(bytes, FILE);
    expect(f.metadata).toEqual({ format: 'pt' });
    expect([...f.tensors.keys()].sort()).toEqual(['a.w', 'empty', 'z.b']);
    expect(f.tensors.get('a.w')).toEqual({ dtype: 'F32', shape: [2, 3], data: a });
    expect(f.tensors.get('z.b')!.data).toEqual(b);
    expect(f.tensors.get('empty')!.shape).toEqual([0, 4]);
    expect(f.tensors.get('empty')!.data.length).toBe(0);
  });

  it('parses a file given as a subarray of a larger buffer', () => {
    const bytes = writeSafetensors({ x: { shape: [3], data: new Float32Array([1, 2, 3]) } });
    const big = new Uint8Array(bytes.length + 3);
    big.set(bytes, 1); // byteOffset 1: every tensor is now misaligned in the underlying buffer
    const f = parseSafetensors(big.subarray(1, 1 + bytes.length), FILE);
    expect(Array.from(f.tensors.get('x')!.data)).toEqual([1, 2, 3]);
  });

  it('rejects writing data that does not match its shape or a reserved name', () => {
    expect(() => writeSafetensors({ x: { shape: [2, 2], data: new Float32Array(3) } })).toThrow(SafetensorsError);
    expect(() => writeSafetensors({ __metadata__: { shape: [1], data: new Float32Array(1) } })).toThrow(/reserved/);
  });
});

describe('dtype conversion', () => {
  it('converts F16 exactly, including subnormals, ±0, inf and nan', () => {
    const halves = [0x3c00, 0xc000, 0x3555, 0x0001, 0x03ff, 0x0400, 0x7bff, 0x8000, 0x7c00, 0xfc00, 0x7e00, 0x8001];
    const expected = [
      1,
      -2,
      0.333251953125,
      2 ** -24, // smallest subnormal
      1023 * 2 ** -24, // largest subnormal
      2 ** -14, // smallest normal
      65504, // largest finite
      -0,
      Infinity,
      -Infinity,
      NaN,
      -(2 ** -24),
    ];
    const data = bytesOf(new Uint16Array(halves));
    const f = parseSafetensors(build({ h: { dtype: 'F16', shape: [halves.length], data_offsets: [0, data.length] } }, data), FILE);
    const t = f.tensors.get('h')!;
    expect(t.dtype).toBe('F16');
    expect(t.data).toBeInstanceOf(Float32Array);
    expected.forEach((v, i) => expect(Object.is(t.data[i], v), `index ${i}: ${t.data[i]} vs ${v}`).toBe(true));
  });

  it('converts BF16 exactly, including subnormals, inf and nan', () => {
    const halves = [0x3f80, 0xc040, 0x4049, 0x0001, 0x8000, 0x7f80, 0xff80, 0x7fc0, 0x7f7f];
    const expected = [1, -3, 3.140625, 2 ** -133, -0, Infinity, -Infinity, NaN, 3.3895313892515355e38];
    const data = bytesOf(new Uint16Array(halves));
    const t = parseSafetensors(build({ b: { dtype: 'BF16', shape: [3, 3], data_offsets: [0, 18] } }, data), FILE).tensors.get('b')!;
    expect(t.shape).toEqual([3, 3]);
    expected.forEach((v, i) => expect(Object.is(t.data[i], v), `index ${i}: ${t.data[i]} vs ${v}`).toBe(true));
  });

  it('converts F64 to the nearest F32', () => {
    const data = bytesOf(new Float64Array([0.1, -1e300, 2]));
    const t = parseSafetensors(build({ d: { dtype: 'F64', shape: [3], data_offsets: [0, 24] } }, data), FILE).tensors.get('d')!;
    expect(Array.from(t.data)).toEqual([Math.fround(0.1), -Infinity, 2]);
  });

  it('reads I64, I32, U8 and BOOL buffers (GPT-2 attn.bias masks)', () => {
    const i64 = bytesOf(new BigInt64Array([1n, -1n, 2147483647n, -2147483648n]));
    const i32 = bytesOf(new Int32Array([7, -7]));
    const u8 = new Uint8Array([0, 1, 1, 0]);
    const data = new Uint8Array([...i64, ...i32, ...u8, ...u8]);
    const f = parseSafetensors(
      build(
        {
          ids: { dtype: 'I64', shape: [4], data_offsets: [0, 32] },
          n: { dtype: 'I32', shape: [2], data_offsets: [32, 40] },
          'h.0.attn.bias': { dtype: 'U8', shape: [1, 1, 2, 2], data_offsets: [40, 44] },
          mask: { dtype: 'BOOL', shape: [2, 2], data_offsets: [44, 48] },
        },
        data,
      ),
      FILE,
    );
    expect(f.tensors.get('ids')!.data).toEqual(new Int32Array([1, -1, 2147483647, -2147483648]));
    expect(f.tensors.get('n')!.data).toEqual(new Int32Array([7, -7]));
    expect(f.tensors.get('h.0.attn.bias')!.data).toEqual(u8);
    expect(f.tensors.get('mask')!.data).toEqual(u8);
  });

  it('rejects an I64 value that does not fit in int32', () => {
    const data = bytesOf(new BigInt64Array([0n, 2147483648n]));
    const err = parseError(build({ pos: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, data));
    expect(err.code).toBe('int-overflow');
    expect(err.tensor).toBe('pos');
    expect(err.message).toContain('"pos"');
    expect(err.message).toContain('2147483648');
  });

  it('copies misaligned data instead of viewing it', () => {
    // Header of odd length, no padding: the data section starts at an odd byte.
    const values = new Float32Array([1.5, -2.25, 1e-30]);
    const halves = new Uint16Array([0x3c00, 0x4000]);
    const ints = new BigInt64Array([5n, -6n]);
    let header = JSON.stringify({
      f: { dtype: 'F32', shape: [3], data_offsets: [0, 12] },
      h: { dtype: 'F16', shape: [2], data_offsets: [12, 16] },
      i: { dtype: 'I64', shape: [2], data_offsets: [16, 32] },
      g: { dtype: 'F32', shape: [1], data_offsets: [33, 37] }, // odd offset inside the section too
    });
    if (header.length % 2 === 0) header += ' ';
    const data = new Uint8Array(37);
    data.set(bytesOf(values), 0);
    data.set(bytesOf(halves), 12);
    data.set(bytesOf(ints), 16);
    data.set(bytesOf(new Float32Array([42])), 33);
    const bytes = build(header, data);
    expect((8 + header.length) % 2).toBe(1);
    const f = parseSafetensors(bytes, FILE);
    expect(f.tensors.get('f')!.data).toEqual(values);
    expect(Array.from(f.tensors.get('h')!.data)).toEqual([1, 2]);
    expect(Array.from(f.tensors.get('i')!.data)).toEqual([5, -6]);
    expect(Array.from(f.tensors.get('g')!.data)).toEqual([42]);
    // A copy: it does not share the file's buffer.
    expect(f.tensors.get('f')!.data.buffer).not.toBe(bytes.buffer);
  });

  it('does not take Object.prototype keys for dtypes or lose a "__proto__" tensor', () => {
    const err = parseError(build({ q: { dtype: 'constructor', shape: [2], data_offsets: [0, 2] } }, new Uint8Array(2)));
    expect(err.code).toBe('unsupported-dtype');
    const f = parseSafetensors(build('{"__proto__": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]}}', new Uint8Array([3, 4])), FILE);
    expect(Array.from(f.tensors.get('__proto__')!.data)).toEqual([3, 4]);
  });

  it('rejects an unknown dtype, naming tensor and dtype', () => {
    const err = parseError(build({ q: { dtype: 'F8_E4M3', shape: [2], data_offsets: [0, 2] } }, new Uint8Array(2)));
    expect(err.code).toBe('unsupported-dtype');
    expect(err.tensor).toBe('q');
    expect(err.message).toContain('"q"');
    expect(err.message).toContain('F8_E4M3');
  });
});

describe('malformed files', () => {
  const entry = (over: Record<string, unknown>) => ({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8], ...over } });

  it('rejects a file shorter than 8 bytes', () => {
    expect(parseError(new Uint8Array(5)).code).toBe('too-short');
    expect(parseError(new Uint8Array(0)).code).toBe('too-short');
  });

  it('rejects a header length above the bound without reading it', () => {
    // 16 bytes that claim a 1 TB header: rejected from the length alone.
    const huge = new Uint8Array(16);
    new DataView(huge.buffer).setBigUint64(0, 2n ** 40n, true);
    expect(parseError(huge).code).toBe('header-too-large');
    const max = new Uint8Array(16);
    new DataView(max.buffer).setBigUint64(0, 2n ** 64n - 1n, true);
    expect(parseError(max).code).toBe('header-too-large');
    // A real header just above a caller's bound.
    const bytes = writeSafetensors({ x: { shape: [1], data: new Float32Array(1) } });
    const err = parseError(bytes, { maxHeaderBytes: 16 });
    expect(err.code).toBe('header-too-large');
    expect(err.message).toContain('16');
  });

  it('rejects a header length beyond the end of the file', () => {
    const bytes = build(entry({}), new Uint8Array(8));
    const err = parseError(build(entry({}), new Uint8Array(8), bytes.length));
    expect(err.code).toBe('truncated-header');
    expect(err.message).toMatch(/truncated/);
  });

  it('rejects a header that is not JSON, not UTF-8 or not an object', () => {
    expect(parseError(build('{"w": {"dtype": ')).code).toBe('bad-json');
    const notUtf8 = build('{"a":1}');
    notUtf8[10] = 0xff;
    expect(parseError(notUtf8).code).toBe('bad-json');
    expect(parseError(build('[1, 2]')).code).toBe('bad-header');
    expect(parseError(build('null')).code).toBe('bad-header');
    expect(parseError(build('"x"')).code).toBe('bad-header');
  });

  it.each([
    ['bad-entry', { w: 5 }],
    ['bad-entry', { w: [1, 2] }],
    ['bad-dtype', { w: { shape: [2], data_offsets: [0, 8] } }],
    ['bad-dtype', entry({ dtype: 4 })],
    ['bad-shape', entry({ shape: undefined })],
    ['bad-shape', entry({ shape: [-2] })],
    ['bad-shape', entry({ shape: [2.5] })],
    ['bad-shape', entry({ shape: ['2'] })],
    ['bad-shape', entry({ shape: [2 ** 60] })],
    ['bad-shape', entry({ shape: 2 })],
    ['bad-offsets', entry({ data_offsets: undefined })],
    ['bad-offsets', entry({ data_offsets: [0] })],
    ['bad-offsets', entry({ data_offsets: [0, 8, 9] })],
    ['bad-offsets', entry({ data_offsets: [-8, 0] })],
    ['bad-offsets', entry({ data_offsets: [0, '8'] })],
    ['reversed-offsets', entry({ data_offsets: [8, 0] })],
    ['truncated', entry({ data_offsets: [0, 16], shape: [4] })],
    ['truncated', entry({ data_offsets: [2 ** 52, 2 ** 52 + 8] })],
    ['size-mismatch', entry({ shape: [3] })],
    ['size-mismatch', entry({ shape: [1, 1] })],
    ['size-mismatch', entry({ dtype: 'F16' })],
    ['size-mismatch', entry({ shape: [2 ** 30, 2 ** 30, 2 ** 30] })],
  ])('rejects %s: %j', (code, header) => {
    const err = parseError(build(header, new Uint8Array(8)));
    expect(err.code).toBe(code);
    expect(err.tensor).toBe('w');
    expect(err.message).toContain('"w"');
  });

  it('rejects a tensor whose end lies past a truncated data section', () => {
    const good = writeSafetensors({ a: { shape: [4], data: new Float32Array(4) }, b: { shape: [4], data: new Float32Array(4) } });
    const err = parseError(good.subarray(0, good.length - 1));
    expect(err.code).toBe('truncated');
    expect(err.tensor).toBe('b');
    expect(errorMessage(err)).toMatch(/truncated/);
  });

  it('rejects overlapping tensors, naming both', () => {
    const err = parseError(
      build(
        {
          a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
          b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
        },
        new Uint8Array(12),
      ),
    );
    expect(err.code).toBe('overlap');
    expect(err.message).toContain('"a"');
    expect(err.message).toContain('"b"');
    // Identical ranges overlap too; empty tensors at the same offset do not.
    expect(parseError(build({ a: entry({}).w, b: entry({}).w }, new Uint8Array(8))).code).toBe('overlap');
    const ok = parseSafetensors(
      build(
        { a: { dtype: 'F32', shape: [0], data_offsets: [4, 4] }, b: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } },
        new Uint8Array(8),
      ),
      FILE,
    );
    expect(ok.tensors.size).toBe(2);
  });

  it('rejects __metadata__ that is not {string: string}', () => {
    expect(parseError(build({ __metadata__: { format: 1 } })).code).toBe('bad-metadata');
    expect(parseError(build({ __metadata__: ['pt'] })).code).toBe('bad-metadata');
    expect(parseError(build({ __metadata__: 'pt' })).code).toBe('bad-metadata');
    expect(parseSafetensors(build({ __metadata__: { format: 'pt' } }), FILE).metadata).toEqual({ format: 'pt' });
  });

  it('keeps a hostile tensor name to one short line', () => {
    const name = `evil\nname${'x'.repeat(5000)}`;
    const err = parseError(build({ [name]: { dtype: 'F32', shape: [2], data_offsets: [0, 9] } }, new Uint8Array(9)));
    expect(err.code).toBe('size-mismatch');
    expect(err.tensor).toBe(name);
    expect(err.message.length).toBeLessThan(400);
    expect(err.message).toContain('evil\\nname');
  });

  it('parses a few-MB file', () => {
    const n = 1 << 20; // 4 MB of F32, 2 MB of F16
    const big = Float32Array.from({ length: n }, (_, i) => (i % 1000) / 1000);
    const f16 = new Uint16Array(n).fill(0x3c00);
    const f = parseSafetensors(writeSafetensors({ big: { shape: [1024, 1024], data: big } }), FILE);
    const got = f.tensors.get('big')!.data;
    expect(got.length).toBe(n);
    expect(got.every((v, i) => v === big[i])).toBe(true);
    const g = parseSafetensors(build({ h: { dtype: 'F16', shape: [n], data_offsets: [0, 2 * n] } }, bytesOf(f16)), FILE);
    expect(g.tensors.get('h')!.data.every((v) => v === 1)).toBe(true);
  });
});

// safetensors reader and writer (docs/design.md § Files). Layout: u64 little-endian header length N,
// N bytes of UTF-8 JSON {name: {dtype, shape, data_offsets: [begin, end)}, "__metadata__"?},
// then the data section; offsets are relative to the data section's start.
// Every file is untrusted: each check below is a typed SafetensorsError naming the tensor,
// and no read happens before the bytes it touches are known to lie inside the file.
//
// Assumes a little-endian host (every browser and Node platform in use), so aligned data is
// viewed in place rather than decoded element by element.

import { quote, SafetensorsError, type SafetensorsErrorCode } from './errors';

export interface RawTensor {
  dtype: string; // as written in the file: 'F32', 'F16', 'BF16', 'I64', ...
  shape: number[];
  /**
   * Floats (F64/F32/F16/BF16) → Float32Array; I64/I32/I16/I8 → Int32Array; U8/BOOL → Uint8Array.
   * Aligned F32/I32/U8 data is a view into the parsed bytes, not a copy.
   */
  data: Float32Array | Int32Array | Uint8Array;
}

export interface SafetensorsFile {
  tensors: Map<string, RawTensor>; // in file order of the header
  metadata: Record<string, string>;
}

export interface ParseOptions {
  /** Upper bound on the JSON header, checked before anything is decoded. Default 100 MB. */
  maxHeaderBytes?: number;
}

export const DEFAULT_MAX_HEADER_BYTES = 100_000_000;

/** Element sizes in bytes of the dtypes we read. */
const DTYPE_SIZE: Record<string, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

function failer(file: string) {
  return (code: SafetensorsErrorCode, msg: string, tensor?: string): never => {
    throw new SafetensorsError(code, file, `${file}: ${msg}`, tensor);
  };
}

/** N, the JSON header's length, from the file's first 8 bytes (checked against `maxHeaderBytes`). */
export function safetensorsHeaderLength(first: Uint8Array, file: string, opts: ParseOptions = {}): number {
  const maxHeader = opts.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
  const fail = failer(file);
  if (first.length < 8) {
    fail('too-short', `${first.length} bytes is too short for a safetensors file (it starts with an 8-byte header length)`);
  }
  const dv = new DataView(first.buffer, first.byteOffset, first.byteLength);
  // u64 as two u32 halves: a non-zero high half is already far beyond any bound.
  const lo = dv.getUint32(0, true);
  const hi = dv.getUint32(4, true);
  const headerLen = hi * 2 ** 32 + lo;
  if (hi !== 0 || headerLen > maxHeader) {
    fail(
      'header-too-large',
      `header length ${headerLen} exceeds the limit of ${maxHeader} bytes; the file is corrupt or not a safetensors file`,
    );
  }
  return headerLen;
}

/**
 * The JSON header as an object, from the file's first 8 + N bytes (or more): enough to list the
 * tensors without the data (the page reads only these bytes of a model to count its parameters).
 */
export function readSafetensorsHeader(bytes: Uint8Array, file: string, opts: ParseOptions = {}): Record<string, unknown> {
  const fail = failer(file);
  const headerLen = safetensorsHeaderLength(bytes, file, opts);
  if (8 + headerLen > bytes.length) {
    fail(
      'truncated-header',
      `header length ${headerLen} runs past the end of the ${bytes.length}-byte file; the file is truncated (download it again)`,
    );
  }
  let header: unknown;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen));
    header = JSON.parse(text);
  } catch (e) {
    fail('bad-json', `the header is not valid UTF-8 JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    fail('bad-header', 'the header is not a JSON object');
  }
  return header as Record<string, unknown>;
}

export function parseSafetensors(bytes: Uint8Array, file: string, opts: ParseOptions = {}): SafetensorsFile {
  const fail = failer(file);
  const entries = readSafetensorsHeader(bytes, file, opts);
  const headerLen = safetensorsHeaderLength(bytes, file, opts); // read above: the header lies inside the file

  const dataStart = 8 + headerLen; // index into `bytes`
  const dataLen = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const specs: { name: string; dtype: string; shape: number[]; begin: number; end: number }[] = [];

  for (const name of Object.keys(entries)) {
    const entry = entries[name];
    if (name === '__metadata__') {
      if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
        fail('bad-metadata', '__metadata__ is not an object of strings');
      }
      for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof v !== 'string') fail('bad-metadata', `__metadata__ value ${quote(k)} is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const q = quote(name);
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
      fail('bad-entry', `tensor ${q}: its header entry is not an object`, name);
    }
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    if (typeof dtype !== 'string') fail('bad-dtype', `tensor ${q}: dtype is missing or not a string`, name);
    // hasOwn, not a lookup: a dtype of "constructor" must not find Object.prototype's.
    if (!Object.hasOwn(DTYPE_SIZE, dtype as string)) {
      fail(
        'unsupported-dtype',
        `tensor ${q}: dtype ${quote(dtype as string)} is not supported (supported: ${Object.keys(DTYPE_SIZE).join(', ')})`,
        name,
      );
    }
    if (!Array.isArray(shape) || !shape.every(isCount)) {
      fail('bad-shape', `tensor ${q}: shape must be a list of non-negative integers`, name);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
      fail('bad-offsets', `tensor ${q}: data_offsets must be two non-negative integers [begin, end]`, name);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end) fail('reversed-offsets', `tensor ${q}: data_offsets [${begin}, ${end}] has begin > end`, name);
    if (end > dataLen) {
      fail(
        'truncated',
        `tensor ${q}: data_offsets end ${end} lies beyond the ${dataLen}-byte data section; the file is truncated (download it again)`,
        name,
      );
    }
    const size = DTYPE_SIZE[dtype as string];
    const count = elementCount(shape as number[]);
    if (count * size !== end - begin) {
      fail(
        'size-mismatch',
        `tensor ${q}: ${dtype} shape [${(shape as number[]).join(', ')}] needs ${count * size} bytes but data_offsets span ${end - begin}`,
        name,
      );
    }
    specs.push({ name, dtype: dtype as string, shape: (shape as number[]).slice(), begin, end });
  }

  // Overlap: sort the non-empty ranges and compare neighbours; O(n log n).
  const ranges = specs.filter((s) => s.end > s.begin).sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < ranges.length; i++) {
    const a = ranges[i - 1];
    const b = ranges[i];
    if (b.begin < a.end) {
      fail(
        'overlap',
        `tensor ${quote(b.name)} [${b.begin}, ${b.end}) overlaps tensor ${quote(a.name)} [${a.begin}, ${a.end})`,
        b.name,
      );
    }
  }

  const tensors = new Map<string, RawTensor>();
  for (const s of specs) {
    const raw = bytes.subarray(dataStart + s.begin, dataStart + s.end);
    tensors.set(s.name, { dtype: s.dtype, shape: s.shape, data: decode(raw, s.dtype, (m) => fail('int-overflow', `tensor ${quote(s.name)}: ${m}`, s.name)) });
  }
  return { tensors, metadata };
}

/** Writes F32 tensors in sorted name order; the header is space-padded so data starts 8-aligned. */
export function writeSafetensors(
  tensors: Record<string, { shape: number[]; data: Float32Array }>,
  metadata?: Record<string, string>,
): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) header.__metadata__ = { ...metadata };
  let offset = 0;
  for (const name of names) {
    const { shape, data } = tensors[name];
    const bad = (msg: string): never => {
      throw new SafetensorsError('bad-tensor', '(writing)', `cannot write tensor ${quote(name)}: ${msg}`, name);
    };
    if (name === '__metadata__') bad('the name __metadata__ is reserved');
    if (!(data instanceof Float32Array)) bad('data is not a Float32Array');
    if (!Array.isArray(shape) || !shape.every(isCount)) bad('shape must be a list of non-negative integers');
    if (elementCount(shape) !== data.length) bad(`shape [${shape.join(', ')}] does not hold ${data.length} values`);
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20); // JSON allows trailing whitespace
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + offset);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, json.length, true);
  dv.setUint32(4, Math.floor(json.length / 2 ** 32), true);
  out.set(json, 8);
  let pos = 8 + json.length;
  for (const name of names) {
    const d = tensors[name].data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), pos);
    pos += d.byteLength;
  }
  return out;
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Product of the dims; an unrepresentable product becomes Infinity so no size can match it. */
function elementCount(shape: number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return Number.isSafeInteger(n) ? n : Infinity;
}

/**
 * `raw` as an ArrayBuffer slice that a typed array of element size `size` may view: the
 * bytes themselves when aligned, else a copy (typed arrays cannot view misaligned bytes).
 */
function aligned(raw: Uint8Array, size: number): { buffer: ArrayBufferLike; offset: number } {
  if (raw.byteOffset % size === 0) return { buffer: raw.buffer, offset: raw.byteOffset };
  return { buffer: raw.slice().buffer, offset: 0 };
}

function decode(raw: Uint8Array, dtype: string, overflow: (msg: string) => never): RawTensor['data'] {
  switch (dtype) {
    case 'F32': {
      const { buffer, offset } = aligned(raw, 4);
      return new Float32Array(buffer, offset, raw.length / 4);
    }
    case 'F64': {
      const { buffer, offset } = aligned(raw, 8);
      return Float32Array.from(new Float64Array(buffer, offset, raw.length / 8)); // rounds to nearest f32
    }
    case 'F16': {
      const { buffer, offset } = aligned(raw, 2);
      const src = new Uint16Array(buffer, offset, raw.length / 2);
      const out = new Float32Array(src.length);
      // Written as bit patterns so NaN payloads and -0 survive exactly.
      const bits = new Uint32Array(out.buffer);
      const table = f16Table();
      for (let i = 0; i < src.length; i++) bits[i] = table[src[i]];
      return out;
    }
    case 'BF16': {
      // bf16 is the top half of an f32: shifting the bits back is exact.
      const { buffer, offset } = aligned(raw, 2);
      const src = new Uint16Array(buffer, offset, raw.length / 2);
      const out = new Float32Array(src.length);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < src.length; i++) bits[i] = src[i] << 16;
      return out;
    }
    case 'I32': {
      const { buffer, offset } = aligned(raw, 4);
      return new Int32Array(buffer, offset, raw.length / 4);
    }
    case 'I64': {
      // Read as (lo, hi) int32 pairs: the value fits in int32 iff hi is lo's sign extension.
      const { buffer, offset } = aligned(raw, 4);
      const pairs = new Int32Array(buffer, offset, raw.length / 4);
      const out = new Int32Array(pairs.length / 2);
      for (let i = 0; i < out.length; i++) {
        const l = pairs[2 * i];
        const h = pairs[2 * i + 1];
        if (h !== l >> 31) {
          const v = (BigInt(h) << 32n) | BigInt(l >>> 0);
          overflow(`I64 value ${v} at index ${i} does not fit in int32`);
        }
        out[i] = l;
      }
      return out;
    }
    case 'I16': {
      const { buffer, offset } = aligned(raw, 2);
      return Int32Array.from(new Int16Array(buffer, offset, raw.length / 2));
    }
    case 'I8':
      // Int32Array rather than Uint8Array so that negative values keep their sign.
      return Int32Array.from(new Int8Array(raw.buffer, raw.byteOffset, raw.length));
    case 'U8':
    case 'BOOL':
      return raw;
    default:
      // Unreachable: dtypes are checked against DTYPE_SIZE before decoding.
      throw new Error(`no decoder for dtype ${dtype}`);
  }
}

let F16_TABLE: Uint32Array | undefined;

/** f32 bit pattern of every f16 bit pattern (65536 entries, built once). */
function f16Table(): Uint32Array {
  if (F16_TABLE) return F16_TABLE;
  const t = new Uint32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >> 10) & 0x1f;
    let mant = h & 0x3ff;
    if (exp === 0) {
      if (mant === 0) {
        t[h] = sign; // ±0
      } else {
        // Subnormal m·2^-24: shift the mantissa up until its implicit bit appears.
        let e = 1;
        while ((mant & 0x400) === 0) {
          mant <<= 1;
          e--;
        }
        t[h] = sign | ((e - 15 + 127) << 23) | ((mant & 0x3ff) << 13);
      }
    } else if (exp === 0x1f) {
      t[h] = sign | 0x7f800000 | (mant << 13); // inf (mant 0) or NaN, payload kept
    } else {
      t[h] = sign | ((exp - 15 + 127) << 23) | (mant << 13);
    }
  }
  F16_TABLE = t;
  return t;
}

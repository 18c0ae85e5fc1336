// A composition as one file: the bundle of DESIGN §2 (composition.json, bridge.safetensors)
// zipped with fflate, plus the examples it trained on when they are not the defaults.
// Import takes that zip, or the two bundle files picked or dropped together.
import { unzipSync, zipSync, strFromU8, strToU8 } from 'fflate';
import type { BundleFiles } from '../worker/protocol';

export const BUNDLE_EXTENSION = '.calm.zip';
/** Bundles past this are refused before unzipping (a bridge for the built-in models is ~1 MB). */
export const MAX_BUNDLE_BYTES = 512 * 1024 * 1024;

export interface BundleFile extends BundleFiles {
  examplesText?: string;
}

export function zipBundle(b: BundleFile): Uint8Array {
  const files: Record<string, Uint8Array> = {
    'composition.json': strToU8(b.composition),
    'bridge.safetensors': new Uint8Array(b.bridge.slice(0)),
  };
  if (b.examplesText != null) files['examples.txt'] = strToU8(b.examplesText);
  return zipSync(files, { level: 6, mtime: new Date(2024, 0, 1) });
}

export interface PickedFile {
  name: string;
  bytes: ArrayBuffer;
}

function copyOut(u: Uint8Array): ArrayBuffer {
  return u.slice().buffer as ArrayBuffer;
}

/** The bundle in a zip, or in the files picked together; throws a message naming what is missing. */
export function readBundleFiles(files: PickedFile[]): BundleFile {
  if (files.length === 0) throw new Error('no file was chosen');
  for (const f of files) {
    if (f.bytes.byteLength > MAX_BUNDLE_BYTES) throw new Error(`${f.name} is too large for a composition bundle (${f.bytes.byteLength} bytes)`);
  }
  let entries: Record<string, Uint8Array>;
  const zip = files.find((f) => /\.zip$/i.test(f.name) || isZip(f.bytes));
  if (zip) {
    try {
      entries = unzipSync(new Uint8Array(zip.bytes));
    } catch (e) {
      throw new Error(`${zip.name} is not a readable zip file (${e instanceof Error ? e.message : String(e)})`, { cause: e });
    }
    // A zip made by hand may hold the files in a folder.
    entries = Object.fromEntries(Object.entries(entries).map(([k, v]) => [k.split('/').at(-1)!, v]));
  } else {
    entries = Object.fromEntries(files.map((f) => [f.name, new Uint8Array(f.bytes)]));
  }
  const from = zip ? `${zip.name}` : 'the chosen files';
  const composition = entries['composition.json'];
  const bridge = entries['bridge.safetensors'];
  const missing = [!composition && 'composition.json', !bridge && 'bridge.safetensors'].filter(Boolean);
  if (missing.length > 0) throw new Error(`${from} ${missing.length > 1 ? 'lack' : 'lacks'} ${missing.join(' and ')}: a composition bundle needs both`);
  const examples = entries['examples.txt'];
  return {
    composition: strFromU8(composition),
    bridge: copyOut(bridge),
    ...(examples ? { examplesText: strFromU8(examples) } : {}),
  };
}

function isZip(b: ArrayBuffer): boolean {
  const u = new Uint8Array(b, 0, Math.min(4, b.byteLength));
  return u.length === 4 && u[0] === 0x50 && u[1] === 0x4b && u[2] === 0x03 && u[3] === 0x04;
}

/** A file name from a composition's name. */
export function bundleFileName(name: string): string {
  const base = name.replace(/[^\w.-]+/g, '-').replace(/^-+|-+$/g, '') || 'composition';
  return base + BUNDLE_EXTENSION;
}

/** The free-form parts of composition.json that the page shows (`training`, `metrics`); the worker checks the rest. */
export function readManifest(text: string): { metrics?: Record<string, unknown>; training?: Record<string, unknown> } {
  try {
    const json = JSON.parse(text) as { metrics?: unknown; training?: unknown };
    const obj = (v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
    return { metrics: obj(json.metrics), training: obj(json.training) };
  } catch {
    return {};
  }
}

// A composition as one file in the page: the zip of src/io/bundle-zip.ts (composition.json,
// bridge.safetensors, and the examples it trained on when they are not the defaults).
// Import takes that zip, or the two bundle files picked or dropped together.
import { BUNDLE_EXTENSION, MAX_BUNDLE_BYTES, bundleFromEntries, isZip, unzipFiles, zipBundleFiles } from '../io/bundle-zip';
import type { BundleFiles } from '../worker/protocol';

export { BUNDLE_EXTENSION, MAX_BUNDLE_BYTES };

export interface BundleFile extends BundleFiles {
  examplesText?: string;
}

export function zipBundle(b: BundleFile): Uint8Array {
  return zipBundleFiles({ ...b, bridge: new Uint8Array(b.bridge.slice(0)) });
}

export interface PickedFile {
  name: string;
  bytes: ArrayBuffer;
}

/** The bundle in a zip, or in the files picked together; throws a message naming what is missing. */
export function readBundleFiles(files: PickedFile[]): BundleFile {
  if (files.length === 0) throw new Error('no file was chosen');
  for (const f of files) {
    if (f.bytes.byteLength > MAX_BUNDLE_BYTES) throw new Error(`${f.name} is too large for a composition bundle (${f.bytes.byteLength} bytes)`);
  }
  const zip = files.find((f) => /\.zip$/i.test(f.name) || isZip(new Uint8Array(f.bytes)));
  const entries = zip ? unzipFiles(new Uint8Array(zip.bytes), zip.name) : Object.fromEntries(files.map((f) => [f.name, new Uint8Array(f.bytes)]));
  const b = bundleFromEntries(entries, zip ? zip.name : 'the chosen files');
  return { ...b, bridge: b.bridge.slice().buffer as ArrayBuffer };
}

/** A file name from a composition's name. */
export function bundleFileName(name: string): string {
  const base = name.replace(/[^\w.-]+/g, '-').replace(/^-+|-+$/g, '') || 'composition';
  return base + BUNDLE_EXTENSION;
}

/** The free-form parts of composition.json that the page shows (`training`, `metrics`); the worker checks the rest. */
export function readManifest(text: string): { metrics?: Record<string, unknown>; training?: Record<string, unknown>; alignment?: string } {
  try {
    const json = JSON.parse(text) as { metrics?: unknown; training?: unknown; alignment?: unknown };
    const obj = (v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
    return { metrics: obj(json.metrics), training: obj(json.training), ...(typeof json.alignment === 'string' ? { alignment: json.alignment } : {}) };
  } catch {
    return {};
  }
}

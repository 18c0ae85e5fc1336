// A composition as one file: the bundle of docs/design.md § Files (composition.json, bridge.safetensors)
// zipped with fflate, plus the examples it trained on (examples.txt) when the page exports it.
// The page exports and imports these; the CLI reads them wherever it reads a bundle folder.
import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate';

export const BUNDLE_EXTENSION = '.calm.zip';
/** Bundles past this are refused before unzipping (a bridge for the built-in models is ~1 MB). */
export const MAX_BUNDLE_BYTES = 512 * 1024 * 1024;

export interface ZippedBundle {
  composition: string;
  bridge: Uint8Array;
  examplesText?: string;
}

export function zipBundleFiles(b: ZippedBundle): Uint8Array {
  const files: Record<string, Uint8Array> = {
    'composition.json': strToU8(b.composition),
    'bridge.safetensors': b.bridge,
  };
  if (b.examplesText != null) files['examples.txt'] = strToU8(b.examplesText);
  return zipSync(files, { level: 6, mtime: new Date(2024, 0, 1) });
}

/** Whether the bytes start like a zip file (PK\x03\x04). */
export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}

/** The files of a zip by their base names (a zip made by hand may hold them in a folder); `name` is for messages. */
export function unzipFiles(bytes: Uint8Array, name: string): Record<string, Uint8Array> {
  if (bytes.byteLength > MAX_BUNDLE_BYTES) throw new Error(`${name} is too large for a composition bundle (${bytes.byteLength} bytes)`);
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes);
  } catch (e) {
    throw new Error(`${name} is not a readable zip file (${e instanceof Error ? e.message : String(e)})`, { cause: e });
  }
  return Object.fromEntries(Object.entries(entries).map(([k, v]) => [k.split('/').at(-1)!, v]));
}

/** The bundle among named files (a zip's or picked ones); throws a message naming what is missing. */
export function bundleFromEntries(entries: Record<string, Uint8Array>, from: string): ZippedBundle {
  const composition = entries['composition.json'];
  const bridge = entries['bridge.safetensors'];
  const missing = [!composition && 'composition.json', !bridge && 'bridge.safetensors'].filter(Boolean);
  if (missing.length > 0) throw new Error(`${from} ${missing.length > 1 ? 'lack' : 'lacks'} ${missing.join(' and ')}: a composition bundle needs both`);
  const examples = entries['examples.txt'];
  return { composition: strFromU8(composition), bridge, ...(examples ? { examplesText: strFromU8(examples) } : {}) };
}

// Composition bundles on disk (docs/design.md § Files): a folder with composition.json and
// bridge.safetensors, or the .calm.zip of both that the playground exports. A bundle names
// its models by built-in id or folder path.
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve as resolvePath } from 'node:path';
import { ModelLoadError } from '../io/errors';
import { BUNDLE_EXTENSION, bundleFromEntries, isZip, unzipFiles } from '../io/bundle-zip';
import { Composition } from '../calm/compose';
import { BRIDGE_FILE, COMPOSITION_FILE, compositionFromBundle, exportBundle, readBundleManifest, type BundleMeta, type ModelRef } from '../calm/bundle';
import type { ModelHandle } from '../calm/experiment';
import { withAlignment } from '../calm/bundle-manifest';
import type { Tokenizer } from '../tokenizer';
import type { CliBackend } from './command';
import { displayPath, resolveModel, type ResolvedModel } from './resolve';

/** A model as a bundle names it: the built-in id, or the folder relative to the bundle. */
export function modelRef(m: ResolvedModel, bundleDir: string): ModelRef {
  const base = { n_layer: m.config.nLayer, n_embd: m.config.nEmbd, vocab_size: m.config.vocabSize };
  if (m.builtin) return { id: m.builtin.id, ...base };
  return { path: relative(resolvePath(bundleDir), m.dir) || '.', ...base };
}

export function handleOf(m: ResolvedModel): ModelHandle {
  if (!m.tokenizer) throw new Error(`${m.name} has no tokenizer.json; composing needs both models' tokenizers`);
  return { name: m.name, model: m.model, tokenizer: m.tokenizer };
}

/** Writes a bundle; a composition across tokenizers needs both tokenizers (their digests are recorded). */
export async function writeBundle(dir: string, comp: Composition, meta: BundleMeta, tokenizers?: { anchor: Tokenizer; augment: Tokenizer }): Promise<void> {
  const files = await exportBundle(comp.spec, comp.bridges, await withAlignment(comp.alignment, tokenizers, meta));
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, COMPOSITION_FILE), files[COMPOSITION_FILE]);
  await writeFile(join(dir, BRIDGE_FILE), files[BRIDGE_FILE]);
}

export interface LoadedBundle {
  comp: Composition;
  anchor: ResolvedModel;
  augment: ResolvedModel;
  dispose(): void;
}

async function readFileOf(dir: string, name: string): Promise<Buffer> {
  try {
    return await readFile(join(dir, name));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ModelLoadError('missing-file', `${displayPath(join(dir, name))} not found: a bundle folder holds ${COMPOSITION_FILE} and ${BRIDGE_FILE}`);
    }
    throw e;
  }
}

/**
 * A bundle's two files: from a folder, or from the `.calm.zip` the playground exports (model
 * paths in it are relative to the zip's folder). `dir` is where relative model paths start.
 */
async function readBundleSource(path: string): Promise<{ compositionText: string; bridge: Uint8Array; dir: string }> {
  const info = await stat(path).catch(() => undefined);
  if (info?.isFile()) {
    const bytes = new Uint8Array(await readFile(path));
    if (!isZip(bytes)) {
      throw new ModelLoadError('missing-file', `${displayPath(path)} is a file but not a zip: a bundle is a folder with ${COMPOSITION_FILE} and ${BRIDGE_FILE}, or the ${BUNDLE_EXTENSION} file the playground exports`);
    }
    const b = bundleFromEntries(unzipFiles(bytes, displayPath(path)), displayPath(path));
    return { compositionText: b.composition, bridge: b.bridge, dir: dirname(path) };
  }
  const compositionText = (await readFileOf(path, COMPOSITION_FILE)).toString('utf8');
  const bridgeBytes = await readFileOf(path, BRIDGE_FILE);
  return { compositionText, bridge: new Uint8Array(bridgeBytes.buffer, bridgeBytes.byteOffset, bridgeBytes.byteLength), dir: path };
}

/** Reads a bundle (a folder, or a .calm.zip), loads the models it names and rebuilds the composition. */
export async function loadBundle(path: string, backend: CliBackend, tokenizer: 'required' | 'optional' = 'required'): Promise<LoadedBundle> {
  const { compositionText, bridge, dir } = await readBundleSource(path);
  const manifest = readBundleManifest(compositionText);
  const where = (ref: ModelRef) => {
    if (ref.id) return ref.id;
    const p = ref.path!;
    return isAbsolute(p) ? p : join(dir, p);
  };
  const anchor = await resolveModel(where(manifest.anchor), { backend, tokenizer, command: 'compose' });
  let augment: ResolvedModel | undefined;
  try {
    augment = await resolveModel(where(manifest.augment), { backend, tokenizer, command: 'compose' });
    const { comp } = await compositionFromBundle({ composition: compositionText, bridge }, anchor, augment);
    const aug = augment;
    return {
      comp,
      anchor,
      augment: aug,
      dispose() {
        comp.bridges.forEach((b) => Object.values(b).forEach((v) => v?.dispose()));
        anchor.dispose();
        aug.dispose();
      },
    };
  } catch (e) {
    anchor.dispose();
    augment?.dispose();
    throw e;
  }
}

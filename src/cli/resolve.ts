// `--model ID|DIR`: a built-in model id (public/models/index.json of this package) or a model
// folder in Hugging Face layout. Everything is read and checked (config, tokenizer,
// safetensors header, tensor names and shapes) before any tensor is made, so a malformed
// folder fails within moments with the loader's one-line message.
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve as resolvePath, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseBuiltinIndex, type BuiltinIndex, type BuiltinModel } from '../io/builtin';
import { ModelLoadError } from '../io/errors';
import { checkTokenizerVocab, modelFromTensors, parseConfig, type LoadedModel } from '../io/model-folder';
import { nodeFolderSource } from '../io/node-source';
import { readModelWeights } from '../io/shards';
import { filePath, type FileSource } from '../io/source';
import type { CausalLM, ModelConfig } from '../model/causal-lm';
import { Tokenizer } from '../tokenizer';
import { initBackend } from './backend';
import type { CliBackend } from './command';

/** The package root, found from this file (not from the working directory). */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const MODELS_DIR = join(PACKAGE_ROOT, 'public', 'models');
const INDEX_FILE = join(MODELS_DIR, 'index.json');

/** The built-in index; an absent index.json means no built-in models. */
export async function readBuiltinIndex(): Promise<BuiltinIndex> {
  let text: string;
  try {
    text = await readFile(INDEX_FILE, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { models: [] };
    throw new ModelLoadError('read-error', `${displayPath(INDEX_FILE)}: cannot read (${(e as Error).message})`, { file: INDEX_FILE });
  }
  return parseBuiltinIndex(parseJson(text, displayPath(INDEX_FILE)), displayPath(INDEX_FILE));
}

/** The folder of a built-in model. */
export function builtinDir(entry: BuiltinModel): string {
  return join(MODELS_DIR, ...entry.path.split('/'));
}

/** A path as messages show it: relative to the working directory when inside it. */
export function displayPath(p: string): string {
  const rel = relative(process.cwd(), p);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : rel === '' ? '.' : p;
}

export interface ModelLocation {
  /** The built-in id, or the folder as given. */
  name: string;
  dir: string; // absolute
  builtin?: BuiltinModel;
}

/** Where `--model` points, without reading the model. */
export async function locateModel(idOrDir: string): Promise<ModelLocation> {
  let index: BuiltinIndex | undefined;
  let indexError: unknown;
  try {
    index = await readBuiltinIndex();
  } catch (e) {
    indexError = e;
  }
  // A path-looking argument is always a folder, so a folder may share a built-in's name.
  const looksLikePath = idOrDir.includes('/') || idOrDir.includes(sep) || idOrDir.startsWith('.');
  const entry = looksLikePath ? undefined : index?.models.find((m) => m.id === idOrDir);
  if (entry) return { name: entry.id, dir: builtinDir(entry), builtin: entry };

  const dir = resolvePath(idOrDir);
  const info = await stat(dir).catch(() => undefined);
  if (info?.isDirectory()) return { name: idOrDir, dir };
  if (info) throw new ModelLoadError('missing-file', `${idOrDir} is a file, not a model folder (config.json, model.safetensors, tokenizer.json)`);
  if (indexError && !looksLikePath) throw indexError;
  const ids = index?.models.map((m) => m.id) ?? [];
  const known = ids.length ? `built-in: ${ids.join(', ')}` : 'no built-in models are listed yet';
  throw new ModelLoadError('missing-file', `no built-in model '${idOrDir}' and no folder ${idOrDir} (${known})`);
}

export interface ResolvedModel extends ModelLocation {
  loaded: LoadedModel;
  config: ModelConfig;
  model: CausalLM;
  /** Absent only when the folder has no tokenizer.json and the caller allowed that. */
  tokenizer?: Tokenizer;
  dispose(): void;
}

export interface ResolveOptions {
  backend: CliBackend;
  /** `required`: a folder without tokenizer.json is an error; `optional`: it loads without one. */
  tokenizer: 'required' | 'optional';
  /** The command, named in the message when a required tokenizer is missing. */
  command?: string;
}

/** Locates, reads, checks and loads a model; the caller disposes it. */
export async function resolveModel(idOrDir: string, opts: ResolveOptions): Promise<ResolvedModel> {
  const loc = await locateModel(idOrDir);
  const src = nodeFolderSource(displayPath(loc.dir));
  try {
    return await loadFolder(loc, src, opts);
  } catch (e) {
    if (loc.builtin && e instanceof ModelLoadError && e.code === 'missing-file') {
      throw new ModelLoadError(
        'missing-file',
        `${e.message}: the built-in model '${loc.name}' is listed in public/models/index.json but its files are missing (npm run train:builtin)`,
        { file: e.file, cause: e },
      );
    }
    throw e;
  }
}

async function loadFolder(loc: ModelLocation, src: FileSource, opts: ResolveOptions): Promise<ResolvedModel> {
  const configFile = filePath(src, 'config.json');
  const config = parseConfig(parseJson(await src.readText('config.json'), configFile), configFile);

  const tokFile = filePath(src, 'tokenizer.json');
  let tokenizerJson: unknown;
  let tokenizer: Tokenizer | undefined;
  const tokText = await readOptional(src, 'tokenizer.json');
  if (tokText === undefined) {
    if (opts.tokenizer === 'required') {
      const who = opts.command ? `calm ${opts.command}` : 'this command';
      throw new ModelLoadError('missing-file', `${tokFile} not found; ${who} needs the model's tokenizer`, { file: tokFile });
    }
  } else {
    tokenizerJson = parseJson(tokText, tokFile);
    checkTokenizerVocab(tokenizerJson, config.vocabSize, tokFile);
    tokenizer = Tokenizer.fromJSON(tokenizerJson, tokFile);
  }
  const card = await readOptional(src, 'README.md');

  const { tensors, file } = await readModelWeights(src); // model.safetensors or its shards
  await initBackend(opts.backend);
  // Checks every name, shape and value before it makes the first tensor.
  const model = modelFromTensors(tensors, config, file);
  const loaded: LoadedModel = { label: src.label, config, model, tokenizerJson, card };
  return { ...loc, loaded, config, model, tokenizer, dispose: () => model.dispose() };
}

/** The text of an optional file, or undefined when the folder has none. */
async function readOptional(src: FileSource, name: string): Promise<string | undefined> {
  try {
    return await src.readText(name);
  } catch (e) {
    if (e instanceof ModelLoadError && e.code === 'missing-file') return undefined;
    throw e;
  }
}

export function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ModelLoadError('bad-json', `${file} is not valid JSON (${(e as Error).message})`, { file, cause: e });
  }
}

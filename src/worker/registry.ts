// The worker's models: the index of a models folder (models/index.json), the models loaded
// from it (one load per id, shared by every call that asks meanwhile), their cards, and the
// model folders the person imported (read from memory instead of the folder).
import { countParameters, type CausalLM, type ModelConfig } from '../model/causal-lm';
import { parseBuiltinIndex, type BuiltinIndex, type BuiltinModel } from '../io/builtin';
import { errorMessage, ModelLoadError } from '../io/errors';
import { checkpointParameters, loadModelFolder, parseConfig } from '../io/model-folder';
import { pickModelFiles } from '../io/folder-files';
import { readSafetensorsHeader } from '../io/safetensors';
import { parseShardIndex, SHARD_INDEX_FILE, WEIGHTS_FILE } from '../io/shards';
import { memorySource, urlSource, type FileSource } from '../io/source';
import { Tokenizer } from '../tokenizer';
import type { ModelCard, ModelFile } from './protocol';

export interface LoadedModel {
  entry: BuiltinModel;
  model: CausalLM;
  tokenizer: Tokenizer;
  card?: string;
}

/** The models folder's URL without a trailing slash; throws on a URL that is not absolute. */
export function modelsBase(modelsUrl: string): string {
  let url: URL;
  try {
    url = new URL(modelsUrl);
  } catch {
    throw new Error(`modelsUrl must be an absolute URL (e.g. https://host/models), found ${JSON.stringify(modelsUrl)}`);
  }
  return url.href.replace(/\/+$/, '');
}

export class ModelRegistry {
  private modelsUrl = '';
  private index: BuiltinIndex | null = null;
  /** Models by id: the load in flight or done. A failed load is forgotten, so it is retried. */
  private readonly models = new Map<string, Promise<LoadedModel>>();
  private readonly loaded = new Map<string, LoadedModel>();
  private readonly cards = new Map<string, Promise<ModelCard>>();
  /** Model folders the person imported, by id: read from memory instead of modelsUrl. */
  private readonly importedFiles = new Map<string, Record<string, Uint8Array>>();

  constructor(private readonly fetchFn: typeof fetch) {}

  /** Reads `<base>/index.json` (not yet in use: see use). */
  async readIndex(base: string): Promise<BuiltinIndex> {
    const indexFile = `${base}/index.json`;
    const text = await urlSource(base, this.fetchFn).readText('index.json');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new ModelLoadError('bad-json', `${indexFile} is not valid JSON (${errorMessage(e)})`, { file: indexFile });
    }
    return parseBuiltinIndex(json, indexFile);
  }

  /** Serves the models of this folder from now on. */
  use(base: string, index: BuiltinIndex): void {
    this.modelsUrl = base;
    this.index = index;
  }

  requireIndex(): BuiltinIndex {
    if (!this.index) throw new Error('the engine is not started: call init first');
    return this.index;
  }

  listCards(): Promise<ModelCard[]> {
    return Promise.all(this.requireIndex().models.map((m) => this.card(m)));
  }

  /** Both models (composeModels checks their tokenizers: one, or two aligned by characters). */
  async pair(anchorId: string, augmentId: string): Promise<[LoadedModel, LoadedModel]> {
    return Promise.all([this.model(anchorId), this.model(augmentId)]);
  }

  /** Frees the loaded models other than `keep` (a finished load only: none is in flight here). */
  prune(keep: string[]): void {
    const kept = new Set(keep);
    for (const [id, m] of this.loaded) {
      if (kept.has(id)) continue;
      m.model.dispose();
      this.loaded.delete(id);
      this.models.delete(id);
    }
  }

  /** Frees every model and forgets the index (a new backend, or a new models folder). */
  reset(): void {
    this.prune([]);
    this.models.clear();
    this.cards.clear();
    this.index = null;
  }

  /**
   * Checks a model folder the person picked and lists it (as an augmenting model) under a
   * free id; `inUse` are the ids whose weights a composition holds (kept when replaced).
   */
  async importModel(files: ModelFile[], opts: { id: string; title?: string; description?: string }, inUse: string[]): Promise<ModelCard> {
    const index = this.requireIndex();
    if (!Array.isArray(files) || files.some((f) => typeof f?.name !== 'string' || !(f.bytes instanceof ArrayBuffer))) {
      throw new Error('a model folder is a list of named files (config.json, model.safetensors, tokenizer.json)');
    }
    const base = String(opts?.id ?? '').trim().replace(/[^\w.-]+/g, '-').replace(/^-+|-+$/g, '') || 'imported';
    const title = opts.title?.trim() || base;
    // model.safetensors, or model.safetensors.index.json and its shards: readModelWeights reads either.
    const named = files.map((f) => ({ name: f.name.split('/').at(-1)!, bytes: new Uint8Array(f.bytes) }));
    const map: Record<string, Uint8Array> = {};
    for (const f of pickModelFiles(named, title, (x) => new TextDecoder().decode(x.bytes))) map[f.name] = f.bytes;
    // Checks every file (config fields, tokenizer ids against vocab_size, each tensor).
    const folder = await loadModelFolder(memorySource(title, map));
    let id = base;
    for (let i = 2; index.models.some((m) => m.id === id && !this.importedFiles.has(m.id)); i++) id = `${base}-${i}`;
    try {
      Tokenizer.fromJSON(folder.tokenizerJson, `${title}/tokenizer.json`);
    } finally {
      folder.model.dispose(); // loaded again from memory when composed
    }
    const entry: BuiltinModel = { id, role: 'augment', title, description: opts.description ?? 'Imported by you', path: `imported/${id}` };
    // Replacing an import of the same id: forget what was loaded from the old files.
    if (this.importedFiles.has(id)) {
      const old = this.loaded.get(id);
      if (old && !inUse.includes(id)) old.model.dispose();
      this.loaded.delete(id);
      this.models.delete(id);
      this.cards.delete(id);
    }
    this.importedFiles.set(id, map);
    this.index = { ...index, models: [...index.models.filter((m) => m.id !== id), entry] };
    return this.card(entry);
  }

  private entry(id: string): BuiltinModel {
    const index = this.requireIndex();
    const entry = index.models.find((m) => m.id === id);
    if (!entry) {
      const known = index.models.map((m) => m.id).join(', ') || 'none';
      throw new Error(`no model ${JSON.stringify(id)} in ${this.modelsUrl}/index.json (models: ${known})`);
    }
    return entry;
  }

  private source(entry: BuiltinModel): FileSource {
    const imported = this.importedFiles.get(entry.id);
    if (imported) return memorySource(entry.title, imported);
    return urlSource(`${this.modelsUrl}/${entry.path}/`, this.fetchFn);
  }

  /** A missing file of a listed model: say so, and how the files are made. */
  private explainMissing(e: unknown, entry: BuiltinModel): unknown {
    if (e instanceof ModelLoadError && e.code === 'missing-file') {
      return new ModelLoadError(
        'missing-file',
        `${e.message}: the model '${entry.id}' is listed in models/index.json but its files are missing (npm run train:builtin)`,
        { file: e.file, cause: e },
      );
    }
    return e;
  }

  private model(id: string): Promise<LoadedModel> {
    const entry = this.entry(id);
    let p = this.models.get(id);
    if (!p) {
      const load = (async (): Promise<LoadedModel> => {
        let folder;
        try {
          folder = await loadModelFolder(this.source(entry));
        } catch (e) {
          throw this.explainMissing(e, entry);
        }
        try {
          const tokenizer = Tokenizer.fromJSON(folder.tokenizerJson, `${folder.label}/tokenizer.json`);
          const m: LoadedModel = { entry, model: folder.model, tokenizer, card: folder.card };
          this.loaded.set(id, m);
          return m;
        } catch (e) {
          folder.model.dispose();
          throw e;
        }
      })();
      p = load;
      this.models.set(id, load);
      load.catch(() => {
        if (this.models.get(id) === load) this.models.delete(id);
      });
    }
    return p;
  }

  private card(m: BuiltinModel): Promise<ModelCard> {
    let p = this.cards.get(m.id);
    if (!p) {
      const make = this.makeCard(m);
      p = make;
      this.cards.set(m.id, make);
      make.catch(() => {
        if (this.cards.get(m.id) === make) this.cards.delete(m.id);
      });
    }
    return p;
  }

  private async makeCard(m: BuiltinModel): Promise<ModelCard> {
    const loaded = this.loaded.get(m.id);
    let config: ModelConfig;
    let card: string | undefined;
    let parameters: number;
    if (loaded) {
      config = loaded.model.config;
      card = loaded.card;
      parameters = countParameters(loaded.model);
    } else {
      const src = this.source(m);
      const file = `${src.label}/config.json`;
      let text: string;
      try {
        text = await src.readText('config.json');
      } catch (e) {
        throw this.explainMissing(e, m);
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (e) {
        throw new ModelLoadError('bad-json', `${file} is not valid JSON (${errorMessage(e)})`, { file });
      }
      config = parseConfig(json, file);
      // The tensor names decide whether the LM head is the model's own (as the loader counts it):
      // model.safetensors's header, or a sharded checkpoint's index.
      const names = await src
        .readBytes(WEIGHTS_FILE)
        .then((bytes) => Object.keys(readSafetensorsHeader(bytes, `${src.label}/${WEIGHTS_FILE}`)))
        .catch(() =>
          src
            .readText(SHARD_INDEX_FILE)
            .then((text) => [...parseShardIndex(text, `${src.label}/${SHARD_INDEX_FILE}`).keys()])
            .catch(() => []),
        );
      parameters = checkpointParameters(config, names);
      card = await src.readText('README.md').catch((e: unknown) => {
        if (e instanceof ModelLoadError && e.code === 'missing-file') return undefined;
        throw e;
      });
    }
    return {
      id: m.id,
      role: m.role,
      title: m.title,
      description: m.description,
      layers: config.nLayer,
      width: config.nEmbd,
      heads: config.nHead,
      context: config.nPositions,
      vocabSize: config.vocabSize,
      parameters,
      ...(card !== undefined ? { card } : {}),
    };
  }
}

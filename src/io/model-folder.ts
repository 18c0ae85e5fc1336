// Loads and writes a model folder in Hugging Face layout (docs/design.md § Files): config.json,
// model.safetensors (or shards, ./shards.ts), tokenizer.json and an optional README.md. One loader for built-in and
// imported models, of every architecture in src/model/registry.ts (docs/design.md § Models);
// every mismatch is a ModelLoadError naming the file and the field/tensor.

import type { CausalLM, ModelConfig } from '../model/causal-lm';
import { architecture } from '../model/registry';
import { tableEntries } from '../model/tensor-table';
import { tf } from '../model/tf';
import { ModelLoadError, quote } from './errors';
import { writeSafetensors, type RawTensor } from './safetensors';
import { parseConfig } from './model-summary';
import { readModelWeights } from './shards';
import { filePath, type FileSource } from './source';

export { checkpointParameters, parseConfig } from './model-summary';

/** Checkpoint names and shapes of every required tensor, in table order. */
export function expectedTensors(c: ModelConfig): [string, number[]][] {
  return tableEntries(architecture(c.modelType).tensors, c)
    .filter((e) => !e.optional)
    .map((e) => [e.name, e.shape]);
}

/**
 * The model (float32 tf tensors) from parsed safetensors, checked against its architecture's
 * tensor table. Everything is checked before the first tf tensor is made, so a rejected file
 * leaks no tensor.
 */
export function modelFromTensors(tensors: Map<string, RawTensor>, config: ModelConfig, file = 'model.safetensors'): CausalLM {
  const bad = (code: ConstructorParameters<typeof ModelLoadError>[0], tensor: string, msg: string): never => {
    throw new ModelLoadError(code, `${file}: tensor ${quote(tensor)} ${msg}`, { file, tensor });
  };
  const arch = architecture(config.modelType);
  const table = arch.tensors;
  const N = table.layers(config);

  // Names as the table spells them (GPT-2: without the `transformer.` prefix of GPT2LMHeadModel files).
  const byName = new Map<string, { original: string; t: RawTensor }>();
  for (const [original, t] of tensors) {
    const name = arch.checkpointName(original);
    const layer = table.layerOf(name);
    if (layer !== undefined && layer >= N) {
      bad('unexpected-tensor', original, `belongs to block ${table.layerPrefix(layer)}* but n_layer is ${N}; does config.json match the weights?`);
    }
    if (arch.isBuffer(name)) continue;
    const prev = byName.get(name);
    if (prev) bad('duplicate-tensor', original, `duplicates ${quote(prev.original)}`);
    byName.set(name, { original, t });
  }

  const expected = tableEntries(table, config).filter((e) => !e.optional || byName.has(e.name));
  const known = new Set(expected.map((e) => e.name));
  for (const [name, { original }] of byName) {
    if (!known.has(name)) bad('unexpected-tensor', original, `is not part of a ${arch.label} model`);
  }

  const checked = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const { name, shape } of expected) {
    const entry = byName.get(name);
    if (!entry) {
      bad('missing-tensor', name, `is missing; a ${arch.label} checkpoint with n_layer ${N} needs it`);
      continue;
    }
    const { original, t } = entry;
    if (!(t.data instanceof Float32Array)) {
      bad('bad-dtype', original, `has dtype ${t.dtype}; weights must be F32, F16, BF16 or F64`);
      continue;
    }
    if (!sameShape(t.shape, shape)) {
      const transposed = shape.length === 2 && sameShape(t.shape, [shape[1], shape[0]]);
      bad(
        'bad-shape',
        original,
        `has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]` +
          (transposed && arch.transposedHint ? ` (transposed: ${arch.transposedHint})` : ''),
      );
    }
    const data = t.data;
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i])) bad('non-finite', original, `holds ${data[i]} at index ${i}; weights must be finite`);
    }
    checked.set(name, { shape, data });
  }

  const made = new Map<string, tf.Tensor>();
  try {
    for (const [name, c] of checked) made.set(name, tf.tensor(c.data, c.shape, 'float32'));
    return arch.create(config, made);
  } catch (e) {
    tf.dispose([...made.values()]);
    throw e;
  }
}

/** Host copies of a model's tensors under their checkpoint names, ready for writeSafetensors (read asynchronously: every backend). */
export async function modelToTensors(model: CausalLM): Promise<Record<string, { shape: number[]; data: Float32Array }>> {
  const out: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [name, t] of model.tensors()) {
    // A copy: data() may hand back the backend's own storage.
    out[name] = { shape: t.shape.slice(), data: new Float32Array(await t.data()) };
  }
  return out;
}

export interface LoadedModel {
  label: string;
  config: ModelConfig;
  model: CausalLM;
  tokenizerJson: unknown; // parsed tokenizer.json, for src/tokenizer
  card?: string; // README.md
}

/** Reads and checks a whole model folder; the caller owns (and disposes) the model. */
export async function loadModelFolder(src: FileSource): Promise<LoadedModel> {
  const configFile = filePath(src, 'config.json');
  const config = parseConfig(parseJson(await src.readText('config.json'), configFile), configFile);

  const tokFile = filePath(src, 'tokenizer.json');
  const tokenizerJson = parseJson(await src.readText('tokenizer.json'), tokFile);
  checkTokenizerVocab(tokenizerJson, config.vocabSize, tokFile);

  let card: string | undefined;
  try {
    card = await src.readText('README.md');
  } catch (e) {
    if (!(e instanceof ModelLoadError && e.code === 'missing-file')) throw e;
  }

  const { tensors, file } = await readModelWeights(src);
  const model = modelFromTensors(tensors, config, file);
  return { label: src.label, config, model, tokenizerJson, card };
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ModelLoadError('bad-json', `${file} is not valid JSON (${e instanceof Error ? e.message : String(e)})`, {
      file,
      cause: e,
    });
  }
}

/**
 * Every token id of tokenizer.json (model.vocab and added_tokens) must index a row of wte:
 * the largest id + 1 must be ≤ vocab_size. The vocab is a {token: id} map (BPE, WordPiece,
 * WordLevel) or a [[piece, score], ...] list whose index is the id (Unigram).
 */
export function checkTokenizerVocab(tokenizerJson: unknown, vocabSize: number, file = 'tokenizer.json'): void {
  const bad = (code: 'bad-tokenizer' | 'vocab-mismatch', msg: string, field?: string): never => {
    throw new ModelLoadError(code, `${file} ${msg}`, { file, field });
  };
  const tok = (tokenizerJson ?? {}) as { model?: { vocab?: unknown }; added_tokens?: unknown };
  const vocab = typeof tok === 'object' ? tok.model?.vocab : undefined;
  let maxId = -1;
  let maxToken = '';
  const see = (id: unknown, token: string, field: string): void => {
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
      bad('bad-tokenizer', `gives token ${quote(token)} the id ${JSON.stringify(id)}; ids must be non-negative integers`, field);
    }
    if ((id as number) > maxId) {
      maxId = id as number;
      maxToken = token;
    }
  };
  if (Array.isArray(vocab)) {
    vocab.forEach((entry, i) => see(i, Array.isArray(entry) ? String(entry[0]) : String(entry), 'model.vocab'));
  } else if (vocab !== null && typeof vocab === 'object') {
    for (const [token, id] of Object.entries(vocab)) see(id, token, 'model.vocab');
  } else {
    bad('bad-tokenizer', 'has no model.vocab; is it a Hugging Face tokenizers file?', 'model.vocab');
  }
  if (tok.added_tokens !== undefined) {
    if (!Array.isArray(tok.added_tokens)) bad('bad-tokenizer', 'has added_tokens that is not a list', 'added_tokens');
    for (const t of tok.added_tokens as unknown[]) {
      const { id, content } = (t ?? {}) as { id?: unknown; content?: unknown };
      see(id, String(content), 'added_tokens');
    }
  }
  if (maxId + 1 > vocabSize) {
    bad(
      'vocab-mismatch',
      `has id ${maxId} (${quote(maxToken)}) but the model's vocab_size is ${vocabSize}; the tokenizer does not belong to this model`,
      'model.vocab',
    );
  }
}

/** The files of a model folder, ready for memorySource, a zip or a directory. */
export async function modelFolderFiles(model: CausalLM, tokenizerJson: unknown, card?: string): Promise<Record<string, Uint8Array | string>> {
  const files: Record<string, Uint8Array | string> = {
    'config.json': `${JSON.stringify(architecture(model.config.modelType).toHFConfig(model.config), null, 2)}\n`,
    // format=pt: transformers refuses safetensors files without it.
    'model.safetensors': writeSafetensors(await modelToTensors(model), { format: 'pt' }),
    'tokenizer.json': JSON.stringify(tokenizerJson),
  };
  if (card !== undefined) files['README.md'] = card;
  return files;
}

function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

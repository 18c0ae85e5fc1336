// Loads and writes a model folder in Hugging Face layout (DESIGN §2): config.json,
// model.safetensors, tokenizer.json and an optional README.md. One loader for built-in and
// imported models; every mismatch is a ModelLoadError naming the file and the field/tensor.

// zod/mini: the full build adds ~300 kB to a bundle, the mini one ~15 kB.
import * as z from 'zod/mini';
import { toHFConfig, type GPTConfig } from '../model/config';
import { tf } from '../model/tf';
import type { BlockWeights, GPTWeights } from '../model/weights';
import { issueMessage, ModelLoadError, quote } from './errors';
import { parseSafetensors, writeSafetensors, type RawTensor } from './safetensors';
import { filePath, type FileSource } from './source';
import { gpt2TensorName, hasUntiedHead, LM_HEAD } from './gpt2-tensors';

export const SUPPORTED_MODEL_TYPES = ['gpt2'] as const;
/** Both names denote the tanh approximation of GELU that GPT-2 uses. */
const GELU_TANH = ['gelu_new', 'gelu_pytorch_tanh'];

// Bounds far above any model this app can run; beyond them a config is corrupt, and the
// bound keeps a hostile file from asking for a multi-GB allocation.
const size = (max: number) =>
  z.int({ error: 'must be an integer' }).check(
    z.positive({ error: 'must be positive' }),
    z.maximum(max, { error: `must be at most ${max}` }),
  );

const HFConfigSchema = z.object({
  vocab_size: size(1_000_000),
  n_positions: size(65536),
  n_embd: size(16384),
  n_layer: size(256),
  n_head: size(16384),
  layer_norm_epsilon: z._default(
    z.number({ error: 'must be a number' }).check(
      z.positive({ error: 'must be positive' }),
      z.lt(1, { error: 'must be below 1' }),
    ),
    1e-5,
  ),
  activation_function: z._default(z.string({ error: 'must be a string' }), 'gelu_new'),
  n_inner: z.optional(z.nullable(z.number({ error: 'must be a number or null' }))),
  scale_attn_by_inverse_layer_idx: z.optional(z.boolean({ error: 'must be true or false' })),
});

/** A GPTConfig from the parsed `config.json`. */
export function parseConfig(json: unknown, file = 'config.json'): GPTConfig {
  const bad = (code: 'bad-config' | 'unsupported-model', message: string, field?: string): never => {
    throw new ModelLoadError(code, message, { file, field });
  };
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    return bad('bad-config', `${file} must hold a JSON object`);
  }
  const obj = json as Record<string, unknown>;
  const supported = `supported: ${SUPPORTED_MODEL_TYPES.join(', ')}`;
  if (obj.model_type === undefined) bad('bad-config', `${file}: model_type is missing (${supported})`, 'model_type');
  if (!(SUPPORTED_MODEL_TYPES as readonly unknown[]).includes(obj.model_type)) {
    bad(
      'unsupported-model',
      `${file}: model_type ${JSON.stringify(obj.model_type)} is not supported (${supported})`,
      'model_type',
    );
  }
  // Older GPT-2 configs name the context length n_ctx.
  const input = obj.n_positions === undefined && obj.n_ctx !== undefined ? { ...obj, n_positions: obj.n_ctx } : obj;
  const r = HFConfigSchema.safeParse(input);
  if (!r.success) {
    const { field, message } = issueMessage(file, r.error.issues[0], input);
    return bad('bad-config', message, field);
  }
  const c = r.data;
  if (!GELU_TANH.includes(c.activation_function)) {
    bad(
      'unsupported-model',
      `${file}: activation_function ${JSON.stringify(c.activation_function)} is not supported (supported: ${GELU_TANH.join(', ')})`,
      'activation_function',
    );
  }
  if (c.n_embd % c.n_head !== 0) {
    bad('bad-config', `${file}: n_embd ${c.n_embd} is not divisible by n_head ${c.n_head}`, 'n_head');
  }
  // The weights layout assumes the GPT-2 MLP width 4·D.
  if (c.n_inner != null && c.n_inner !== 4 * c.n_embd) {
    bad(
      'unsupported-model',
      `${file}: n_inner ${c.n_inner} is not supported (only null or 4 × n_embd = ${4 * c.n_embd})`,
      'n_inner',
    );
  }
  if (c.scale_attn_by_inverse_layer_idx === true) {
    bad('unsupported-model', `${file}: scale_attn_by_inverse_layer_idx true is not supported`, 'scale_attn_by_inverse_layer_idx');
  }
  return {
    modelType: 'gpt2',
    vocabSize: c.vocab_size,
    nPositions: c.n_positions,
    nEmbd: c.n_embd,
    nLayer: c.n_layer,
    nHead: c.n_head,
    layerNormEpsilon: c.layer_norm_epsilon,
    activation: 'gelu_new',
  };
}

/** HF names (without `transformer.`) and shapes of every required tensor, in model order. */
export function expectedTensors(c: GPTConfig): [string, number[]][] {
  const { vocabSize: V, nPositions: P, nEmbd: D } = c;
  const out: [string, number[]][] = [
    ['wte.weight', [V, D]],
    ['wpe.weight', [P, D]],
  ];
  for (let i = 0; i < c.nLayer; i++) {
    const h = `h.${i}.`;
    out.push(
      [`${h}ln_1.weight`, [D]],
      [`${h}ln_1.bias`, [D]],
      [`${h}attn.c_attn.weight`, [D, 3 * D]],
      [`${h}attn.c_attn.bias`, [3 * D]],
      [`${h}attn.c_proj.weight`, [D, D]],
      [`${h}attn.c_proj.bias`, [D]],
      [`${h}ln_2.weight`, [D]],
      [`${h}ln_2.bias`, [D]],
      [`${h}mlp.c_fc.weight`, [D, 4 * D]],
      [`${h}mlp.c_fc.bias`, [4 * D]],
      [`${h}mlp.c_proj.weight`, [4 * D, D]],
      [`${h}mlp.c_proj.bias`, [D]],
    );
  }
  out.push(['ln_f.weight', [D]], ['ln_f.bias', [D]]);
  return out;
}

/**
 * A GPT-2 checkpoint's parameter count from its config and its tensor names: every tensor the
 * loader expects, and the LM head when the checkpoint has one of its own (weightsFromTensors).
 */
export function checkpointParameters(config: GPTConfig, tensorNames: Iterable<string>): number {
  const shapes = expectedTensors(config).map(([, shape]) => shape);
  if (hasUntiedHead(tensorNames)) shapes.push([config.vocabSize, config.nEmbd]);
  return shapes.reduce((n, shape) => n + shape.reduce((a, b) => a * b, 1), 0);
}

/** Causal-mask buffers that old GPT-2 checkpoints carry; the model builds its own mask. */
const MASK_BUFFER = /^h\.\d+\.attn\.(bias|masked_bias)$/;

/**
 * GPTWeights (float32 tf tensors) from parsed safetensors. Everything is checked before
 * the first tf tensor is made, so a rejected file leaks no tensor.
 */
export function weightsFromTensors(
  tensors: Map<string, RawTensor>,
  config: GPTConfig,
  file = 'model.safetensors',
): GPTWeights {
  const bad = (code: ConstructorParameters<typeof ModelLoadError>[0], tensor: string, msg: string): never => {
    throw new ModelLoadError(code, `${file}: tensor ${quote(tensor)} ${msg}`, { file, tensor });
  };

  // Normalise names: `transformer.` is the GPT2LMHeadModel prefix, absent in GPT2Model files.
  const byName = new Map<string, { original: string; t: RawTensor }>();
  for (const [original, t] of tensors) {
    const name = gpt2TensorName(original);
    const block = /^h\.(\d+)\./.exec(name);
    if (block && Number(block[1]) >= config.nLayer) {
      bad('unexpected-tensor', original, `belongs to block h.${block[1]}.* but n_layer is ${config.nLayer}; does config.json match the weights?`);
    }
    if (MASK_BUFFER.test(name)) continue;
    const prev = byName.get(name);
    if (prev) bad('duplicate-tensor', original, `duplicates ${quote(prev.original)}`);
    byName.set(name, { original, t });
  }

  const expected = expectedTensors(config);
  if (byName.has(LM_HEAD)) expected.push([LM_HEAD, [config.vocabSize, config.nEmbd]]);
  const known = new Set(expected.map(([n]) => n));
  for (const [name, { original }] of byName) {
    if (!known.has(name)) bad('unexpected-tensor', original, 'is not part of a GPT-2 model');
  }

  const checked = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, shape] of expected) {
    const entry = byName.get(name);
    if (!entry) {
      bad('missing-tensor', name, `is missing; a GPT-2 checkpoint with n_layer ${config.nLayer} needs it`);
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
          (transposed ? ' (transposed: GPT-2 Conv1D weights are stored [in, out], not nn.Linear [out, in])' : ''),
      );
    }
    const data = t.data;
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i])) bad('non-finite', original, `holds ${data[i]} at index ${i}; weights must be finite`);
    }
    checked.set(name, { shape, data });
  }

  const made: tf.Tensor[] = [];
  try {
    const t1 = (name: string): tf.Tensor1D => {
      const c = checked.get(name)!;
      const t = tf.tensor1d(c.data, 'float32');
      made.push(t);
      return t;
    };
    const t2 = (name: string): tf.Tensor2D => {
      const c = checked.get(name)!;
      const t = tf.tensor2d(c.data, c.shape as [number, number], 'float32');
      made.push(t);
      return t;
    };
    const blocks: BlockWeights[] = [];
    for (let i = 0; i < config.nLayer; i++) {
      const h = `h.${i}.`;
      blocks.push({
        ln1: { gamma: t1(`${h}ln_1.weight`), beta: t1(`${h}ln_1.bias`) },
        attn: {
          cAttnW: t2(`${h}attn.c_attn.weight`),
          cAttnB: t1(`${h}attn.c_attn.bias`),
          cProjW: t2(`${h}attn.c_proj.weight`),
          cProjB: t1(`${h}attn.c_proj.bias`),
        },
        ln2: { gamma: t1(`${h}ln_2.weight`), beta: t1(`${h}ln_2.bias`) },
        mlp: {
          cFcW: t2(`${h}mlp.c_fc.weight`),
          cFcB: t1(`${h}mlp.c_fc.bias`),
          cProjW: t2(`${h}mlp.c_proj.weight`),
          cProjB: t1(`${h}mlp.c_proj.bias`),
        },
      });
    }
    const weights: GPTWeights = {
      wte: t2('wte.weight'),
      wpe: t2('wpe.weight'),
      blocks,
      lnF: { gamma: t1('ln_f.weight'), beta: t1('ln_f.bias') },
    };
    if (checked.has(LM_HEAD)) weights.lmHead = t2(LM_HEAD);
    return weights;
  } catch (e) {
    tf.dispose(made);
    throw e;
  }
}

/** Every tensor of `w` under its HF name (no `transformer.` prefix). */
function namedTensors(w: GPTWeights): [string, tf.Tensor][] {
  const out: [string, tf.Tensor][] = [
    ['wte.weight', w.wte],
    ['wpe.weight', w.wpe],
  ];
  w.blocks.forEach((b, i) => {
    const h = `h.${i}.`;
    out.push(
      [`${h}ln_1.weight`, b.ln1.gamma],
      [`${h}ln_1.bias`, b.ln1.beta],
      [`${h}attn.c_attn.weight`, b.attn.cAttnW],
      [`${h}attn.c_attn.bias`, b.attn.cAttnB],
      [`${h}attn.c_proj.weight`, b.attn.cProjW],
      [`${h}attn.c_proj.bias`, b.attn.cProjB],
      [`${h}ln_2.weight`, b.ln2.gamma],
      [`${h}ln_2.bias`, b.ln2.beta],
      [`${h}mlp.c_fc.weight`, b.mlp.cFcW],
      [`${h}mlp.c_fc.bias`, b.mlp.cFcB],
      [`${h}mlp.c_proj.weight`, b.mlp.cProjW],
      [`${h}mlp.c_proj.bias`, b.mlp.cProjB],
    );
  });
  out.push(['ln_f.weight', w.lnF.gamma], ['ln_f.bias', w.lnF.beta]);
  if (w.lmHead) out.push([LM_HEAD, w.lmHead]);
  return out;
}

/** Host copies of the weights under HF names, ready for writeSafetensors (read asynchronously: every backend). */
export async function weightsToTensors(weights: GPTWeights): Promise<Record<string, { shape: number[]; data: Float32Array }>> {
  const out: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [name, t] of namedTensors(weights)) {
    // A copy: data() may hand back the backend's own storage.
    out[name] = { shape: t.shape.slice(), data: new Float32Array(await t.data()) };
  }
  return out;
}

export function disposeWeights(w: GPTWeights): void {
  tf.dispose(namedTensors(w).map(([, t]) => t));
}

export interface LoadedModel {
  label: string;
  config: GPTConfig;
  weights: GPTWeights;
  tokenizerJson: unknown; // parsed tokenizer.json, for src/tokenizer
  card?: string; // README.md
}

/** Reads and checks a whole model folder; the caller owns (and disposes) the weights. */
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

  const stFile = filePath(src, 'model.safetensors');
  const { tensors } = parseSafetensors(await src.readBytes('model.safetensors'), stFile);
  const weights = weightsFromTensors(tensors, config, stFile);
  return { label: src.label, config, weights, tokenizerJson, card };
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
export async function modelFolderFiles(
  config: GPTConfig,
  weights: GPTWeights,
  tokenizerJson: unknown,
  card?: string,
): Promise<Record<string, Uint8Array | string>> {
  const files: Record<string, Uint8Array | string> = {
    'config.json': `${JSON.stringify(toHFConfig(config), null, 2)}\n`,
    // format=pt: transformers refuses safetensors files without it.
    'model.safetensors': writeSafetensors(await weightsToTensors(weights), { format: 'pt' }),
    'tokenizer.json': JSON.stringify(tokenizerJson),
  };
  if (card !== undefined) files['README.md'] = card;
  return files;
}

function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

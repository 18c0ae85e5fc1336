// The PyTorch-made golden models of tests/golden (config.json + model.safetensors, no
// tokenizer.json), loaded with the io layer's own parsers, and their golden.json values.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { modelFromTensors, parseConfig } from '../../../src/io/model-folder';
import { parseSafetensors } from '../../../src/io/safetensors';
import type { CausalLM, ModelConfig } from '../../../src/model/causal-lm';

export const GOLDEN_DIR = fileURLToPath(new URL('../../golden/', import.meta.url));

export interface Golden {
  ids: number[][]; // [B][T]
  logits: number[][][]; // [B][T][V]
  hidden: number[][][][]; // [n_layer][B][T][D], the residual stream after each block
}

/** A golden model folder as a model (tfjs tensors: call after the backend is set). */
export function loadGoldenModel(name: string): { config: ModelConfig; gpt: CausalLM; golden: Golden; dir: string } {
  const dir = join(GOLDEN_DIR, name);
  const config = parseConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')), `${name}/config.json`);
  const bytes = readFileSync(join(dir, 'model.safetensors'));
  const { tensors } = parseSafetensors(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), `${name}/model.safetensors`);
  const gpt = modelFromTensors(tensors, config, `${name}/model.safetensors`);
  const golden = JSON.parse(readFileSync(join(dir, 'golden.json'), 'utf8')) as Golden;
  return { config, gpt, golden, dir };
}

/** The largest |a - b| over two nested arrays of the same shape (a shape mismatch throws). */
export function maxAbsDiff(a: unknown, b: unknown, path = ''): number {
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) {
      throw new Error(`shape mismatch at ${path || 'top'}: ${Array.isArray(a) ? a.length : typeof a} vs ${Array.isArray(b) ? b.length : typeof b}`);
    }
    let m = 0;
    for (let i = 0; i < a.length; i++) m = Math.max(m, maxAbsDiff(a[i], b[i], `${path}[${i}]`));
    return m;
  }
  if (typeof a !== 'number' || typeof b !== 'number') throw new Error(`not numbers at ${path}`);
  const d = Math.abs(a - b);
  return Number.isNaN(d) ? Infinity : d;
}

// Model folders made at test time with the core (no checked-in binaries): random weights from
// initModel, written as Hugging Face files by modelFolderFiles, optionally split into shards
// with model.safetensors.index.json as transformers writes them (docs/design.md § Models).
import type { ModelConfig } from '../../src/model/causal-lm';
import { initModel } from '../../src/model/init';
import { architecture, parseModelConfig } from '../../src/model/registry';
import { modelFolderFiles, modelToTensors } from '../../src/io/model-folder';
import { writeSafetensors } from '../../src/io/safetensors';

export type FolderFiles = Record<string, Uint8Array>;

const bytes = (v: Uint8Array | string): Uint8Array => (typeof v === 'string' ? new TextEncoder().encode(v) : v);

/**
 * A model folder of random weights for a config.json's fields: config.json, model.safetensors
 * (or, with `shards` > 1, model.safetensors.index.json and that many shards, named as
 * transformers names them), tokenizer.json and README.md.
 */
export async function modelFolder(hf: Record<string, unknown>, tokenizerJson: unknown, opts: { seed?: number; shards?: number; card?: string } = {}): Promise<FolderFiles> {
  const config: ModelConfig = parseModelConfig(hf);
  const model = initModel(architecture(config.modelType), config, opts.seed ?? 1);
  try {
    const files = await modelFolderFiles(model, tokenizerJson, opts.card);
    const out: FolderFiles = Object.fromEntries(Object.entries(files).map(([k, v]) => [k, bytes(v)]));
    const n = opts.shards ?? 1;
    if (n > 1) {
      const tensors = await modelToTensors(model);
      const names = Object.keys(tensors);
      const per = Math.ceil(names.length / n);
      const weightMap: Record<string, string> = {};
      let total = 0;
      delete out['model.safetensors'];
      for (let s = 0; s < n; s++) {
        const file = `model-${String(s + 1).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.safetensors`;
        const part = Object.fromEntries(names.slice(s * per, (s + 1) * per).map((name) => [name, tensors[name]]));
        for (const [name, t] of Object.entries(part)) {
          weightMap[name] = file;
          total += t.data.byteLength;
        }
        out[file] = writeSafetensors(part, { format: 'pt' });
      }
      out['model.safetensors.index.json'] = bytes(JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2));
    }
    return out;
  } finally {
    model.dispose();
  }
}

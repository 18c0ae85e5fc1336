// `calm models [ID|DIR ...]`: the built-in models of public/models/index.json, or the models
// named (built-in ids or model folders of any registered architecture), with their
// architecture and sizes from each config.json and the checkpoint's tensor names (no weights
// are read, so this needs no backend).
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage } from '../../io/errors';
import { checkpointParameters, parseConfig } from '../../io/model-folder';
import { readSafetensorsHeader, safetensorsHeaderLength } from '../../io/safetensors';
import { parseShardIndex, SHARD_INDEX_FILE, WEIGHTS_FILE } from '../../io/shards';
import type { Command } from '../command';
import { compactCount, printJson, printText } from '../output';
import { builtinDir, displayPath, locateModel, parseJson, readBuiltinIndex, type ModelLocation } from '../resolve';

export interface ModelRow {
  /** The built-in id, or the folder as given. */
  id: string;
  /** Built-in models only (null for a folder). */
  role: 'anchor' | 'augment' | null;
  title: string | null;
  description: string | null;
  path: string; // the folder, as --model DIR accepts it
  /** config.json's model_type (gpt2, llama, gpt_neox). */
  architecture: string | null;
  layers: number | null;
  width: number | null;
  heads: number | null;
  context: number | null;
  vocab: number | null;
  parameters: number | null;
  /** Why the sizes are missing: the folder is absent or its config.json is malformed. */
  error?: string;
}

/**
 * Parameters from config.json and the tensor names of model.safetensors (its header only, or the
 * weight_map of model.safetensors.index.json): every
 * tensor of the architecture's table, plus the optional ones the file has (GPT-2: an LM head of
 * its own), as the loader counts them.
 */
export async function parameterCount(dir: string, configJson: unknown, file: string): Promise<{ config: ReturnType<typeof parseConfig>; parameters: number }> {
  const config = parseConfig(configJson, file);
  // a sharded checkpoint's names are its index's; no weights yet: the tensors config.json implies
  const names = await headerNames(join(dir, WEIGHTS_FILE)).catch(async () => {
    const index = join(dir, SHARD_INDEX_FILE);
    return [...parseShardIndex(await readFile(index, 'utf8'), index).keys()];
  }).catch(() => []);
  return { config, parameters: checkpointParameters(config, names) };
}

/** The tensor names in a safetensors file's header: its first 8 bytes, then N more, not the data. */
async function headerNames(path: string): Promise<string[]> {
  const handle = await open(path, 'r');
  try {
    const first = new Uint8Array(8);
    await handle.read(first, 0, 8, 0);
    const n = safetensorsHeaderLength(first, path);
    const bytes = new Uint8Array(8 + n);
    await handle.read(bytes, 0, 8 + n, 0);
    return Object.keys(readSafetensorsHeader(bytes, path)).filter((k) => k !== '__metadata__');
  } finally {
    await handle.close();
  }
}

/** The built-in models, or (with `names`) the models these ids and folders name. */
export async function listModels(names: string[] = []): Promise<ModelRow[]> {
  const locations: ModelLocation[] = names.length
    ? await Promise.all(names.map((n) => locateModel(n)))
    : (await readBuiltinIndex()).models.map((m) => ({ name: m.id, dir: builtinDir(m), builtin: m }));
  return Promise.all(
    locations.map(async ({ name, dir, builtin: m }): Promise<ModelRow> => {
      const row: ModelRow = {
        id: name,
        role: m?.role ?? null,
        title: m?.title ?? null,
        description: m?.description ?? null,
        path: displayPath(dir),
        architecture: null,
        layers: null,
        width: null,
        heads: null,
        context: null,
        vocab: null,
        parameters: null,
      };
      const file = join(displayPath(dir), 'config.json');
      try {
        const { config, parameters } = await parameterCount(dir, parseJson(await readFile(join(dir, 'config.json'), 'utf8'), file), file);
        Object.assign(row, {
          architecture: config.modelType,
          layers: config.nLayer,
          width: config.nEmbd,
          heads: config.nHead,
          context: config.nPositions,
          vocab: config.vocabSize,
          parameters,
        });
      } catch (e) {
        const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
        row.error = missing ? `${file} not found${m ? ' (npm run train:builtin)' : ''}` : errorMessage(e);
      }
      return row;
    }),
  );
}

export const command: Command = {
  name: 'models',
  summary: 'list the built-in models, or the models named (ids or model folders)',
  positionals: '[ID|DIR ...]',
  options: {},
  examples: ['models', 'models --json', 'models tests/golden/llama-tiny tests/golden/neox-tiny'],
  async run({ json, positionals }) {
    const rows = await listModels(positionals);
    if (json) {
      printJson({ models: rows });
      return;
    }
    if (rows.length === 0) {
      printText('no built-in models are listed in public/models/index.json (npm run train:builtin)');
      return;
    }
    const width = Math.max(14, ...rows.map((r) => r.id.length));
    const lines = rows.map((r) => {
      const size =
        r.error ?? `${r.architecture}, ${r.layers} layers, width ${r.width}, ${r.heads} heads, ${compactCount(r.parameters!)} parameters`;
      if (r.role === null) return `${r.id.padEnd(width)} ${size}`;
      return `${r.id.padEnd(width)} ${r.role.padEnd(8)} ${size}\n${''.padEnd(width + 1)}${r.title} — ${r.path}`;
    });
    printText(lines.join('\n'));
  },
};

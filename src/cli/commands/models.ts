// `calm models`: the built-in models of public/models/index.json, with their sizes from each
// config.json (no weights are read, so this needs no backend).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage } from '../../io/errors';
import { expectedTensors, parseConfig } from '../../io/model-folder';
import type { Command } from '../command';
import { compactCount, printJson, printText } from '../output';
import { builtinDir, displayPath, parseJson, readBuiltinIndex } from '../resolve';

export interface ModelRow {
  id: string;
  role: 'anchor' | 'augment';
  title: string;
  description: string;
  path: string; // the folder, as --model DIR accepts it
  layers: number | null;
  width: number | null;
  heads: number | null;
  context: number | null;
  vocab: number | null;
  parameters: number | null;
  /** Why the sizes are missing: the folder is absent or its config.json is malformed. */
  error?: string;
}

/** Parameters from config.json alone: every GPT-2 tensor, plus an untied LM head if the config says so. */
export function parameterCount(configJson: unknown, file: string): { config: ReturnType<typeof parseConfig>; parameters: number } {
  const config = parseConfig(configJson, file);
  let parameters = expectedTensors(config).reduce((n, [, shape]) => n + shape.reduce((a, b) => a * b, 1), 0);
  if ((configJson as { tie_word_embeddings?: unknown }).tie_word_embeddings === false) parameters += config.vocabSize * config.nEmbd;
  return { config, parameters };
}

export async function listModels(): Promise<ModelRow[]> {
  const index = await readBuiltinIndex();
  return Promise.all(
    index.models.map(async (m): Promise<ModelRow> => {
      const dir = builtinDir(m);
      const row: ModelRow = {
        id: m.id,
        role: m.role,
        title: m.title,
        description: m.description,
        path: displayPath(dir),
        layers: null,
        width: null,
        heads: null,
        context: null,
        vocab: null,
        parameters: null,
      };
      const file = join(displayPath(dir), 'config.json');
      try {
        const { config, parameters } = parameterCount(parseJson(await readFile(join(dir, 'config.json'), 'utf8'), file), file);
        Object.assign(row, {
          layers: config.nLayer,
          width: config.nEmbd,
          heads: config.nHead,
          context: config.nPositions,
          vocab: config.vocabSize,
          parameters,
        });
      } catch (e) {
        row.error = (e as NodeJS.ErrnoException).code === 'ENOENT' ? `${file} not found (npm run train:builtin)` : errorMessage(e);
      }
      return row;
    }),
  );
}

export const command: Command = {
  name: 'models',
  summary: 'list the built-in models',
  options: {},
  examples: ['models', 'models --json'],
  async run({ json }) {
    const rows = await listModels();
    if (json) {
      printJson({ models: rows });
      return;
    }
    if (rows.length === 0) {
      printText('no built-in models are listed in public/models/index.json (npm run train:builtin)');
      return;
    }
    const lines = rows.map((r) => {
      const size =
        r.error ?? `${r.layers} layers, width ${r.width}, ${r.heads} heads, ${compactCount(r.parameters!)} parameters`;
      return `${r.id.padEnd(14)} ${r.role.padEnd(8)} ${size}\n${''.padEnd(15)}${r.title} — ${r.path}`;
    });
    printText(lines.join('\n'));
  },
};

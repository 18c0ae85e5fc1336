// Schema of public/models/index.json, the list of built-in models and compositions.
// The UI reads it too, hence zod/mini (a small bundle) and no tfjs import.

import * as z from 'zod/mini';
import { issueMessage, ModelLoadError } from './errors';

const text = (what: string) =>
  z.string({ error: `must be ${what}` }).check(z.minLength(1, { error: `must be ${what}` }));

// A folder relative to public/models: no scheme, no absolute path, no `..`, so an index
// can only point inside the models folder.
const relativePath = z.string({ error: 'must be a folder path' }).check(
  z.refine(
    (p) => p.length > 0 && !p.startsWith('/') && !p.includes('\\') && !/^[a-z][a-z0-9+.-]*:/i.test(p) && !p.split('/').includes('..'),
    { error: 'must be a folder relative to public/models (no leading /, no .., no URL)' },
  ),
);

export const builtinModelSchema = z.object({
  id: text('a non-empty string'),
  role: z.enum(['anchor', 'augment'], { error: 'must be "anchor" or "augment"' }),
  title: text('a non-empty string'),
  description: z.string({ error: 'must be a string' }),
  path: relativePath, // folder in Hugging Face layout
});

export const builtinCompositionSchema = z.object({
  id: text('a non-empty string'),
  title: text('a non-empty string'),
  path: relativePath, // folder with composition.json and bridge.safetensors
});

export const builtinIndexSchema = z.object({
  models: z.array(builtinModelSchema, { error: 'must be a list' }),
  compositions: z.optional(z.array(builtinCompositionSchema, { error: 'must be a list' })),
});

export type BuiltinModel = z.infer<typeof builtinModelSchema>;
export type BuiltinComposition = z.infer<typeof builtinCompositionSchema>;
export type BuiltinIndex = z.infer<typeof builtinIndexSchema>;
export type ModelRole = BuiltinModel['role'];

/** The checked index; ids must be unique within models and within compositions. */
export function parseBuiltinIndex(json: unknown, file = 'models/index.json'): BuiltinIndex {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new ModelLoadError('bad-index', `${file} must hold a JSON object with a "models" list`, { file });
  }
  const r = z.safeParse(builtinIndexSchema, json);
  if (!r.success) {
    const { field, message } = issueMessage(file, r.error.issues[0], json);
    throw new ModelLoadError('bad-index', message, { file, field });
  }
  for (const key of ['models', 'compositions'] as const) {
    const seen = new Set<string>();
    (r.data[key] ?? []).forEach((entry, i) => {
      if (seen.has(entry.id)) {
        throw new ModelLoadError('bad-index', `${file}: ${key}[${i}].id ${JSON.stringify(entry.id)} is used twice`, {
          file,
          field: `${key}[${i}].id`,
        });
      }
      seen.add(entry.id);
    });
  }
  return r.data;
}

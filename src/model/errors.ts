// Errors of reading a model's config.json (docs/design.md § Models). The model layer sits
// below io, so it throws ModelConfigError; the loader (src/io/model-folder.ts) turns it into a
// ModelLoadError naming the file, with the same one-line message.

/** A config.json an architecture cannot use: a missing or out-of-range field, or an option it does not implement. */
export class ModelConfigError extends Error {
  constructor(
    readonly code: 'bad-config' | 'unsupported-model',
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ModelConfigError';
  }
}

/**
 * One line for the first failed check of a schema (zod issues have this shape): names the
 * field by its path, e.g. `models[2].role`, and shows the value found.
 */
export function issueMessage(
  file: string,
  issue: { path: readonly PropertyKey[]; message: string },
  input: unknown,
): { field: string; message: string } {
  const field = issue.path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`))
    .join('');
  let value: unknown = input;
  for (const p of issue.path) {
    value = value !== null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[p] : undefined;
  }
  const what = field || 'the file';
  if (value === undefined) return { field, message: `${file}: ${what} is missing` };
  let shown = JSON.stringify(value) ?? String(value);
  if (shown.length > 80) shown = `${shown.slice(0, 80)}…`;
  return { field, message: `${file}: ${what} ${issue.message}, found ${shown}` };
}

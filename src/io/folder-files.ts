// Which files of a picked, dropped or downloaded folder make a model (docs/design.md § Models):
// config.json, tokenizer.json, README.md when there is one, and the weights — model.safetensors,
// or model.safetensors.index.json and every shard it names. The page keeps these and the worker
// checks them; both ask here. No tfjs.
import { parseShardIndex, SHARD_INDEX_FILE, WEIGHTS_FILE } from './shards';

/** The files every model folder needs besides its weights. */
const REQUIRED = ['config.json', 'tokenizer.json'];

/** What a folder needs, in words, for messages. */
export const FOLDER_NEEDS = `config.json, ${WEIGHTS_FILE} (or ${SHARD_INDEX_FILE} and its shards) and tokenizer.json`;

/**
 * The files of `files` (by base name) that make the model, in a stable order; throws one line
 * naming what is missing (`title` names the folder). `text` reads a file's bytes as text (the index).
 */
export function pickModelFiles<T extends { name: string }>(files: T[], title: string, text: (f: T) => string): T[] {
  const byName = new Map(files.map((f) => [f.name, f]));
  const single = byName.get(WEIGHTS_FILE);
  const index = single ? undefined : byName.get(SHARD_INDEX_FILE);
  const missing = REQUIRED.filter((n) => !byName.has(n));
  if (!single && !index) missing.splice(1, 0, WEIGHTS_FILE);
  if (missing.length > 0) throw new Error(`${title} lacks ${missing.join(', ')}: a model folder in Hugging Face layout needs ${FOLDER_NEEDS}`);
  let weights: T[];
  if (single) {
    weights = [single];
  } else {
    const shards = [...new Set(parseShardIndex(text(index!), `${title}/${SHARD_INDEX_FILE}`).values())];
    const lacking = shards.filter((s) => !byName.has(s));
    if (lacking.length > 0) throw new Error(`${title} lacks ${lacking.join(', ')}: ${SHARD_INDEX_FILE} names ${lacking.length === 1 ? 'it as a shard' : 'them as shards'}`);
    weights = [index!, ...shards.map((s) => byName.get(s)!)];
  }
  const readme = byName.get('README.md');
  return [byName.get('config.json')!, ...weights, byName.get('tokenizer.json')!, ...(readme ? [readme] : [])];
}

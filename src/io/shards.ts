// The weights of a model folder (docs/design.md § Models): `model.safetensors`, or a sharded
// checkpoint — `model.safetensors.index.json` whose `weight_map` names the shard file of every
// tensor. A sharded one is checked: every shard exists and parses, every tensor is in exactly
// the shard the map names, and every shard's header agrees with the map. Each failure is one
// ModelLoadError naming the file and the tensor.
import { ModelLoadError, quote } from './errors';
import { parseSafetensors, type RawTensor } from './safetensors';
import { filePath, type FileSource } from './source';

export const WEIGHTS_FILE = 'model.safetensors';
export const SHARD_INDEX_FILE = 'model.safetensors.index.json';

export interface ModelWeights {
  tensors: Map<string, RawTensor>;
  /** How messages name the weights: the safetensors file, or the index of the shards. */
  file: string;
}

/** `model.safetensors` if the folder has it, else the shards of `model.safetensors.index.json`. */
export async function readModelWeights(src: FileSource): Promise<ModelWeights> {
  const file = filePath(src, WEIGHTS_FILE);
  let bytes: Uint8Array;
  try {
    bytes = await src.readBytes(WEIGHTS_FILE);
  } catch (e) {
    if (!(e instanceof ModelLoadError && e.code === 'missing-file')) throw e;
    let indexText: string;
    try {
      indexText = await src.readText(SHARD_INDEX_FILE);
    } catch (e2) {
      if (!(e2 instanceof ModelLoadError && e2.code === 'missing-file')) throw e2;
      throw new ModelLoadError('missing-file', `${file} not found (nor ${SHARD_INDEX_FILE} for a sharded checkpoint)`, { file, cause: e });
    }
    return readShards(src, indexText);
  }
  return { tensors: parseSafetensors(bytes, file).tensors, file };
}

/** The shard file of every tensor, from the index's text; one line for the first fault. */
export function parseShardIndex(text: string, file: string): Map<string, string> {
  const bad = (msg: string, field?: string): never => {
    throw new ModelLoadError('bad-shards', `${file}: ${msg}`, { file, field });
  };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ModelLoadError('bad-json', `${file} is not valid JSON (${e instanceof Error ? e.message : String(e)})`, { file, cause: e });
  }
  const map = (json as { weight_map?: unknown } | null)?.weight_map;
  if (map === null || typeof map !== 'object' || Array.isArray(map)) return bad('weight_map must be an object {tensor name: shard file}', 'weight_map');
  const out = new Map<string, string>();
  for (const [name, shard] of Object.entries(map)) {
    if (typeof shard !== 'string' || !/^[^/\\]+\.safetensors$/.test(shard) || shard.startsWith('.')) {
      bad(`weight_map gives tensor ${quote(name)} the shard ${JSON.stringify(shard)?.slice(0, 120)}; a shard is a .safetensors file name in the same folder`, 'weight_map');
    }
    out.set(name, shard as string);
  }
  if (out.size === 0) bad('weight_map is empty', 'weight_map');
  return out;
}

async function readShards(src: FileSource, indexText: string): Promise<ModelWeights> {
  const file = filePath(src, SHARD_INDEX_FILE);
  const weightMap = parseShardIndex(indexText, file);
  const tensors = new Map<string, RawTensor>();
  for (const shard of new Set(weightMap.values())) {
    const shardFile = filePath(src, shard);
    let bytes: Uint8Array;
    try {
      bytes = await src.readBytes(shard);
    } catch (e) {
      if (e instanceof ModelLoadError && e.code === 'missing-file') {
        throw new ModelLoadError('missing-file', `${shardFile} not found; ${SHARD_INDEX_FILE} names it as a shard`, { file: shardFile, cause: e });
      }
      throw e;
    }
    for (const [name, t] of parseSafetensors(bytes, shardFile).tensors) {
      const mapped = weightMap.get(name);
      if (mapped === undefined) {
        throw new ModelLoadError('bad-shards', `${shardFile}: tensor ${quote(name)} is not in ${SHARD_INDEX_FILE}'s weight_map`, { file: shardFile, tensor: name });
      }
      // a tensor in two shards fails here too: only one of them is the mapped one
      if (mapped !== shard) {
        throw new ModelLoadError('bad-shards', `${shardFile}: tensor ${quote(name)} is mapped to ${quote(mapped)} in ${SHARD_INDEX_FILE}`, { file: shardFile, tensor: name });
      }
      tensors.set(name, t);
    }
  }
  for (const [name, shard] of weightMap) {
    if (!tensors.has(name)) {
      throw new ModelLoadError('bad-shards', `${filePath(src, shard)}: tensor ${quote(name)} is missing; ${SHARD_INDEX_FILE} maps it to this shard`, {
        file: filePath(src, shard),
        tensor: name,
      });
    }
  }
  return { tensors, file };
}

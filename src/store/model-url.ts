// Bringing a model by address: a Hugging Face repo id (`owner/name`, optionally `@revision`)
// or any http(s) URL of a folder serving config.json, model.safetensors and tokenizer.json
// (README.md optional, as the card), or the shards of model.safetensors.index.json in place of
// model.safetensors (docs/design.md § Models). One progress figure for the whole download, a signal to
// cancel it, and every file kept in Cache Storage so that asking again needs no network.

import { summarizeModelConfig, type ModelSummary } from '../io/model-summary';
import { parseShardIndex, SHARD_INDEX_FILE, WEIGHTS_FILE } from '../io/shards';
import { formatBytes } from './saved';

/** The files a model folder needs (README.md is optional, as its card; model.safetensors may be shards). */
export const MODEL_FILES = ['config.json', 'model.safetensors', 'tokenizer.json'] as const;

/** The Cache Storage cache that keeps downloaded model files (by their URL). */
export const MODEL_CACHE = 'calm-models-v1';

export interface ModelSource {
  /** The folder URL, ending in `/`; each file is `base + name`. */
  base: string;
  /** The name the model gets in the pickers (the repo's or the folder's name). */
  id: string;
  /** What the person typed, for messages. */
  input: string;
}

const REPO_ID = /^([A-Za-z0-9][\w.-]*)\/([A-Za-z0-9][\w.-]*)(?:@([\w./-]+))?$/;

/** Reads what the person typed; throws a message that says what is accepted. */
export function parseModelSource(text: string): ModelSource {
  const input = text.trim();
  if (input === '') throw new Error('type a Hugging Face repo id such as openai-community/gpt2, or the URL of a folder with the model files');
  const repo = REPO_ID.exec(input);
  if (repo && !input.includes('://')) {
    const [, owner, name, revision] = repo;
    return { base: `https://huggingface.co/${owner}/${name}/resolve/${encodeURIComponent(revision ?? 'main')}/`, id: name, input };
  }
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new Error(`“${input}” is neither a Hugging Face repo id (owner/name) nor a URL (https://…/)`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`“${input}”: only http and https addresses can be downloaded`);
  // A Hugging Face page (https://huggingface.co/owner/name, or …/tree/main) means the repo's files.
  const hf = /^\/([^/]+)\/([^/]+)(?:\/(?:tree|blob|resolve)\/([^/]+))?\/?$/.exec(url.pathname);
  if (url.hostname === 'huggingface.co' && hf) {
    return { base: `https://huggingface.co/${hf[1]}/${hf[2]}/resolve/${hf[3] ?? 'main'}/`, id: hf[2], input };
  }
  // The URL of one of the files means its folder.
  let path = url.pathname;
  const last = path.split('/').at(-1) ?? '';
  if ([...MODEL_FILES, 'README.md'].includes(last)) path = path.slice(0, -last.length);
  if (!path.endsWith('/')) path += '/';
  const id = path.split('/').filter(Boolean).at(-1) ?? url.hostname;
  return { base: `${url.origin}${path}`, id, input };
}

export interface DownloadProgress {
  /** Bytes received so far, over every file. */
  loaded: number;
  /** Bytes expected over every file, when the server told (Content-Length); else undefined. */
  total?: number;
  /** The file being read now. */
  file: string;
  /** Files that came from the cache rather than the network. */
  cached: number;
}

export interface DownloadOptions {
  fetch?: typeof fetch;
  /** Cache Storage, or undefined where the browser has none (then nothing is kept). */
  caches?: CacheStorage;
  signal?: AbortSignal;
  onProgress?: (p: DownloadProgress) => void;
}

export interface DownloadedFile {
  name: string;
  bytes: ArrayBuffer;
}

function httpProblem(url: string, status: number, source: ModelSource, also = ''): Error {
  const hint =
    status === 404
      ? source.base.startsWith('https://huggingface.co/')
        ? ' (check the repo id and that the repo has this file; a private or gated repo cannot be downloaded here)'
        : ' (is it the folder that holds the model files?)'
      : status === 401 || status === 403
        ? ' (the server refuses: a private or gated model needs a token, which this page does not send)'
        : '';
  return new Error(`${url}: HTTP ${status}${also}${hint}`);
}

/**
 * The most float32 weight bytes the page takes for one model: 2 GiB. The worker holds every
 * weight as float32 in WebAssembly memory (docs/design.md § Models, the page's size limit), and
 * a WebAssembly memory has 32-bit addresses: tfjs's WebAssembly backend grows to at most 4 GiB.
 * The anchor and the augmenting model live there together, with the bridges, their optimiser
 * state, the activations and the frozen models' cached work, so one model gets at most half.
 * (WebGPU has its own limits, but the page falls back to WebAssembly, so this bound holds.)
 */
export const WEIGHT_LIMIT_BYTES = 2 ** 31;

const LIMIT_WORDS = `this page holds at most ${formatBytes(WEIGHT_LIMIT_BYTES)} of float32 weights per model (half of WebAssembly's 4 GB memory, which both models share)`;

/** The one line that refuses a model too big for the page. */
export function tooBigMessage(id: string, what: string): string {
  return `${id} is too big for this page: ${what}, and ${LIMIT_WORDS}`;
}

/** A download refused before the weights came: too big, or a config.json the page cannot run. */
export class ModelRefusedError extends Error {
  override name = 'ModelRefusedError';
  /** Refused for its size: the message is a whole sentence naming the model. */
  constructor(message: string, readonly tooBig = false) {
    super(message);
  }
}

interface Opened {
  name: string;
  url: string;
  response: Response;
  cached: boolean;
}

/**
 * Downloads the model's files: config.json first (small: read whole, summarised, and a model too
 * big for the page refused before any weight is asked for), then every other request is started
 * — model.safetensors, or when it is absent (404) model.safetensors.index.json and every shard it
 * names, tokenizer.json, README.md — so that their Content-Length gives the whole download's
 * total (weights beyond the limit are refused there, and the requests cancelled); then the
 * bodies are read, each file from the cache when it is there. Throws a message naming the file
 * and what went wrong; an AbortError when cancelled.
 */
export async function downloadModel(source: ModelSource, opts: DownloadOptions = {}): Promise<DownloadedFile[]> {
  const doFetch = opts.fetch ?? fetch;
  const cache = opts.caches ? await opts.caches.open(MODEL_CACHE).catch(() => undefined) : undefined;
  // Our requests' own signal: the person's cancel aborts it, and so does a refusal.
  const ours = new AbortController();
  const relay = () => ours.abort(opts.signal?.reason);
  if (opts.signal?.aborted) relay();
  opts.signal?.addEventListener('abort', relay, { once: true });
  const opened: Opened[] = [];
  const refuse = (message: string): never => {
    ours.abort(new DOMException('The download was refused', 'AbortError'));
    for (const o of opened) void o.response.body?.cancel().catch(() => undefined);
    throw new ModelRefusedError(message, true);
  };
  const cancelled = () => (opts.signal?.reason instanceof Error ? opts.signal.reason : new DOMException('The download was cancelled', 'AbortError'));

  /** A file's response: from the cache, else the network. `missing`: what a failure means. */
  const open = async (name: string, missing: 'required' | 'optional' | 'absent-ok'): Promise<Opened | null> => {
    const url = source.base + name;
    const hit = cache ? await cache.match(url).catch(() => undefined) : undefined;
    if (hit) return { name, url, response: hit, cached: true };
    let response: Response;
    try {
      response = await doFetch(url, { signal: ours.signal, mode: 'cors' });
    } catch (e) {
      if (opts.signal?.aborted) throw cancelled();
      if (missing === 'optional') return null;
      throw new Error(`could not reach ${url}: ${e instanceof Error ? e.message : String(e)} (offline, or the server does not allow this page to read it)`, { cause: e });
    }
    if (!response.ok) {
      if (missing === 'optional' || (missing === 'absent-ok' && response.status === 404)) {
        void response.body?.cancel().catch(() => undefined);
        return null;
      }
      throw httpProblem(url, response.status, source);
    }
    return { name, url, response, cached: false };
  };
  /** A small file read whole before the others (config.json, the shard index). */
  const readSmall = async (o: Opened): Promise<ArrayBuffer> =>
    readAll(o.response, opts.signal, () => undefined).catch((e: unknown) => {
      if (opts.signal?.aborted) throw cancelled();
      throw new Error(`${o.url}: the download broke off (${e instanceof Error ? e.message : String(e)})`, { cause: e });
    });
  const known = new Map<Opened, ArrayBuffer>();

  try {
    // 1. config.json: what the model is, and whether the page can hold it.
    const config = (await open('config.json', 'required'))!;
    opened.push(config);
    known.set(config, await readSmall(config));
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(known.get(config)));
    } catch (e) {
      throw new ModelRefusedError(`${config.url} is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
    }
    let summary: ModelSummary;
    try {
      summary = summarizeModelConfig(json, config.url);
    } catch (e) {
      throw new ModelRefusedError(e instanceof Error ? e.message : String(e));
    }
    if (summary.float32Bytes > WEIGHT_LIMIT_BYTES) {
      refuse(tooBigMessage(source.input, `its weights take ${formatBytes(summary.float32Bytes)} as float32 (${summary.parameters.toLocaleString('en')} parameters)`));
    }

    // 2. The weights: one file, or the shards an index names (the cache first for both).
    const weights: Opened[] = [];
    // A sharded checkpoint kept in the cache is read from there without asking for model.safetensors.
    const inCache = async (name: string) => !!cache && !!(await cache.match(source.base + name).catch(() => undefined));
    const shardedInCache = !(await inCache(WEIGHTS_FILE)) && (await inCache(SHARD_INDEX_FILE));
    const single = shardedInCache ? null : await open(WEIGHTS_FILE, 'absent-ok');
    if (single) {
      opened.push(single);
      weights.push(single);
    } else {
      const index = await open(SHARD_INDEX_FILE, 'absent-ok');
      if (!index) throw httpProblem(source.base + WEIGHTS_FILE, 404, source, ` (nor ${SHARD_INDEX_FILE} for a sharded checkpoint)`);
      opened.push(index);
      known.set(index, await readSmall(index));
      let shards: string[];
      try {
        shards = [...new Set(parseShardIndex(new TextDecoder().decode(known.get(index)), index.url).values())];
      } catch (e) {
        throw new ModelRefusedError(e instanceof Error ? e.message : String(e));
      }
      for (const shard of shards) {
        const o = (await open(shard, 'required'))!;
        opened.push(o);
        weights.push(o);
      }
    }

    // 3. The tokenizer and the card.
    const tokenizer = (await open('tokenizer.json', 'required'))!;
    opened.push(tokenizer);
    const readme = await open('README.md', 'optional');
    if (readme) opened.push(readme);

    const sizeOf = (o: Opened) => known.get(o)?.byteLength ?? Number(o.response.headers.get('content-length') ?? NaN);
    const sizes = opened.map(sizeOf);
    const total = sizes.every((n) => Number.isFinite(n) && n >= 0) ? sizes.reduce((a, b) => a + b, 0) : undefined;
    const weightSizes = weights.map(sizeOf);
    if (weightSizes.every((n) => Number.isFinite(n))) {
      const weightBytes = weightSizes.reduce((a, b) => a + b, 0);
      if (weightBytes > WEIGHT_LIMIT_BYTES) {
        refuse(tooBigMessage(source.input, `its weight files are ${formatBytes(weightBytes)} to download (${weights.length} file${weights.length === 1 ? '' : 's'})`));
      }
    }

    // 4. The bodies, with one progress over every file.
    const cachedCount = opened.filter((r) => r.cached).length;
    let loaded = 0;
    for (const bytes of known.values()) loaded += bytes.byteLength;
    const out: DownloadedFile[] = [];
    for (const r of opened) {
      let bytes = known.get(r);
      if (!bytes) {
        opts.onProgress?.({ loaded, total, file: r.name, cached: cachedCount });
        bytes = await readAll(r.response, opts.signal, (n) => {
          loaded += n;
          opts.onProgress?.({ loaded, total, file: r.name, cached: cachedCount });
        }).catch((e: unknown) => {
          if (opts.signal?.aborted) throw e;
          throw new Error(`${r.url}: the download broke off (${e instanceof Error ? e.message : String(e)})`, { cause: e });
        });
      }
      out.push({ name: r.name, bytes });
      if (cache && !r.cached) {
        const headers = { 'content-type': r.response.headers.get('content-type') ?? 'application/octet-stream', 'content-length': String(bytes.byteLength) };
        // Keeping it is a convenience: a full or missing cache only means downloading again.
        await cache.put(r.url, new Response(bytes.slice(0), { headers })).catch(() => undefined);
      }
    }
    opts.onProgress?.({ loaded, total: total ?? loaded, file: '', cached: cachedCount });
    return out;
  } catch (e) {
    // Whatever stopped the download, no request of ours goes on.
    if (!ours.signal.aborted) ours.abort(new DOMException('The download stopped', 'AbortError'));
    throw e;
  } finally {
    opts.signal?.removeEventListener('abort', relay);
  }
}

/** A response's body, chunk by chunk, counting as it goes. */
async function readAll(response: Response, signal: AbortSignal | undefined, onChunk: (n: number) => void): Promise<ArrayBuffer> {
  if (!response.body) {
    const bytes = await response.arrayBuffer();
    onChunk(bytes.byteLength);
    return bytes;
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new DOMException('The download was cancelled', 'AbortError');
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
      onChunk(value.byteLength);
    }
  } finally {
    reader.releaseLock();
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  return bytes.buffer;
}

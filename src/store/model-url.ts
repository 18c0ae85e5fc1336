// Bringing a model by address: a Hugging Face repo id (`owner/name`, optionally `@revision`)
// or any http(s) URL of a folder serving config.json, model.safetensors and tokenizer.json
// (README.md optional, as the card). One progress figure for the whole download, a signal to
// cancel it, and every file kept in Cache Storage so that asking again needs no network.

/** The files a model folder needs (README.md is optional, as its card). */
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

function httpProblem(url: string, status: number, source: ModelSource): Error {
  const hint =
    status === 404
      ? source.base.startsWith('https://huggingface.co/')
        ? ' (check the repo id and that the repo has this file; a private or gated repo cannot be downloaded here)'
        : ' (is it the folder that holds the model files?)'
      : status === 401 || status === 403
        ? ' (the server refuses: a private or gated model needs a token, which this page does not send)'
        : '';
  return new Error(`${url}: HTTP ${status}${hint}`);
}

/**
 * Downloads the model's files: starts every request first (their Content-Length gives the
 * whole download's total), then reads the bodies, each file from the cache when it is there. Throws a
 * message naming the file and what went wrong; an AbortError when cancelled.
 */
export async function downloadModel(source: ModelSource, opts: DownloadOptions = {}): Promise<DownloadedFile[]> {
  const doFetch = opts.fetch ?? fetch;
  const cache = opts.caches ? await opts.caches.open(MODEL_CACHE).catch(() => undefined) : undefined;
  const names = [...MODEL_FILES, 'README.md'] as const;
  const optional = (name: string) => name === 'README.md';

  // What each file is: a cached response, or a network response still to read.
  const responses: { name: string; url: string; response: Response; cached: boolean }[] = [];
  for (const name of names) {
    const url = source.base + name;
    const hit = cache ? await cache.match(url).catch(() => undefined) : undefined;
    if (hit) {
      responses.push({ name, url, response: hit, cached: true });
      continue;
    }
    let response: Response;
    try {
      response = await doFetch(url, { signal: opts.signal, mode: 'cors' });
    } catch (e) {
      if (opts.signal?.aborted) throw e;
      if (optional(name)) continue;
      throw new Error(`could not reach ${url}: ${e instanceof Error ? e.message : String(e)} (offline, or the server does not allow this page to read it)`, { cause: e });
    }
    if (!response.ok) {
      if (optional(name)) continue;
      throw httpProblem(url, response.status, source);
    }
    responses.push({ name, url, response, cached: false });
  }

  const sizes = responses.map((r) => Number(r.response.headers.get('content-length') ?? NaN));
  const total = sizes.every((n) => Number.isFinite(n) && n >= 0) ? sizes.reduce((a, b) => a + b, 0) : undefined;
  const cachedCount = responses.filter((r) => r.cached).length;
  let loaded = 0;
  const out: DownloadedFile[] = [];
  for (const r of responses) {
    opts.onProgress?.({ loaded, total, file: r.name, cached: cachedCount });
    const bytes = await readAll(r.response, opts.signal, (n) => {
      loaded += n;
      opts.onProgress?.({ loaded, total, file: r.name, cached: cachedCount });
    }).catch((e: unknown) => {
      if (opts.signal?.aborted) throw e;
      throw new Error(`${r.url}: the download broke off (${e instanceof Error ? e.message : String(e)})`, { cause: e });
    });
    out.push({ name: r.name, bytes });
    if (cache && !r.cached) {
      const headers = { 'content-type': r.response.headers.get('content-type') ?? 'application/octet-stream', 'content-length': String(bytes.byteLength) };
      // Keeping it is a convenience: a full or missing cache only means downloading again.
      await cache.put(r.url, new Response(bytes.slice(0), { headers })).catch(() => undefined);
    }
  }
  opts.onProgress?.({ loaded, total: total ?? loaded, file: '', cached: cachedCount });
  return out;
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

// Bringing a model by repo id or URL: what the address means, one progress figure for the
// whole download, the files kept in Cache Storage (the second time needs no network), and a
// message naming the file for every failure.
import { describe, expect, it } from 'vitest';
import { MODEL_CACHE, downloadModel, parseModelSource, type DownloadProgress } from '../../src/store/model-url';

describe('parseModelSource', () => {
  it('reads repo ids, Hugging Face pages and folder or file URLs', () => {
    expect(parseModelSource(' openai-community/gpt2 ')).toEqual({
      base: 'https://huggingface.co/openai-community/gpt2/resolve/main/',
      id: 'gpt2',
      input: 'openai-community/gpt2',
    });
    expect(parseModelSource('sshleifer/tiny-gpt2@5f91d94').base).toBe('https://huggingface.co/sshleifer/tiny-gpt2/resolve/5f91d94/');
    expect(parseModelSource('https://huggingface.co/distilbert/distilgpt2').base).toBe('https://huggingface.co/distilbert/distilgpt2/resolve/main/');
    expect(parseModelSource('https://huggingface.co/distilbert/distilgpt2/tree/v1').base).toBe('https://huggingface.co/distilbert/distilgpt2/resolve/v1/');
    expect(parseModelSource('https://example.org/models/mine')).toMatchObject({ base: 'https://example.org/models/mine/', id: 'mine' });
    expect(parseModelSource('https://example.org/models/mine/config.json')).toMatchObject({ base: 'https://example.org/models/mine/', id: 'mine' });
  });

  it('says what it accepts when it cannot read the address', () => {
    expect(() => parseModelSource('')).toThrow(/repo id such as openai-community\/gpt2/);
    expect(() => parseModelSource('not a model')).toThrow('“not a model” is neither a Hugging Face repo id (owner/name) nor a URL (https://…/)');
    expect(() => parseModelSource('ftp://example.org/m/')).toThrow(/only http and https/);
  });
});

/** A Cache Storage held in memory, with the subset of the API downloadModel uses. */
function memoryCaches(): CacheStorage & { store: Map<string, Map<string, Uint8Array>> } {
  const store = new Map<string, Map<string, Uint8Array>>();
  const open = (name: string) => {
    const entries = store.get(name) ?? new Map<string, Uint8Array>();
    store.set(name, entries);
    return Promise.resolve({
      match: (url: string) => Promise.resolve(entries.has(url) ? new Response(entries.get(url)!.slice(), { headers: { 'content-length': String(entries.get(url)!.byteLength) } }) : undefined),
      put: async (url: string, r: Response) => {
        entries.set(url, new Uint8Array(await r.arrayBuffer()));
      },
    } as unknown as Cache);
  };
  return { open, store } as unknown as CacheStorage & { store: typeof store };
}

const FILES: Record<string, Uint8Array> = {
  'config.json': new TextEncoder().encode('{"model_type":"gpt2"}'),
  'model.safetensors': new Uint8Array(10_000).map((_, i) => i % 251),
  'tokenizer.json': new TextEncoder().encode('{"model":{}}'),
};

/** A server for `base` that streams each file in 1000-byte chunks; counts its requests. */
function server(base: string, files = FILES, opts: { lengths?: boolean } = {}) {
  const requests: string[] = [];
  const fetchImpl = (async (input: RequestInfo | URL) => {
    const url = String(input);
    requests.push(url);
    const name = url.slice(base.length);
    const bytes = url.startsWith(base) ? files[name] : undefined;
    if (!bytes) return new Response('Not Found', { status: 404 });
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < bytes.length; i += 1000) c.enqueue(bytes.slice(i, i + 1000));
        c.close();
      },
    });
    return new Response(body, { headers: opts.lengths === false ? {} : { 'content-length': String(bytes.byteLength) } });
  }) as typeof fetch;
  return { fetch: fetchImpl, requests };
}

describe('downloadModel', () => {
  const source = parseModelSource('me/tiny');

  it('downloads the three files with one progress over all of them, skips a missing README, and keeps them in the cache', async () => {
    const { fetch, requests } = server(source.base);
    const caches = memoryCaches();
    const seen: DownloadProgress[] = [];
    const files = await downloadModel(source, { fetch, caches, onProgress: (p) => seen.push(p) });
    expect(files.map((f) => f.name)).toEqual(['config.json', 'model.safetensors', 'tokenizer.json']);
    for (const f of files) expect(new Uint8Array(f.bytes)).toEqual(FILES[f.name]);
    const total = Object.values(FILES).reduce((a, b) => a + b.byteLength, 0);
    expect(seen.every((p) => p.total === total)).toBe(true);
    const loaded = seen.map((p) => p.loaded);
    expect([...loaded].sort((a, b) => a - b)).toEqual(loaded); // only forward
    expect(loaded.at(-1)).toBe(total);
    expect(seen.filter((p) => p.file === 'model.safetensors').length).toBeGreaterThan(5); // chunk by chunk
    expect(requests).toHaveLength(4); // three files and the optional README
    expect([...caches.store.get(MODEL_CACHE)!.keys()].sort()).toEqual(Object.keys(FILES).map((n) => source.base + n).sort());

    // Again: everything from the cache, no network at all.
    const offline = (() => Promise.reject(new TypeError('Failed to fetch'))) as typeof fetch;
    const again: DownloadProgress[] = [];
    const cached = await downloadModel(source, { fetch: offline, caches, onProgress: (p) => again.push(p) });
    expect(cached.map((f) => new Uint8Array(f.bytes))).toEqual(files.map((f) => new Uint8Array(f.bytes)));
    expect(again.at(-1)).toMatchObject({ loaded: total, cached: 3 });
  });

  it('without Content-Length, the progress counts bytes with no total', async () => {
    const { fetch } = server(source.base, FILES, { lengths: false });
    const seen: DownloadProgress[] = [];
    await downloadModel(source, { fetch, onProgress: (p) => seen.push(p) });
    expect(seen.slice(0, -1).every((p) => p.total === undefined)).toBe(true);
    expect(seen.at(-1)!.loaded).toBe(10_000 + FILES['config.json'].byteLength + FILES['tokenizer.json'].byteLength);
  });

  it('names the missing file and what to check', async () => {
    const { fetch } = server(source.base, { 'config.json': FILES['config.json'] });
    await expect(downloadModel(source, { fetch })).rejects.toThrow(
      'https://huggingface.co/me/tiny/resolve/main/model.safetensors: HTTP 404 (check the repo id and that the repo has this file; a private or gated repo cannot be downloaded here)',
    );
    const gated = (() => Promise.resolve(new Response('', { status: 401 }))) as typeof fetch;
    await expect(downloadModel(source, { fetch: gated })).rejects.toThrow(/config\.json: HTTP 401 \(the server refuses: a private or gated model needs a token/);
    const offline = (() => Promise.reject(new TypeError('Failed to fetch'))) as typeof fetch;
    await expect(downloadModel(source, { fetch: offline })).rejects.toThrow(/^could not reach https:\/\/huggingface\.co\/me\/tiny\/resolve\/main\/config\.json: Failed to fetch \(offline/);
  });

  it('stops when cancelled and keeps nothing half-read', async () => {
    const { fetch } = server(source.base);
    const caches = memoryCaches();
    const controller = new AbortController();
    const run = downloadModel(source, {
      fetch,
      caches,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.file === 'model.safetensors' && p.loaded > 3000) controller.abort(new DOMException('cancelled', 'AbortError'));
      },
    });
    await expect(run).rejects.toThrow('cancelled');
    expect([...caches.store.get(MODEL_CACHE)!.keys()]).toEqual([source.base + 'config.json']);
  });
});

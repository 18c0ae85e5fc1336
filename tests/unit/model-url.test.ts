// Bringing a model by repo id or URL: what the address means, one progress figure for the
// whole download, the files kept in Cache Storage (the second time needs no network), and a
// message naming the file for every failure.
import { describe, expect, it } from 'vitest';
import { MODEL_CACHE, WEIGHT_LIMIT_BYTES, downloadModel, parseModelSource, type DownloadProgress } from '../../src/store/model-url';

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

const TINY_CONFIG = { model_type: 'gpt2', vocab_size: 11, n_positions: 8, n_embd: 8, n_layer: 2, n_head: 2 };
const FILES: Record<string, Uint8Array> = {
  'config.json': new TextEncoder().encode(JSON.stringify(TINY_CONFIG)),
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
      'https://huggingface.co/me/tiny/resolve/main/model.safetensors: HTTP 404 (nor model.safetensors.index.json for a sharded checkpoint) (check the repo id and that the repo has this file; a private or gated repo cannot be downloaded here)',
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

/** A server whose bodies are pulled chunk by chunk: it counts what was read and what was cancelled; `lengths` overrides Content-Length. */
function lazyServer(base: string, files: Record<string, Uint8Array>, lengths: Record<string, number> = {}) {
  const requests: string[] = [];
  const read = new Map<string, number>();
  const cancelled: string[] = [];
  const fetchImpl = (async (input: RequestInfo | URL) => {
    const url = String(input);
    requests.push(url);
    const name = url.slice(base.length);
    const bytes = url.startsWith(base) ? files[name] : undefined;
    if (!bytes) return new Response('Entry not found', { status: 404 });
    let at = 0;
    const body = new ReadableStream<Uint8Array>(
      {
        pull(c) {
          if (at >= bytes.length) return c.close();
          const chunk = bytes.slice(at, at + 1000);
          at += chunk.length;
          read.set(name, at);
          c.enqueue(chunk);
        },
        cancel() {
          cancelled.push(name);
        },
      },
      { highWaterMark: 0 },
    );
    return new Response(body, { headers: { 'content-length': String(lengths[name] ?? bytes.byteLength) } });
  }) as typeof fetch;
  return { fetch: fetchImpl, requests, read, cancelled };
}

describe('downloadModel, sharded checkpoints and the size limit', () => {
  const source = parseModelSource('me/sharded');
  const shard = (n: number, seed: number) => new Uint8Array(n).map((_, i) => (i * seed) % 253);
  const index = { metadata: { total_size: 7000 }, weight_map: { 'wte.weight': 'model-00001-of-00002.safetensors', 'h.0.ln_1.weight': 'model-00001-of-00002.safetensors', 'ln_f.weight': 'model-00002-of-00002.safetensors' } };
  const SHARDED: Record<string, Uint8Array> = {
    'config.json': FILES['config.json'],
    'model.safetensors.index.json': new TextEncoder().encode(JSON.stringify(index)),
    'model-00001-of-00002.safetensors': shard(4000, 7),
    'model-00002-of-00002.safetensors': shard(3000, 11),
    'tokenizer.json': FILES['tokenizer.json'],
  };

  it('fetches model.safetensors.index.json when model.safetensors is absent, then every shard it names, with one progress and the cache', async () => {
    const { fetch, requests } = server(source.base, SHARDED);
    const caches = memoryCaches();
    const seen: DownloadProgress[] = [];
    const files = await downloadModel(source, { fetch, caches, onProgress: (p) => seen.push(p) });
    expect(files.map((f) => f.name)).toEqual(['config.json', 'model.safetensors.index.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'tokenizer.json']);
    for (const f of files) expect(new Uint8Array(f.bytes)).toEqual(SHARDED[f.name]);
    expect(requests.map((u) => u.slice(source.base.length))).toEqual([
      'config.json',
      'model.safetensors', // 404: sharded
      'model.safetensors.index.json',
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
      'tokenizer.json',
      'README.md',
    ]);
    const total = Object.values(SHARDED).reduce((a, b) => a + b.byteLength, 0);
    expect(seen.every((p) => p.total === total)).toBe(true);
    const loaded = seen.map((p) => p.loaded);
    expect([...loaded].sort((a, b) => a - b)).toEqual(loaded);
    expect(loaded.at(-1)).toBe(total);
    expect(seen.filter((p) => p.file === 'model-00001-of-00002.safetensors').length).toBeGreaterThan(3);
    expect(seen.filter((p) => p.file === 'model-00002-of-00002.safetensors').length).toBeGreaterThan(2);
    expect([...caches.store.get(MODEL_CACHE)!.keys()].sort()).toEqual(Object.keys(SHARDED).map((n) => source.base + n).sort());

    // Again, offline: every file from the cache, model.safetensors not even asked for.
    const asked: string[] = [];
    const offline = ((input: RequestInfo | URL) => {
      asked.push(String(input));
      return Promise.reject(new TypeError('Failed to fetch'));
    }) as typeof fetch;
    const again: DownloadProgress[] = [];
    const cached = await downloadModel(source, { fetch: offline, caches, onProgress: (p) => again.push(p) });
    expect(cached.map((f) => f.name)).toEqual(files.map((f) => f.name));
    expect(cached.map((f) => new Uint8Array(f.bytes))).toEqual(files.map((f) => new Uint8Array(f.bytes)));
    expect(again.at(-1)).toMatchObject({ loaded: total, cached: 5 });
    expect(asked).toEqual([source.base + 'README.md']); // the optional card, never kept because never found
  });

  it('names a shard the index names but the server lacks, and an index that is not one', async () => {
    const { 'model-00002-of-00002.safetensors': _, ...lacking } = SHARDED;
    await expect(downloadModel(source, { fetch: server(source.base, lacking).fetch })).rejects.toThrow(
      'https://huggingface.co/me/sharded/resolve/main/model-00002-of-00002.safetensors: HTTP 404 (check the repo id',
    );
    const badIndex = { ...SHARDED, 'model.safetensors.index.json': new TextEncoder().encode('{"weight_map": {"wte.weight": "../x.bin"}}') };
    await expect(downloadModel(source, { fetch: server(source.base, badIndex).fetch })).rejects.toThrow(
      /^https:\/\/huggingface\.co\/me\/sharded\/resolve\/main\/model\.safetensors\.index\.json: weight_map gives tensor "wte\.weight" the shard "\.\.\/x\.bin"/,
    );
  });

  it('refuses a model whose float32 weights pass the limit from config.json alone: one line, nothing else asked for', async () => {
    // SmolLM2-1.7B's sizes: 1,711,376,384 parameters, 6.38 GB as float32.
    const big = {
      model_type: 'llama',
      vocab_size: 49152,
      hidden_size: 2048,
      intermediate_size: 8192,
      num_hidden_layers: 24,
      num_attention_heads: 32,
      num_key_value_heads: 32,
      max_position_embeddings: 8192,
      tie_word_embeddings: true,
    };
    const files = { ...FILES, 'config.json': new TextEncoder().encode(JSON.stringify(big)) };
    const { fetch, requests } = lazyServer(source.base, files);
    const caches = memoryCaches();
    const error = await downloadModel(source, { fetch, caches }).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toBe(
      `me/sharded is too big for this page: its weights take ${(1_711_376_384 * 4 / 1024 ** 3).toFixed(2)} GB as float32 (1,711,376,384 parameters), and this page holds at most 2.00 GB of float32 weights per model (half of WebAssembly's 4 GB memory, which both models share)`,
    );
    expect(error?.message).not.toContain('\n');
    expect(WEIGHT_LIMIT_BYTES).toBe(2 ** 31);
    expect(requests).toEqual([source.base + 'config.json']);
    expect([...(caches.store.get(MODEL_CACHE)?.keys() ?? [])]).toEqual([]);
  });

  it('refuses weights whose Content-Length totals pass the limit once the requests are started, and cancels them unread', async () => {
    const lengths = { 'model-00001-of-00002.safetensors': 1_500_000_000, 'model-00002-of-00002.safetensors': 1_000_000_000 };
    const { fetch, read, cancelled } = lazyServer(source.base, SHARDED, lengths);
    const caches = memoryCaches();
    const seen: DownloadProgress[] = [];
    const error = await downloadModel(source, { fetch, caches, onProgress: (p) => seen.push(p) }).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toBe(
      `me/sharded is too big for this page: its weight files are ${(2_500_000_000 / 1024 ** 3).toFixed(2)} GB to download (2 files), and this page holds at most 2.00 GB of float32 weights per model (half of WebAssembly's 4 GB memory, which both models share)`,
    );
    // config.json and the index were read whole (small); no shard and no tokenizer byte was.
    expect([...read.keys()].sort()).toEqual(['config.json', 'model.safetensors.index.json']);
    expect(cancelled.sort()).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'tokenizer.json']);
    expect(seen).toEqual([]);
    expect([...(caches.store.get(MODEL_CACHE)?.keys() ?? [])]).toEqual([]);
  });

  it('refuses a config.json the page cannot run before any weight is asked for', async () => {
    const files = { ...FILES, 'config.json': new TextEncoder().encode(JSON.stringify({ ...TINY_CONFIG, model_type: 'falcon' })) };
    const { fetch, requests } = lazyServer(source.base, files);
    await expect(downloadModel(source, { fetch })).rejects.toThrow(
      'https://huggingface.co/me/sharded/resolve/main/config.json: model_type "falcon" is not supported (supported: gpt2, llama, gpt_neox)',
    );
    expect(requests).toEqual([source.base + 'config.json']);
  });
});

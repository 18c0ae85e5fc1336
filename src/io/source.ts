// A model folder seen as named files, so one loader serves built-in models (fetched),
// imported folders (browser File objects, put in memory) and Node (node-source.ts).

import { ModelLoadError } from './errors';

export interface FileSource {
  label: string; // shown in messages: a URL, a folder path, a name
  readText(name: string): Promise<string>;
  readBytes(name: string): Promise<Uint8Array>;
}

/** `label/name`, the way messages name a file of a source. */
export function filePath(src: FileSource | string, name: string): string {
  const label = typeof src === 'string' ? src : src.label;
  return label ? `${label.replace(/\/+$/, '')}/${name}` : name;
}

/** Files fetched from `baseUrl` (a folder URL; a trailing slash is optional). */
export function urlSource(baseUrl: string, fetchFn: typeof fetch = (...a) => fetch(...a)): FileSource {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  const get = async (name: string): Promise<Response> => {
    const url = base + name.split('/').map(encodeURIComponent).join('/');
    let res: Response;
    try {
      res = await fetchFn(url);
    } catch (e) {
      throw new ModelLoadError('http-error', `${url}: request failed (${e instanceof Error ? e.message : String(e)})`, {
        file: url,
        cause: e,
      });
    }
    if (res.status === 404) {
      throw new ModelLoadError('missing-file', `${url} not found (HTTP 404)`, { file: url });
    }
    if (!res.ok) {
      throw new ModelLoadError('http-error', `${url}: HTTP ${res.status} ${res.statusText}`.trim(), { file: url });
    }
    // A dev server with an SPA fallback answers a missing file with index.html and 200;
    // an HTML body for a file that is not .html means the file is not there.
    const type = res.headers.get('content-type') ?? '';
    if (type.startsWith('text/html') && !/\.html?$/i.test(name)) {
      throw new ModelLoadError('missing-file', `${url} not found (the server answered with an HTML page)`, { file: url });
    }
    return res;
  };
  return {
    label: base.replace(/\/+$/, ''),
    readText: async (name) => (await get(name)).text(),
    readBytes: async (name) => new Uint8Array(await (await get(name)).arrayBuffer()),
  };
}

/** Files held in memory (an imported folder, a test fixture, a freshly trained model). */
export function memorySource(label: string, files: Record<string, Uint8Array | string>): FileSource {
  const get = (name: string): Uint8Array | string => {
    if (!Object.hasOwn(files, name)) {
      throw new ModelLoadError('missing-file', `${filePath(label, name)} not found`, { file: filePath(label, name) });
    }
    return files[name];
  };
  return {
    label,
    readText: async (name) => {
      const f = get(name);
      return typeof f === 'string' ? f : new TextDecoder().decode(f);
    },
    readBytes: async (name) => {
      const f = get(name);
      return typeof f === 'string' ? new TextEncoder().encode(f) : f;
    },
  };
}

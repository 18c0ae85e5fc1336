// The Node file system as a FileSource; the only io module that imports node:*, so the
// rest of io stays loadable in a browser or worker.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelLoadError } from './errors';
import { filePath, type FileSource } from './source';

/** The files of folder `dir`. */
export function nodeFolderSource(dir: string): FileSource {
  const read = async (name: string): Promise<Buffer> => {
    const path = filePath(dir, name);
    try {
      return await readFile(join(dir, name));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new ModelLoadError('missing-file', `${path} not found`, { file: path, cause: e });
      throw new ModelLoadError('read-error', `${path}: cannot read (${code ?? (e as Error).message})`, {
        file: path,
        cause: e,
      });
    }
  };
  return {
    label: dir,
    readText: async (name) => (await read(name)).toString('utf8'),
    // A plain Uint8Array view of the Buffer, no copy (readFile gives each file its own buffer).
    readBytes: async (name) => {
      const b = await read(name);
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    },
  };
}

// The store keeps no state in its modules: what its actions keep between calls lives in the
// session controller (src/store/controller.ts) that start-up installs, and a test gets a clean
// page by installing a fresh one. This pins that: no top-level `let`/`var` in src/store, and no
// top-level collection made empty to be filled at run time (a Map, a Set, `[]`). Constant
// tables (a list of column names) are data, not state.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sourceFiles } from './helpers/import-graph';

const STORE = fileURLToPath(new URL('../../src/store/', import.meta.url));
const MUTABLE = /^(?:export )?(?:let|var) |^(?:export )?const \w+(?:: [^=]+)? = (?:new (?:Map|Set|WeakMap|WeakSet|Array)\b|\[\])/;

/** The top-level lines of `text` that declare mutable state. */
function mutableDeclarations(text: string): string[] {
  return text.split('\n').filter((line) => MUTABLE.test(line));
}

describe('module-level state in src/store', () => {
  it('none: every file of src/store declares only constants and functions at top level', () => {
    const files = sourceFiles(STORE);
    expect(files.length).toBeGreaterThan(30);
    const found = files.flatMap((f) => mutableDeclarations(readFileSync(f, 'utf8')).map((line) => `${relative(STORE, f)}: ${line}`));
    expect(found).toEqual([]);
  });

  it('the check sees top-level lets, vars and collections, not locals or constants', () => {
    const text = [
      'let queue = Promise.resolve();',
      'export let linked = false;',
      'var old = 1;',
      'const imported = new Map<string, number>();',
      'const running: Activity[] = [];',
      "export const COLUMNS: readonly Column[] = ['anchor', 'augment', 'composed'];",
      "export const NO_LINKS = 'Add a link';",
      '  let local = 0;',
    ].join('\n');
    expect(mutableDeclarations(text)).toEqual([
      'let queue = Promise.resolve();',
      'export let linked = false;',
      'var old = 1;',
      'const imported = new Map<string, number>();',
      'const running: Activity[] = [];',
    ]);
  });
});

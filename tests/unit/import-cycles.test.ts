// No file of src/ imports itself through other files. A cycle makes load order matter (a
// module can see another's exports before they are set) and means the files cannot be read,
// tested or moved one without the other: layering (docs/design.md § Layering) only holds
// without them.
//
// `import type` counts: it is erased at run time, so it cannot break load order, but a type
// cycle still ties the files' meaning together (a slice's type that names an action's, an
// action that names the slice's), which is what the rule is for. Dynamic `import()` counts too.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cycles, describeCycle, importGraph, relativeSpecifiers } from './helpers/import-graph';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

describe('import cycles', () => {
  it('src/ has no file-level import cycle', () => {
    const graph = importGraph(SRC);
    expect(graph.size).toBeGreaterThan(100); // the walk found the source files
    const found = cycles(graph).map((c) => describeCycle(graph, c, SRC));
    expect(found).toEqual([]);
  });

  it('the helper sees every kind of relative import and finds a cycle through several files', () => {
    const text = [
      "import { a } from './a';",
      "import type { B } from '../b';",
      "export { c } from './c';",
      "export * from './d';",
      "import './side-effect';",
      "const e = await import('./e');",
      "import { f } from 'react'; // not relative",
      "// import { g } from './commented-out';",
      '/* import { h } from "./also-commented"; */',
    ].join('\n');
    expect(relativeSpecifiers(text)).toEqual(['./a', '../b', './c', './d', './side-effect', './e']);
    const graph = new Map([
      ['/x/a.ts', ['/x/b.ts']],
      ['/x/b.ts', ['/x/c.ts']],
      ['/x/c.ts', ['/x/a.ts', '/x/d.ts']],
      ['/x/d.ts', []],
      ['/x/e.ts', ['/x/e.ts']],
    ]);
    const found = cycles(graph);
    expect(found).toEqual([['/x/a.ts', '/x/b.ts', '/x/c.ts'], ['/x/e.ts']]);
    expect(describeCycle(graph, found[0], '/x')).toBe('a.ts → b.ts → c.ts → a.ts');
  });
});

// Research driver for issue 4: runs the key-value experiment with recipe overrides and prints
// the table as one JSON line. Usage: tsx research/kv-sweep.ts '{"steps":600,"connections":"-1:2"}' [seed]
import { join } from 'node:path';
import { useBackend } from '../src/model/tf';
import { Tokenizer } from '../src/tokenizer';
import { loadModelFolder } from '../src/io/model-folder';
import { nodeFolderSource } from '../src/io/node-source';
import type { ModelHandle } from '../src/calm/experiment';
import { KV_RECIPE } from '../src/tasks/recipe';
import { SPEC_DEFAULTS } from '../src/calm/spec';
import { runKVRepro } from '../src/pipeline/repro';

async function load(id: string): Promise<ModelHandle> {
  const m = await loadModelFolder(nodeFolderSource(join('public', 'models', id)));
  return { name: id, model: m.model, tokenizer: Tokenizer.fromJSON(m.tokenizerJson, id) };
}

const overrides = JSON.parse(process.argv[2] ?? '{}');
const seed = Number(process.argv[3] ?? 1);
await useBackend('wasm');
const recipe = { ...KV_RECIPE, ...overrides };
// the overrides' spec fields change the spec's defaults
const spec = Object.fromEntries(Object.entries(overrides).filter(([k]) => k in SPEC_DEFAULTS));
const r = await runKVRepro(await load(overrides.anchor ?? 'arith-tiny'), await load(overrides.augment ?? 'kv-tiny'), {
  recipe,
  spec,
  seed,
  onProgress: (p) => process.stderr.write(`step ${p.step} loss ${p.loss.toFixed(4)} ${p.stepsPerSecond.toFixed(2)}/s\n`),
});
console.log(JSON.stringify({ overrides, seed, table: r.table, chance: r.chance, trainSeconds: r.trainSeconds, losses: r.training.losses.filter((_, i) => i % 100 === 99) }));

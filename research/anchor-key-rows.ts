// An ablation of the built-in anchor's key rows (docs/reproduction.md): writes a copy of
// arith-tiny whose embedding rows for the tokens it never trained on are random, N(0, σ), as
// they would be had they been left at their initialisation, instead of the mean of its trained
// rows. Compose it with `repro kv --anchor DIR`.
//
//   npx tsx research/anchor-key-rows.ts /tmp/anchor-random-rows [σ = 0.02]
import { mkdir, readFile, writeFile, copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseSafetensors, writeSafetensors } from '../src/io/safetensors';
import { makeRng } from '../src/tasks/rng';

const [out, sigmaText] = process.argv.slice(2);
if (!out) throw new Error('usage: npx tsx research/anchor-key-rows.ts OUT_DIR [sigma]');
const sigma = Number(sigmaText ?? 0.02);
const src = join('public', 'models', 'arith-tiny');
const file = parseSafetensors(new Uint8Array(await readFile(join(src, 'model.safetensors'))), 'model.safetensors');
const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
for (const [name, t] of file.tensors) tensors[name] = { shape: t.shape, data: Float32Array.from(t.data as ArrayLike<number>) };
const wte = tensors['wte.weight'] ?? tensors['transformer.wte.weight'];
const [V, D] = wte.shape;
// rows equal to the mean row are the ones train-builtin set: the tokens the anchor never used
const first = wte.data.slice(0, D); // id 0 (<pad>) is never used by num-arith
const rng = makeRng(7);
let replaced = 0;
for (let id = 0; id < V; id++) {
  const row = wte.data.subarray(id * D, (id + 1) * D);
  if (!row.every((x, j) => x === first[j])) continue;
  for (let j = 0; j < D; j++) {
    // Box–Muller
    const u = Math.max(rng.next(), 1e-12);
    row[j] = sigma * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
  }
  replaced++;
}
await mkdir(out, { recursive: true });
await writeFile(join(out, 'model.safetensors'), writeSafetensors(tensors));
for (const f of ['config.json', 'tokenizer.json']) await copyFile(join(src, f), join(out, f));
console.log(`${replaced} of ${V} embedding rows random N(0, ${sigma}) → ${out}`);

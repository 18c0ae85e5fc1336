// Diagnostic: an *oracle* in place of the augmenting model — at a key's last letter a one-hot of
// its value (dims 0–9), at its other letters a flag (dim 10), zero elsewhere. If bridges cannot
// learn from this, the trouble is in training or the anchor, not in the augmenting states.
import { join } from 'node:path';
import { tf, useBackend } from '../src/model/tf';
import { Tokenizer } from '../src/tokenizer';
import { loadModelFolder } from '../src/io/model-folder';
import { nodeFolderSource } from '../src/io/node-source';
import { composeModels, type ModelHandle } from '../src/calm/experiment';
import { PLAIN_BRIDGE } from '../src/calm/spec';
import { Composition, composedRecomputeDecoder } from '../src/calm/compose';
import { codecOf, exactMatch } from '../src/pipeline/evaluate';
import { makeExamples } from '../src/tasks/kv';
import { KV_SPEC, makeKeyTable } from '../src/tasks/kv';
import { KV_RECIPE, compositionExamples } from '../src/tasks/recipe';
import { encodeExamples } from '../src/train/batch';
import { trainComposition } from '../src/train/compose-train';

async function load(id: string): Promise<ModelHandle> {
  const m = await loadModelFolder(nodeFolderSource(join('public', 'models', id)));
  return { name: id, model: m.model, tokenizer: Tokenizer.fromJSON(m.tokenizerJson, id) };
}
const o = JSON.parse(process.argv[2] ?? '{}');
await useBackend('wasm');
const a = await load('arith-tiny'), g = await load('kv-tiny');
const table = makeKeyTable(KV_SPEC);
const recipe = { ...KV_RECIPE, ...o };
class Oracle extends Composition {
  override augmentStates(ids: tf.Tensor2D): Map<number, tf.Tensor3D> {
    const rows = ids.arraySync() as number[][];
    const D = this.augment.config.nEmbd;
    const feats = new Float32Array(rows.length * rows[0].length * D);
    rows.forEach((r, b) => {
      const s = a.tokenizer.decode(r, false).padEnd(r.length, ' ');
      for (let t = 0; t < r.length; t++) {
        const isL = (i: number) => i >= 0 && i < s.length && /[a-z]/.test(s[i]);
        if (!isL(t)) continue;
        const base = (b * r.length + t) * D;
        if (isL(t - 2) && isL(t - 1) && !isL(t + 1)) {
          const v = table.values[s.slice(t - 2, t + 1)];
          if (v !== undefined) feats[base + v] = 1;
        } else feats[base + 10] = 1;
      }
    });
    const x = tf.tensor3d(feats, [rows.length, rows[0].length, D]);
    return new Map(this.augmentLayers.map((l) => [l, x]));
  }
}
const base = composeModels(a, g, { connections: recipe.connections, output: recipe.output, seed: 1, ...PLAIN_BRIDGE });
const comp = new Oracle(base.anchor, base.augment, base.spec, base.bridges);
const data = encodeExamples(codecOf(a.tokenizer), compositionExamples(table, recipe, 1), 32);
const r = await trainComposition(comp, data, { steps: recipe.steps, lr: recipe.lr, batchSize: recipe.batch, seed: 1, padId: 0, progressEvery: 50,
  onProgress: (p) => process.stderr.write(`step ${p.step} loss ${p.loss.toFixed(4)}\n`) });
// evaluation through the recompute path (the oracle has no incremental form)
const acc = async (task: 'kv-arith' | 'num-arith', keys: 'held-out' | 'composition' | 'all') =>
  (await exactMatch((B) => composedRecomputeDecoder(comp, B), codecOf(a.tokenizer), makeExamples(task, o.evalN ?? 200, { seed: 77, table, keys }))).accuracy;
console.log(JSON.stringify({ o, heldOut: await acc('kv-arith', 'held-out'), train: await acc('kv-arith', 'composition'), num: await acc('num-arith', 'all'), seconds: r.seconds }));

// Diagnostic: the bridge's cross-attention restricted to a causal window of w positions
// (w = 1: each anchor position reads only the augmenting state at the same position).
import { join } from 'node:path';
import { tf, useBackend } from '../src/model/tf';
import { GPT, linear, splitHeads, mergeHeads, matmul, type BlockHook } from '../src/model/gpt';
import { Tokenizer } from '../src/tokenizer';
import { loadModelFolder } from '../src/io/model-folder';
import { nodeFolderSource } from '../src/io/node-source';
import { composeModels, evaluateTable, codecOf, type ModelHandle } from '../src/calm/experiment';
import { Composition } from '../src/calm/compose';
import { KV_SPEC, makeKeyTable } from '../src/tasks/kv';
import { KV_RECIPE, compositionExamples } from '../src/tasks/recipe';
import { encodeExamples } from '../src/train/batch';
import { trainComposition } from '../src/train/compose-train';
import type { BridgeWeights } from '../src/calm/types';

async function load(id: string): Promise<ModelHandle> {
  const m = await loadModelFolder(nodeFolderSource(join('public', 'models', id)));
  return { name: id, model: new GPT(m.config, m.weights), tokenizer: Tokenizer.fromJSON(m.tokenizerJson, id) };
}
const o = JSON.parse(process.argv[2] ?? '{}');
const W: number = o.window ?? 1;
function windowMask(T: number, S: number, past: number) {
  const m = new Float32Array(T * S).fill(-1e9);
  for (let i = 0; i < T; i++) for (let j = Math.max(0, past + i - W + 1); j <= past + i && j < S; j++) m[i * S + j] = 0;
  return tf.tensor4d(m, [1, 1, T, S]);
}
class Windowed extends Composition {
  override bridgeHook(kvs: ({ k: tf.Tensor4D; v: tf.Tensor4D } | null)[]): BlockHook {
    const { connections, numHeads: h, output } = this.spec;
    return (layer, x, past) => {
      const outs: tf.Tensor3D[] = [];
      connections.forEach(([a], i) => {
        const kv = kvs[i];
        if (a !== layer || !kv) return;
        const w: BridgeWeights = this.bridges[i];
        const q = splitHeads(linear(x, w.qW as tf.Tensor2D, w.qB as tf.Tensor1D), h);
        const [, , T, hd] = q.shape;
        const S = kv.k.shape[2];
        const scores = tf.add(tf.mul(matmul(q, tf.transpose(kv.k, [0, 1, 3, 2])), 1 / Math.sqrt(hd)), windowMask(T, S, past));
        let out = linear(mergeHeads(matmul(tf.softmax(scores), kv.v) as tf.Tensor4D), w.oW as tf.Tensor2D, w.oB as tf.Tensor1D);
        if (output === 'rmsnorm') out = tf.mul(tf.mul(out, tf.rsqrt(tf.add(tf.mean(tf.square(out), -1, true), 1e-6))), w.normW!);
        outs.push(out as tf.Tensor3D);
      });
      return outs.length ? (tf.add(x, tf.addN(outs)) as tf.Tensor3D) : x;
    };
  }
}
await useBackend('wasm');
const a = await load(o.anchor ?? 'arith-tiny'), g = await load(o.augment ?? 'kv-tiny');
const recipe = { ...KV_RECIPE, ...o };
const base = composeModels(a, g, { connections: recipe.connections, output: recipe.output, seed: 1 });
const comp = new Windowed(base.anchor, base.augment, base.spec, base.bridges);
const table = makeKeyTable(KV_SPEC);
const data = encodeExamples(codecOf(a.tokenizer), compositionExamples(table, recipe, 1), 32);
const r = await trainComposition(comp, data, { steps: recipe.steps, lr: recipe.lr, batchSize: recipe.batch, seed: 1, padId: 0, progressEvery: 50,
  onProgress: (p) => process.stderr.write(`step ${p.step} loss ${p.loss.toFixed(4)}\n`) });
const t = evaluateTable(comp, a.tokenizer, table, o.evalN ?? 200, 1);
console.log(JSON.stringify({ o, ...t, seconds: r.seconds }));

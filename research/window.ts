// Diagnostic: the bridge's cross-attention restricted to a causal window of w positions
// (w = 1: each anchor position reads only the augmenting state at the same position).
import { join } from 'node:path';
import { tf, useBackend } from '../src/model/tf';
import type { BlockHook } from '../src/model/causal-lm';
import { linear, splitHeads, mergeHeads, matmul } from '../src/model/ops';
import { Tokenizer } from '../src/tokenizer';
import { loadModelFolder } from '../src/io/model-folder';
import { nodeFolderSource } from '../src/io/node-source';
import { composeModels, type ModelHandle } from '../src/calm/experiment';
import { PLAIN_BRIDGE } from '../src/calm/spec';
import { Composition, composedRecomputeDecoder } from '../src/calm/compose';
import { crossAttentionMask } from '../src/kernels/cross-attention';
import { codecOf, exactMatch } from '../src/pipeline/evaluate';
import { KV_SPEC, makeKeyTable, makeExamples } from '../src/tasks/kv';
import { KV_RECIPE, compositionExamples } from '../src/tasks/recipe';
import { encodeExamples } from '../src/train/batch';
import { trainComposition } from '../src/train/compose-train';
import type { BridgeWeights } from '../src/calm/types';

async function load(id: string): Promise<ModelHandle> {
  const m = await loadModelFolder(nodeFolderSource(join('public', 'models', id)));
  return { name: id, model: m.model, tokenizer: Tokenizer.fromJSON(m.tokenizerJson, id) };
}
const o = JSON.parse(process.argv[2] ?? '{}');
const W: number = o.window ?? 1;
/** Relative offset one-hots [T·S, R]: offset (past+t) − s, clamped to R − 1; future keys use R − 1 (masked anyway). */
function offsets(T: number, S: number, past: number, R: number) {
  const m = new Float32Array(T * S * R);
  for (let t = 0; t < T; t++) for (let s = 0; s < S; s++) {
    const d = past + t - s;
    m[(t * S + s) * R + (d < 0 ? R - 1 : Math.min(d, R - 1))] = 1;
  }
  return tf.tensor2d(m, [T * S, R]);
}
function windowMask(T: number, S: number, past: number) {
  const m = new Float32Array(T * S).fill(-1e9);
  for (let i = 0; i < T; i++) for (let j = Math.max(0, past + i - W + 1); j <= past + i && j < S; j++) m[i * S + j] = 0;
  return tf.tensor4d(m, [1, 1, T, S]);
}
const table0 = makeKeyTable(KV_SPEC);
class Windowed extends Composition {
  oracleTokenizer?: Tokenizer;
  letterMaskTokenizer?: Tokenizer;
  override augmentStates(ids: tf.Tensor2D): Map<number, tf.Tensor3D> {
    if (this.letterMaskTokenizer) {
      // diagnostic: real states, zeroed at every position that is not a lowercase letter
      const rows = ids.arraySync() as number[][];
      const m = rows.map((r) => r.map((id) => (/[a-z]/.test(this.letterMaskTokenizer!.decode([id], false)) ? 1 : 0)));
      const mask = tf.tensor3d(m.map((r) => r.map((v) => [v])));
      const states = super.augmentStates(ids);
      states.forEach((t, l) => states.set(l, tf.mul(t, mask) as tf.Tensor3D));
      return states;
    }
    if (!this.oracleTokenizer) {
      const states = super.augmentStates(ids);
      if (o.stateScale) states.forEach((t, l) => states.set(l, tf.mul(t, o.stateScale) as tf.Tensor3D));
      return states;
    }
    const rows = ids.arraySync() as number[][];
    const D = this.augment.config.nEmbd;
    const feats = new Float32Array(rows.length * rows[0].length * D);
    rows.forEach((r, b) => {
      const s = this.oracleTokenizer!.decode(r, false).padEnd(r.length, ' ');
      for (let t = 0; t < r.length; t++) {
        const isL = (i: number) => i >= 0 && i < s.length && /[a-z]/.test(s[i]);
        if (!isL(t)) continue;
        const base = (b * r.length + t) * D;
        if (isL(t - 2) && isL(t - 1) && !isL(t + 1)) {
          const v = table0.values[s.slice(t - 2, t + 1)];
          if (v !== undefined) feats[base + v] = 1;
        } else feats[base + 10] = 1;
      }
    });
    const x = tf.tensor3d(feats, [rows.length, rows[0].length, D]);
    return new Map(this.augmentLayers.map((l) => [l, x]));
  }
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
        let scores = tf.add(tf.mul(matmul(q, tf.transpose(kv.k, [0, 1, 3, 2])), 1 / Math.sqrt(hd)), o.relpos ? crossAttentionMask(T, S, { past }) : windowMask(T, S, past));
        if (o.relpos) scores = tf.add(scores, tf.reshape(matmul(w.posBias!, tf.transpose(offsets(T, S, past, o.relpos))), [1, h, T, S]));
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
const base = composeModels(a, g, { connections: recipe.connections, output: recipe.output, seed: 1, ...PLAIN_BRIDGE });
const comp = new Windowed(base.anchor, base.augment, base.spec, base.bridges);
if (o.oracle) comp.oracleTokenizer = a.tokenizer;
if (o.lettersOnly) comp.letterMaskTokenizer = a.tokenizer;
if (o.relpos) comp.bridges.forEach((b) => {
  const init = new Float32Array(base.spec.numHeads * o.relpos);
  for (let i = 0; i < base.spec.numHeads; i++) init[i * o.relpos] = o.relposInit ?? 5;
  b.posBias = tf.variable(tf.tensor2d(init, [base.spec.numHeads, o.relpos]));
});
if (o.projScale) comp.bridges.forEach((b) => b.projW.assign(tf.mul(b.projW, o.projScale)));
const table = makeKeyTable(KV_SPEC);
const data = encodeExamples(codecOf(a.tokenizer), compositionExamples(table, recipe, 1), 32);
const r = await trainComposition(comp, data, { steps: recipe.steps, lr: recipe.lr, batchSize: recipe.batch, seed: 1, padId: 0, progressEvery: 50,
  onProgress: (p) => process.stderr.write(`step ${p.step} loss ${p.loss.toFixed(4)}\n`) });
const acc = async (task: 'kv-arith' | 'num-arith', keys: 'held-out' | 'composition' | 'all') =>
  (await exactMatch((B) => composedRecomputeDecoder(comp, B), codecOf(a.tokenizer), makeExamples(task, o.evalN ?? 200, { seed: 77, table, keys }))).accuracy;
console.log(JSON.stringify({ o, heldOut: await acc('kv-arith', 'held-out'), train: await acc('kv-arith', 'composition'), num: await acc('num-arith', 'all'), seconds: r.seconds, loss: r.losses.at(-1) }));

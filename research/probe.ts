// How readable is each key's value in the augmenting model's states inside kv-arith prompts?
// Its own LM head's argmax at each key's last letter (a logit lens at the last layer).
import { join } from 'node:path';
import { tf, useBackend } from '../src/model/tf';
import { Tokenizer } from '../src/tokenizer';
import { loadModelFolder } from '../src/io/model-folder';
import { nodeFolderSource } from '../src/io/node-source';
import { KV_SPEC, makeKeyTable, makeExamples } from '../src/tasks/kv';
await useBackend('wasm');
const m = await loadModelFolder(nodeFolderSource(join('public', 'models', process.argv[2] ?? 'kv-tiny')));
const g = m.model;
const tok = Tokenizer.fromJSON(m.tokenizerJson);
const table = makeKeyTable(KV_SPEC);
for (const keys of ['held-out', 'composition'] as const) {
  const ex = makeExamples('kv-arith', 300, { seed: 3, table, keys }).filter((e) => e.prompt.length === 12);
  const ids = ex.map((e) => tok.encode(e.prompt));
  const logits = g.forward(tf.tensor2d(ids, [ids.length, 12], 'int32')).logits!;
  const pred = tf.argMax(logits, -1).arraySync() as number[][];
  let ok = 0, n = 0;
  ex.forEach((e, b) => [2, 6, 10].forEach((p) => { n++; if (tok.decode([pred[b][p]]) === String(table.values[e.prompt.slice(p - 2, p + 1)])) ok++; }));
  console.log(keys, 'value at key-last positions by the model\'s own head:', (ok / n).toFixed(3), 'n', n);
}

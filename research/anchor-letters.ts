// Does the anchor still add when a key's first two letters stay letters and only its last
// letter is replaced by the value's digit (ab4+qd7-kk3=)? That is what a bridge reading
// values at keys' last letters gives it.
import { join } from 'node:path';
import { useBackend } from '../src/model/tf';
import { Tokenizer } from '../src/tokenizer';
import { loadModelFolder } from '../src/io/model-folder';
import { nodeFolderSource } from '../src/io/node-source';
import { cachedDecoder } from '../src/model/sampling';
import { exactMatch } from '../src/pipeline/evaluate';
import { KV_SPEC, makeKeyTable, makeExamples } from '../src/tasks/kv';
await useBackend('wasm');
const m = await loadModelFolder(nodeFolderSource(join('public', 'models', process.argv[2] ?? 'arith-tiny')));
const g = m.model;
const tok = Tokenizer.fromJSON(m.tokenizerJson);
const table = makeKeyTable(KV_SPEC);
const ex = makeExamples('kv-arith', 300, { seed: 3, table, keys: 'held-out' });
const sub = ex.map((e) => ({ prompt: e.prompt.replace(/[a-z]{3}/g, (k) => k.slice(0, 2) + table.values[k]), completion: e.completion }));
const codec = { encode: (s: string) => tok.encode(s), decode: (i: number[]) => tok.decode(i), eosId: tok.eosId! };
console.log(sub[0], 'accuracy', (await exactMatch((B) => cachedDecoder(g, B), codec, sub)).accuracy);
const sub0 = ex.map((e) => ({ prompt: e.prompt.replace(/[a-z]{3}/g, (k) => '00' + table.values[k]), completion: e.completion }));
console.log(sub0[0], 'accuracy (zero-padded)', (await exactMatch((B) => cachedDecoder(g, B), codec, sub0)).accuracy);

/**
 * The paper's key-value experiment at toy scale (docs/reproduction.md). This file is the one
 * place where the key table, the example formats and the composition/held-out split are
 * defined, so changing the experiment means changing this file only. As in the paper, every
 * key is one token of the shared vocabulary (the built-in tokenizer adds each key of the
 * table as a token: src/tokenizer/char.ts), 20 % of the keys are seen in composition.
 */
import { deriveSeed, makeRng, type Rng } from './rng';

export type Operator = '+' | '-';

export interface KVSpec {
  /** How many distinct keys the table has. */
  numKeys: number;
  /** Letters per key; each key is one token of the built-in tokenizer, so its length is only how it reads. */
  keyLength: number;
  /** Values are uniform integers in [valueMin, valueMax]; valueMin >= 0. */
  valueMin: number;
  valueMax: number;
  /** The share of keys the bridge trains on (the paper: 20 %); the rest are held out. */
  compositionShare: number;
  /** Operands per expression: uniform in [minOperands, maxOperands]. */
  minOperands: number;
  maxOperands: number;
  operators: readonly Operator[];
  /** Numeric operands are zero-padded to this width (1: plain digits, one token each like a key). */
  numberWidth: number;
  /** Seed of the key table (keys, values, split); examples take their own seed. */
  seed: number;
}

export const KV_SPEC: Readonly<KVSpec> = Object.freeze({
  numKeys: 1000,
  keyLength: 3,
  valueMin: 0,
  valueMax: 9,
  compositionShare: 0.2,
  minOperands: 2,
  maxOperands: 3,
  operators: Object.freeze(['+', '-'] as Operator[]),
  numberWidth: 1,
  seed: 1234,
});

export interface KeyTable {
  spec: Readonly<KVSpec>;
  /** All keys, in the order they were drawn. */
  keys: string[];
  /** key → value. */
  values: Record<string, number>;
  /** Keys the bridge trains on: the first round(compositionShare × numKeys) of a seeded shuffle. */
  compositionKeys: string[];
  /** The other keys: composition is judged on these. */
  heldOutKeys: string[];
}

export interface Example {
  prompt: string;
  completion: string;
}

export type TaskName = 'kv-subs' | 'kv-lookup' | 'kv-dict' | 'num-arith' | 'num-filler' | 'kv-arith' | 'kv-mixed';
export type KeySet = 'all' | 'composition' | 'held-out';

export const TASKS: readonly TaskName[] = Object.freeze([
  'kv-subs',
  'kv-lookup',
  'kv-dict',
  'num-arith',
  'num-filler',
  'kv-arith',
  'kv-mixed',
] as TaskName[]);

/** Entries per kv-dict line: 10 × (key, digit, space) fits a context of 32 with the end token. */
export const DICT_ENTRIES = 10;
export const KEY_SETS: readonly KeySet[] = Object.freeze(['all', 'composition', 'held-out'] as KeySet[]);

export function isTaskName(s: string): s is TaskName {
  return (TASKS as readonly string[]).includes(s);
}

export function isKeySet(s: string): s is KeySet {
  return (KEY_SETS as readonly string[]).includes(s);
}

const TASK_DESCRIPTIONS: Record<TaskName, string> = {
  'kv-subs': 'key-value substitution: abc+qdx-kkr= → 4+7-3 (the augmenting model\'s skill)',
  'kv-lookup': 'key look-up: abc+qdx → 5, the value of the last key (makes the augmenting model hold each value at its key)',
  'kv-dict': 'the key table as text: abc4 qdx7 kkr3 … (every value right after its key, the whole line trained)',
  'num-arith': 'numeric arithmetic: 4+7-3= → 8 (the anchor\'s skill)',
  'num-filler':
    "numeric arithmetic with filler: ab4+0q7-003= → 8, each operand's digit last in its slot, the characters before it '0' or any letter (an anchor that reads the digit and ignores the rest)",
  'kv-arith': 'key-value arithmetic: abc+qdx-kkr= → 8 (the composed skill: needs both models)',
  'kv-mixed': 'one key among numbers: 4+qdx-3= → 8 (composition data: the bridge must change the key only)',
};

/** One line saying what a task's examples look like and whose skill it is. */
export function describeTask(task: TaskName): string {
  return TASK_DESCRIPTIONS[task];
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

function checkSpec(spec: Readonly<KVSpec>): void {
  const fail = (why: string): never => {
    throw new RangeError(`invalid key-value spec: ${why}`);
  };
  const ints: (keyof KVSpec)[] = ['numKeys', 'keyLength', 'valueMin', 'valueMax', 'minOperands', 'maxOperands', 'numberWidth', 'seed'];
  for (const k of ints) if (!Number.isInteger(spec[k])) fail(`${k} must be an integer, got ${String(spec[k])}`);
  if (spec.keyLength < 1) fail('keyLength must be at least 1');
  if (spec.numKeys < 1 || spec.numKeys > LETTERS.length ** spec.keyLength) {
    fail(`numKeys must be in [1, 26^${spec.keyLength}] to give distinct keys, got ${spec.numKeys}`);
  }
  // Negative operands would need a sign inside the expression, which the formats have no room for.
  if (spec.valueMin < 0 || spec.valueMax < spec.valueMin) fail('values need 0 <= valueMin <= valueMax');
  if (!(spec.compositionShare >= 0 && spec.compositionShare <= 1)) fail('compositionShare must be in [0, 1]');
  if (spec.minOperands < 1 || spec.maxOperands < spec.minOperands) fail('operands need 1 <= minOperands <= maxOperands');
  if (spec.operators.length === 0) fail('operators must not be empty');
  for (const op of spec.operators) if (op !== '+' && op !== '-') fail(`unknown operator '${String(op)}'`);
  if (spec.numberWidth < 0) fail('numberWidth must be >= 0');
}

/** The key table: distinct random lowercase keys, their values, and the seeded split. */
export function makeKeyTable(spec: Readonly<KVSpec> = KV_SPEC): KeyTable {
  checkSpec(spec);
  const rng = makeRng(deriveSeed(spec.seed, 'key-table'));
  const keys: string[] = [];
  const seen = new Set<string>();
  while (keys.length < spec.numKeys) {
    let key = '';
    for (let i = 0; i < spec.keyLength; i++) key += LETTERS[rng.int(0, LETTERS.length - 1)];
    if (seen.has(key)) continue;
    seen.add(key);
    keys.push(key);
  }
  // No prototype, so a key such as "constructor" cannot find an inherited entry.
  const values = Object.create(null) as Record<string, number>;
  for (const key of keys) values[key] = rng.int(spec.valueMin, spec.valueMax);
  const order = rng.shuffle(keys.slice());
  const numComposition = Math.round(spec.compositionShare * spec.numKeys);
  return {
    spec,
    keys,
    values,
    compositionKeys: order.slice(0, numComposition),
    heldOutKeys: order.slice(numComposition),
  };
}

/** The keys of one key set. */
export function keysOf(table: KeyTable, set: KeySet): string[] {
  switch (set) {
    case 'all':
      return table.keys;
    case 'composition':
      return table.compositionKeys;
    case 'held-out':
      return table.heldOutKeys;
  }
}

/** The value of `values[0] ops[0] values[1] ops[1] ...`, left to right. */
export function evaluateExpression(values: readonly number[], ops: readonly string[]): number {
  if (values.length === 0 || ops.length !== values.length - 1) {
    throw new RangeError(`an expression needs n values and n-1 operators, got ${values.length} and ${ops.length}`);
  }
  let result = values[0];
  for (let i = 0; i < ops.length; i++) {
    if (ops[i] === '+') result += values[i + 1];
    else if (ops[i] === '-') result -= values[i + 1];
    else throw new RangeError(`unknown operator '${ops[i]}'`);
  }
  return result;
}

/** `a ops[0] b ops[1] c` as text. */
function joinExpression(operands: readonly string[], ops: readonly string[]): string {
  let s = operands[0];
  for (let i = 0; i < ops.length; i++) s += ops[i] + operands[i + 1];
  return s;
}

/** The random shape of one expression: its operand count and operators. */
function drawOperators(rng: Rng, spec: Readonly<KVSpec>): Operator[] {
  const count = rng.int(spec.minOperands, spec.maxOperands);
  return Array.from({ length: count - 1 }, () => rng.pick(spec.operators));
}

function formatNumber(value: number, spec: Readonly<KVSpec>): string {
  return String(value).padStart(spec.numberWidth, '0');
}

/**
 * `n` examples of `task`, reproducible from `seed` (each task and key set has its own
 * stream). Keys are drawn with replacement from `keys` (default 'all'), so every key of
 * an example belongs to that set.
 */
export function makeExamples(
  task: TaskName,
  n: number,
  opts: { seed: number; table: KeyTable; keys?: KeySet },
): Example[] {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`the number of examples must be an integer >= 0, got ${n}`);
  if (!isTaskName(task)) throw new RangeError(`unknown task '${String(task)}'; tasks: ${TASKS.join(', ')}`);
  const { table } = opts;
  const { spec, values } = table;
  const keySet = opts.keys ?? 'all';
  // num-arith uses no keys, so its stream must not depend on the key set.
  const rng = makeRng(task === 'num-arith' || task === 'num-filler' ? deriveSeed(opts.seed, task) : deriveSeed(opts.seed, task, keySet));
  const pool = keysOf(table, keySet);
  if (task !== 'num-arith' && task !== 'num-filler' && pool.length === 0) {
    throw new RangeError(`the key set '${keySet}' is empty, so there are no ${task} examples to make`);
  }

  const examples: Example[] = [];
  for (let i = 0; i < n; i++) {
    const ops = drawOperators(rng, spec);
    const count = ops.length + 1;
    if (task === 'num-arith' || task === 'num-filler') {
      const operands = Array.from({ length: count }, () => rng.int(spec.valueMin, spec.valueMax));
      const texts = operands.map((v) => {
        const n = formatNumber(v, spec);
        if (task === 'num-arith') return n;
        // each padding character independently '0' or a random letter: never a key of the table
        // (the digit is part of the slot), only text the anchor must learn to look past
        return [...n].map((c, i) => (i < n.length - String(v).length && rng.next() < 0.5 ? LETTERS[rng.int(0, 25)] : c)).join('');
      });
      examples.push({ prompt: joinExpression(texts, ops) + '=', completion: String(evaluateExpression(operands, ops)) });
      continue;
    }
    if (task === 'kv-dict') {
      const entries = Array.from({ length: DICT_ENTRIES }, () => rng.pick(pool));
      examples.push({ prompt: '', completion: entries.map((k) => k + String(values[k])).join(' ') });
      continue;
    }
    if (task === 'kv-mixed') {
      // one operand is a key, the others numbers: what changes from num-arith is the key alone
      const at = rng.int(0, count - 1);
      const key = rng.pick(pool);
      const operands = Array.from({ length: count }, (_, j) => (j === at ? values[key] : rng.int(spec.valueMin, spec.valueMax)));
      const texts = operands.map((v, j) => (j === at ? key : formatNumber(v, spec)));
      examples.push({ prompt: joinExpression(texts, ops) + '=', completion: String(evaluateExpression(operands, ops)) });
      continue;
    }
    const keys = Array.from({ length: count }, () => rng.pick(pool));
    const keyValues = keys.map((k) => values[k]);
    switch (task) {
      case 'kv-subs':
        examples.push({ prompt: joinExpression(keys, ops) + '=', completion: joinExpression(keyValues.map(String), ops) });
        break;
      case 'kv-lookup': {
        // A prefix that ends at a key's last letter: the augmenting model must then hold
        // that key's value right there, which is where a bridge can read it (docs/reproduction.md § Earlier findings).
        const last = rng.int(0, count - 1);
        examples.push({
          prompt: joinExpression(keys.slice(0, last + 1), ops.slice(0, last)),
          completion: String(keyValues[last]),
        });
        break;
      }
      case 'kv-arith':
        examples.push({ prompt: joinExpression(keys, ops) + '=', completion: String(evaluateExpression(keyValues, ops)) });
        break;
    }
  }
  return examples;
}

/**
 * The accuracy of always answering the most common completion: the floor any model's
 * exact-match accuracy must beat to mean something. Of tied answers, the one that reached
 * the top count first wins, so the result is deterministic.
 */
export function answerChance(examples: readonly Example[]): { answer: string; share: number } {
  const counts = new Map<string, number>();
  let answer = '';
  let best = 0;
  for (const { completion } of examples) {
    const c = (counts.get(completion) ?? 0) + 1;
    counts.set(completion, c);
    if (c > best) {
      best = c;
      answer = completion;
    }
  }
  return { answer, share: examples.length === 0 ? 0 : best / examples.length };
}

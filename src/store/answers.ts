// What each column of Compare should answer for a prompt, from the key table of
// src/tasks/kv.ts: the augmenting model's right answer is the substitution (its skill,
// `abc+qdx=` → `4+7`), the anchor's and the composition's is the result (`11`). A prompt is
// read against the table itself, so it says which keys it uses, which of them the bridges never
// trained on, and which are not keys at all. Also the table as the key panel lists it.
import { evaluateExpression, type KeyTable } from '../tasks/kv';
import type { Column } from '../worker/protocol';
import { keyTable } from './examples';

export interface KeyRow {
  key: string;
  value: number;
  /** The bridges never train on it: composition is judged on these keys. */
  heldOut: boolean;
}

function rowsOf(table: KeyTable): KeyRow[] {
  const heldOut = new Set(table.heldOutKeys);
  return table.keys.map((key) => ({ key, value: table.values[key], heldOut: heldOut.has(key) }));
}

/** The page's table's rows, built once (the same array on every render). */
const KEY_ROWS: readonly KeyRow[] = rowsOf(keyTable());

/** Every key of the table with its value, in the table's order, held-out ones marked. */
export function keyRows(table: KeyTable = keyTable()): readonly KeyRow[] {
  return table === keyTable() ? KEY_ROWS : rowsOf(table);
}

export interface PromptReading {
  /** The operands as written, each a key of the table, a number, or neither (`unknown`). */
  operands: { text: string; kind: 'key' | 'number' | 'unknown'; value?: number; heldOut?: boolean }[];
  operators: string[];
  /** Operands that are neither a key nor a number. */
  unknown: string[];
  /** Right answers per column; null where the column has none (an unknown key; the augmenting model on numbers). */
  answers: Record<Column, string | null>;
}

/**
 * Reads an expression prompt (`operand (op operand)* =`, the operators of the table's spec).
 * Null when the prompt is not such an expression at all.
 */
export function readPrompt(prompt: string, table: KeyTable = keyTable()): PromptReading | null {
  if (!prompt.endsWith('=') || prompt.length < 2) return null;
  const body = prompt.slice(0, -1);
  const ops = new Set<string>(table.spec.operators);
  const texts: string[] = [];
  const operators: string[] = [];
  let current = '';
  for (const ch of body) {
    if (ops.has(ch) && current !== '') {
      texts.push(current);
      operators.push(ch);
      current = '';
    } else current += ch;
  }
  if (current === '' || texts.length === 0) return null; // one operand, or a trailing operator: not an expression
  texts.push(current);
  const heldOut = new Set(table.heldOutKeys);
  const operands = texts.map((text) => {
    if (Object.prototype.hasOwnProperty.call(table.values, text)) {
      return { text, kind: 'key' as const, value: table.values[text], heldOut: heldOut.has(text) };
    }
    if (/^\d+$/.test(text)) return { text, kind: 'number' as const, value: Number(text) };
    return { text, kind: 'unknown' as const };
  });
  const unknown = operands.filter((o) => o.kind === 'unknown').map((o) => o.text);
  const values = operands.map((o) => o.value);
  const result = unknown.length === 0 ? String(evaluateExpression(values as number[], operators)) : null;
  // The substitution, as kv-subs writes it: the keys' values in place of the keys (tests/unit/answers.test.ts checks it against makeExamples).
  const substitution =
    unknown.length === 0 && operands.every((o) => o.kind === 'key')
      ? operands.map((o, i) => (i === 0 ? '' : operators[i - 1]) + String(o.value)).join('')
      : null;
  return { operands, operators, unknown, answers: { anchor: result, augment: substitution, composed: result } };
}

export interface Verdict {
  /** The column's right answer for this prompt. */
  right: string;
  correct: boolean;
}

/** Whether a column's output is its own right answer; null when it has none. */
export function verdict(column: Column, prompt: string, output: string): Verdict | null {
  const right = readPrompt(prompt)?.answers[column] ?? null;
  return right === null ? null : { right, correct: output === right };
}

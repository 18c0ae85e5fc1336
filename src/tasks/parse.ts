/**
 * The parser for pasted (or `--data FILE`) examples. Two line formats, detected per line:
 *
 *   prompt => completion                          split at the first " => "
 *   {"prompt": "...", "completion": "..."}        one JSON object per line
 *
 * Blank lines and lines starting with `#` are skipped. Text is not trimmed, because
 * spaces are tokens: `abc => 4` is the prompt "abc" and the completion "4", and only a
 * trailing "\r" (Windows line ends) is dropped.
 */
import type { Example } from './kv';

export interface ParseError {
  /** 1-based line number; 0 for a problem with the text as a whole (its size). */
  line: number;
  /** One line that starts with the line number, e.g. `line 3: expected ...`. */
  message: string;
}

export interface ParseOptions {
  /** Larger text (UTF-8 bytes) is refused as a whole; default 5 MB. */
  maxBytes?: number;
  /** Examples past this many are refused with one error; default unlimited. */
  maxExamples?: number;
}

export const DEFAULT_MAX_BYTES = 5 * 1024 * 1024;

const SEPARATOR = ' => ';
const EXPECTED = 'expected "prompt => completion" or a JSON object with "prompt" and "completion"';

/** Thrown by `parseExamplesStrict` at the first problem. */
export class ExamplesError extends Error {
  constructor(
    message: string,
    /** As in ParseError: 1-based, 0 for the text as a whole. */
    readonly line: number,
  ) {
    super(message);
    this.name = 'ExamplesError';
  }
}

/** UTF-8 length without encoding the text, which may be far over the limit. */
function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        bytes += 4; // a surrogate pair is one 4-byte code point
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${bytes} bytes`;
}

type LineResult = { example: Example } | { error: string } | { skip: true };

function fromJSONLine(line: string): LineResult | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null; // not JSON after all: the caller tries the arrow form
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { error: EXPECTED };
  const obj = value as Record<string, unknown>;
  for (const field of ['prompt', 'completion'] as const) {
    if (!(field in obj)) return { error: `the JSON object has no "${field}"` };
    if (typeof obj[field] !== 'string') return { error: `"${field}" must be a string` };
    if (obj[field] === '') return { error: `"${field}" is empty` };
  }
  return { example: { prompt: obj.prompt as string, completion: obj.completion as string } };
}

/** One line, without its line end. */
function parseLine(raw: string): LineResult {
  const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
  if (line.trim() === '' || line.startsWith('#')) return { skip: true };
  const trimmed = line.trim();
  if (trimmed.startsWith('{') && trimmed.endsWith('}')) {
    const result = fromJSONLine(trimmed);
    if (result) return result;
    // Invalid JSON that holds the arrow is a prompt that happens to look like JSON.
    if (!line.includes(SEPARATOR)) return { error: `invalid JSON; ${EXPECTED}` };
  }
  const at = line.indexOf(SEPARATOR);
  if (at < 0) {
    if (line.endsWith(' =>')) return { error: 'the completion is empty' };
    return { error: EXPECTED };
  }
  const prompt = line.slice(0, at);
  const completion = line.slice(at + SEPARATOR.length);
  if (prompt === '') return { error: 'the prompt is empty' };
  if (completion === '') return { error: 'the completion is empty' };
  return { example: { prompt, completion } };
}

/** Examples from pasted text, and every bad line with its number and why. */
export function parseExamples(
  text: string,
  opts: ParseOptions = {},
): { examples: Example[]; errors: ParseError[] } {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const maxExamples = opts.maxExamples ?? Infinity;
  // Checked before any line is split, so a huge paste costs one pass and no allocation.
  const size = utf8Length(text);
  if (size > maxBytes) {
    return {
      examples: [],
      errors: [
        {
          line: 0,
          message: `the text is ${formatBytes(size)} (${size} bytes); the limit is ${formatBytes(maxBytes)} (${maxBytes} bytes)`,
        },
      ],
    };
  }

  const examples: Example[] = [];
  const errors: ParseError[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const result = parseLine(lines[i]);
    if ('skip' in result) continue;
    if ('error' in result) {
      errors.push({ line: i + 1, message: `line ${i + 1}: ${result.error}` });
      continue;
    }
    if (examples.length >= maxExamples) {
      errors.push({
        line: i + 1,
        message: `line ${i + 1}: more than ${maxExamples} examples; this line and the rest are ignored`,
      });
      break;
    }
    examples.push(result.example);
  }
  return { examples, errors };
}

/** Like parseExamples, but throws an ExamplesError at the first problem or when there are no examples. */
export function parseExamplesStrict(text: string, opts: ParseOptions = {}): Example[] {
  const { examples, errors } = parseExamples(text, opts);
  if (errors.length > 0) throw new ExamplesError(errors[0].message, errors[0].line);
  if (examples.length === 0) throw new ExamplesError('the text holds no examples', 0);
  return examples;
}

/**
 * Examples as text that parseExamples reads back to the same examples: the arrow form,
 * or a JSON line for an example the arrow form cannot carry (a prompt holding " => ",
 * a line break, a leading "#", ...).
 */
export function formatExamples(examples: readonly Example[]): string {
  const lines = examples.map((ex) => {
    const arrow = `${ex.prompt}${SEPARATOR}${ex.completion}`;
    const back = arrow.includes('\n') ? null : parseLine(arrow);
    const same =
      back !== null && 'example' in back && back.example.prompt === ex.prompt && back.example.completion === ex.completion;
    return same ? arrow : JSON.stringify({ prompt: ex.prompt, completion: ex.completion });
  });
  return lines.length === 0 ? '' : lines.join('\n') + '\n';
}

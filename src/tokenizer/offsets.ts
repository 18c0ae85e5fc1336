// Where each token ends in the text it was read from, in UTF-8 bytes (docs/design.md § Across
// tokenizers). The JS port of Hugging Face tokenizers gives no offsets, so they are recomputed
// from the tokens themselves, for the two kinds of tokenizer whose tokens spell their text:
// - 'byte-level' (GPT-2, Pythia, SmolLM2, Llama 3): a token is a run of UTF-8 bytes, each byte
//   written as one character of GPT-2's byte alphabet; an added token is its own text.
// - 'literal' (the character tokenizer, src/tokenizer/char.ts): a token is its own text, and the
//   unknown token stands for exactly one code point (fuse_unk false).
// Bytes, not characters, because a byte-level token may end inside a multi-byte character: its
// end is then the byte it ends at, so it is visible only to anchor tokens that have read that
// byte too (src/calm/align.ts).

export type OffsetsKind = 'byte-level' | 'literal';

const encoder = new TextEncoder();

/** The number of UTF-8 bytes of a string. */
export function utf8Length(s: string): number {
  return encoder.encode(s).length;
}

/** GPT-2's byte alphabet inverted: the character standing for a byte → that byte's value. */
function byteLevelAlphabet(): Map<string, number> {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out = new Map<string, number>();
  let n = 0;
  for (let b = 0; b < 256; b++) out.set(String.fromCodePoint(printable(b) ? b : 256 + n++), b);
  return out;
}

let BYTE_OF: Map<string, number> | null = null;

/** The number of bytes a byte-level token stands for; null when a character is not in the alphabet. */
export function byteLevelTokenBytes(token: string): number | null {
  BYTE_OF ??= byteLevelAlphabet();
  let n = 0;
  for (const ch of token) {
    if (!BYTE_OF.has(ch)) return null;
    n++;
  }
  return n;
}

/** What the end computation needs of a tokenizer. */
export interface TokenSpelling {
  kind: OffsetsKind;
  /** The token string of an id (the model's vocabulary or an added token). */
  token(id: number): string | undefined;
  /** Added tokens (cut out of the text literally): their ids. */
  added: ReadonlySet<number>;
  /** Special tokens (pad, eos, …): decode drops them, so they spell nothing. */
  special: ReadonlySet<number>;
  unkId?: number;
}

/**
 * The end of each token in UTF-8 bytes of `text`, non-decreasing, the last = utf8Length(text).
 * Throws (a plain message) when the tokens do not spell the text.
 */
export function tokenEnds(text: string, ids: readonly number[], sp: TokenSpelling): number[] {
  const ends: number[] = [];
  if (sp.kind === 'byte-level') {
    let end = 0;
    for (const id of ids) {
      const t = sp.token(id);
      const n = t === undefined ? null : sp.added.has(id) ? utf8Length(t) : byteLevelTokenBytes(t);
      if (n === null) throw new Error(`token ${id} (${JSON.stringify(t)}) is not a run of byte-level symbols`);
      ends.push((end += n));
    }
    if (end !== utf8Length(text)) throw new Error(`the tokens spell ${end} bytes, the text has ${utf8Length(text)}`);
    return ends;
  }
  let pos = 0; // UTF-16 index into text
  let end = 0; // bytes read
  for (const id of ids) {
    const t = sp.token(id);
    let piece: string;
    if (id === sp.unkId && t !== undefined && !text.startsWith(t, pos)) piece = String.fromCodePoint(text.codePointAt(pos) ?? 0);
    else if (t !== undefined && text.startsWith(t, pos)) piece = t;
    else throw new Error(`token ${id} (${JSON.stringify(t)}) does not spell the text at character ${pos}`);
    pos += piece.length;
    ends.push((end += utf8Length(piece)));
  }
  if (pos !== text.length) throw new Error(`the tokens spell ${pos} of ${text.length} characters`);
  return ends;
}

/**
 * Where each of `ids` ends in their decoded text (decode drops special tokens, which so end where
 * the token before ends), in UTF-8 bytes: the generated side of an aligned decoding, whose ids
 * come from a model rather than from encode. Throws when a token does not spell text.
 */
export function idEnds(ids: readonly number[], sp: TokenSpelling): number[] {
  let end = 0;
  return ids.map((id) => {
    if (sp.special.has(id)) return end;
    const t = sp.token(id);
    const n = t === undefined ? null : sp.kind === 'literal' || sp.added.has(id) ? utf8Length(t) : byteLevelTokenBytes(t);
    if (n === null) throw new Error(`token ${id} (${JSON.stringify(t)}) does not spell text`);
    return (end += n);
  });
}

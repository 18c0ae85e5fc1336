import { Tokenizer as HFTokenizer } from '@huggingface/tokenizers';
import { idEnds, tokenEnds, utf8Length, type OffsetsKind, type TokenSpelling } from './offsets';

/** A `tokenizer.json` that cannot be loaded; the message is one line naming the file. */
export class TokenizerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenizerError';
  }
}

/** Names an end-of-sequence token goes by: ours, GPT-2's (also Pythia's, SmolLM2's), and SentencePiece models'. */
const EOS_NAMES = ['<eos>', '<|endoftext|>', '</s>'];
/** Names a padding token goes by: ours, and GPT-NeoX's (Pythia). */
const PAD_NAMES = ['<pad>', '<|padding|>'];
const MODEL_TYPES = ['BPE', 'WordPiece', 'Unigram', 'WordLevel'];

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** The first structural problem of a `tokenizer.json`, in words, or null. */
function structureProblem(json: unknown): string | null {
  if (!isPlainObject(json)) return 'expected a JSON object';
  if (!isPlainObject(json.model)) return 'it has no "model" object';
  const { type, vocab } = json.model;
  if (typeof vocab !== 'object' || vocab === null) return 'its "model" has no "vocab" table';
  // The library guesses a model for any other type (e.g. "Nope"), which would load garbage;
  // WordLevel it runs as its "Legacy" model, which does the same look-up.
  if (type !== undefined && !MODEL_TYPES.includes(String(type))) {
    return `its model type '${String(type)}' is not supported (${MODEL_TYPES.join(', ')})`;
  }
  if (!Array.isArray(json.added_tokens)) return 'it has no "added_tokens" list';
  for (const key of ['normalizer', 'pre_tokenizer', 'post_processor', 'decoder']) {
    // The library requires each key to be present (null when unused).
    if (!(key in json)) return `it has no "${key}" entry (use null when there is none)`;
  }
  return null;
}

/**
 * Whether decode(encode(text)) must give back the text: a byte-level tokenizer (GPT-2, Pythia,
 * SmolLM2, Llama 3) with no prefix space added and no normalizer but NFC. Its
 * expected text is the NFC form where it has that normalizer, else the text itself.
 */
function roundTripForm(json: Record<string, unknown>): ((text: string) => string) | null {
  const decoder = json.decoder as { type?: unknown } | null;
  if (decoder?.type !== 'ByteLevel') return null;
  if (JSON.stringify(json.pre_tokenizer ?? null).includes('"add_prefix_space":true')) return null;
  const normalizer = json.normalizer as { type?: unknown } | null;
  if (normalizer === null) return (t) => t;
  if (normalizer.type === 'NFC') return (t) => t.normalize('NFC');
  return null;
}

/**
 * Which tokens spell their text, so that their end offsets can be recomputed (./offsets.ts):
 * a byte-level BPE, or a BPE with no normalizer, no pre-tokenizer and the Fuse decoder (the
 * character tokenizer). Null for any other tokenizer.
 */
function spellingOf(json: Record<string, unknown>, inner: HFTokenizer): Omit<TokenSpelling, 'token'> | null {
  const model = json.model as { type?: unknown; unk_token?: unknown };
  if (model.type !== undefined && model.type !== 'BPE') return null;
  const decoder = (json.decoder as { type?: unknown } | null)?.type;
  let kind: OffsetsKind;
  if (decoder === 'ByteLevel' && roundTripForm(json)) kind = 'byte-level';
  else if (decoder === 'Fuse' && json.normalizer === null && json.pre_tokenizer === null) kind = 'literal';
  else return null;
  const addedTokens = json.added_tokens as { id?: unknown; special?: unknown }[];
  const added = new Set(addedTokens.map((t) => Number(t.id)));
  const special = new Set(addedTokens.filter((t) => t.special === true).map((t) => Number(t.id)));
  const unkId = typeof model.unk_token === 'string' ? inner.token_to_id(model.unk_token) : undefined;
  return { kind, added, special, unkId };
}

/** sha256 (lowercase hex) of a tokenizer.json's text, as composition.json records it. */
export async function tokenizerDigest(tokenizerJsonText: string): Promise<string> {
  const hash = await globalThis.crypto.subtle.digest('SHA-256', new TextEncoder().encode(tokenizerJsonText));
  return [...new Uint8Array(hash)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Collapses a message to one line so it fits a status bar or a CLI error. */
function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

/**
 * A loaded `tokenizer.json` (docs/design.md § Files), wrapping `@huggingface/tokenizers` so the rest of
 * the code sees ids and strings only, and so library quirks (its decode rejects empty lists
 * and by default rewrites spaces before punctuation) stay in one place.
 */
export class Tokenizer {
  /** The id→token table, built on first use; index = id. */
  private tokenTable: string[] | null = null;

  private constructor(
    private readonly inner: HFTokenizer,
    /** A name for messages, e.g. the model folder the file came from. */
    readonly label: string,
    /** V: the largest id + 1. */
    readonly vocabSize: number,
    readonly padId: number | undefined,
    readonly eosId: number | undefined,
    /** For tokenizers that give back what they read (byte-level BPE): the text decode must give back. */
    private readonly roundTrip: ((text: string) => string) | null = null,
    /** How the tokens spell the text (for encodeWithEnds); null when they do not. */
    private readonly spelling: Omit<TokenSpelling, 'token'> | null = null,
    /** The parsed tokenizer.json, for digest. */
    private readonly json: unknown = null,
  ) {}

  /**
   * sha256 (lowercase hex) of this tokenizer.json as parsed and written back (JSON.stringify):
   * the same file gives the same digest whatever its white space. A composition across
   * tokenizers records both models' digests (docs/design.md § Across tokenizers).
   */
  digest(): Promise<string> {
    return tokenizerDigest(JSON.stringify(this.json));
  }

  /** Loads a parsed `tokenizer.json`; any problem becomes a one-line `TokenizerError`. */
  static fromJSON(json: unknown, label = 'tokenizer.json'): Tokenizer {
    const problem = structureProblem(json);
    if (problem) throw new TokenizerError(`${label}: not a valid tokenizer.json: ${problem}`);
    let inner: HFTokenizer;
    try {
      // The second argument stands in for tokenizer_config.json, which we do not read: every
      // setting we rely on is in tokenizer.json or passed per call. The library's WordLevel
      // ("Legacy") model takes its unknown token from there, so hand it the model's.
      const unk = (json as { model: Record<string, unknown> }).model.unk_token;
      inner = new HFTokenizer(json as object, typeof unk === 'string' ? { unk_token: unk } : {});
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      throw new TokenizerError(oneLine(`${label}: not a valid tokenizer.json: ${reason}`));
    }
    const vocabSize = vocabularySize(inner);
    if (vocabSize === 0) throw new TokenizerError(`${label}: not a valid tokenizer.json: its vocabulary is empty`);
    const find = (names: string[]): number | undefined => {
      for (const name of names) {
        const id = inner.token_to_id(name);
        if (id !== undefined) return id;
      }
      return undefined;
    };
    const j = json as Record<string, unknown>;
    return new Tokenizer(inner, label, vocabSize, find(PAD_NAMES), find(EOS_NAMES), roundTripForm(j), spellingOf(j, inner), json);
  }

  /** Token ids of `text`, with no special tokens added (no BOS/EOS). */
  encode(text: string): number[] {
    if (text.length === 0) return [];
    const ids = this.inner.encode(text, { add_special_tokens: false }).ids;
    // A vocabulary without an unknown token gives undefined for text it lacks; an id list
    // with holes would surface much later as NaN embeddings, so fail here instead.
    for (const id of ids) {
      if (id === undefined) {
        throw new TokenizerError(`${this.label}: the text holds something the vocabulary lacks and it has no unknown token`);
      }
    }
    // A BPE without an unknown token silently drops what its vocabulary lacks (a byte-level
    // vocabulary cut down to a few symbols lacks bytes); say what, rather than answer for other text.
    if (this.roundTrip) {
      const expected = this.roundTrip(text);
      const back = this.decode(ids, false);
      if (back !== expected) {
        const chars = [...expected];
        const got = [...back];
        let i = 0;
        while (i < chars.length && chars[i] === got[i]) i++;
        throw new TokenizerError(
          `${this.label}: the vocabulary cannot encode ${JSON.stringify(chars[i] ?? '')} (character ${i + 1} of the text) and it has no unknown token`,
        );
      }
    }
    return ids;
  }

  /** Whether encodeWithEnds works for this tokenizer (a byte-level BPE or the character tokenizer). */
  get hasEnds(): boolean {
    return this.spelling !== null;
  }

  /**
   * The ids of `text` (as encode) and where each token ends, in UTF-8 bytes of `text`
   * (docs/design.md § Across tokenizers). Throws a one-line TokenizerError for a tokenizer whose
   * tokens do not spell the text, or a normalizer that would change this text.
   */
  encodeWithEnds(text: string): { ids: number[]; ends: number[] } {
    if (!this.spelling) throw new TokenizerError(`${this.label}: token end offsets are known only for a byte-level BPE or the character tokenizer`);
    if (this.roundTrip && this.roundTrip(text) !== text) throw new TokenizerError(`${this.label}: its normalizer changes this text, so token offsets would not be offsets into it`);
    const ids = this.encode(text);
    try {
      return { ids, ends: tokenEnds(text, ids, { ...this.spelling, token: (id) => this.inner.id_to_token(id) }) };
    } catch (e) {
      throw new TokenizerError(oneLine(`${this.label}: cannot place its tokens in the text: ${e instanceof Error ? e.message : String(e)}`));
    }
  }

  /**
   * The text of ids a model generated (decode, special tokens dropped) and where each token ends
   * in it, in UTF-8 bytes (docs/design.md § Across tokenizers). A byte-level token may end inside a
   * character; a text that ends so is cut before that character, and the ends clamped to the cut,
   * so nothing reads a character before all its bytes are there.
   */
  spell(ids: number[]): { text: string; ends: number[] } {
    if (!this.spelling) throw new TokenizerError(`${this.label}: token end offsets are known only for a byte-level BPE or the character tokenizer`);
    let ends: number[];
    try {
      ends = idEnds(ids, { ...this.spelling, token: (id) => this.inner.id_to_token(id) });
    } catch (e) {
      throw new TokenizerError(oneLine(`${this.label}: ${e instanceof Error ? e.message : String(e)}`));
    }
    const total = ends.at(-1) ?? 0;
    const decoded = this.decode(ids);
    let text = decoded;
    // an incomplete last character decodes to U+FFFD (3 bytes), more or fewer than its bytes so far
    while (utf8Length(text) !== total && text.endsWith('\uFFFD')) text = text.slice(0, -1);
    const n = utf8Length(text);
    if (n > total || (n < total && !decoded.endsWith('\uFFFD'))) {
      throw new TokenizerError(`${this.label}: the decoded text has ${n} bytes where its tokens spell ${total}`);
    }
    return { text, ends: ends.map((e) => Math.min(e, n)) };
  }

  /** The text of `ids`; special tokens (pad, eos, ...) are dropped unless `skipSpecial` is false. */
  decode(ids: number[], skipSpecial = true): string {
    if (ids.length === 0) return ''; // the library throws on an empty list
    // No clean-up: it would turn "a ." into "a.", and decode must give back what encode read.
    return this.inner.decode(ids, { skip_special_tokens: skipSpecial, clean_up_tokenization_spaces: false });
  }

  /** The token with this id, or undefined where the vocabulary has none. */
  idToToken(id: number): string | undefined {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) return undefined;
    return this.inner.id_to_token(id);
  }

  /** The id of this token, or undefined. */
  tokenToId(token: string): number | undefined {
    return this.inner.token_to_id(token);
  }

  /** All tokens, index = id; an id with no token (a hole in the vocabulary) is ''. */
  tokens(): string[] {
    if (!this.tokenTable) {
      const table = new Array<string>(this.vocabSize);
      for (let id = 0; id < this.vocabSize; id++) table[id] = this.inner.id_to_token(id) ?? '';
      this.tokenTable = table;
    }
    return this.tokenTable.slice();
  }
}

/** The largest id + 1, from the library's id→token table (added tokens included). */
function vocabularySize(inner: HFTokenizer): number {
  const table = inner.model?.vocab ?? [];
  // The table can have holes (ids with no token) and so a length beyond the last token.
  for (let id = table.length - 1; id >= 0; id--) if (table[id] !== undefined) return id + 1;
  return 0;
}

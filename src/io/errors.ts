// Typed errors for everything that reads files. Each carries a stable `code` (for tests and
// for the UI to pick a hint) and a one-line message that names the file and the tensor or
// field, and says how to fix it where that is known.

/** Base of the io errors: an Error with a machine-readable `code`. */
export class CodedError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(oneLine(message), options);
    this.code = code;
    this.name = new.target.name;
  }
}

export type SafetensorsErrorCode =
  | 'too-short' // fewer than 8 bytes: no header length
  | 'header-too-large' // N above the allowed bound
  | 'truncated-header' // N runs past the end of the file
  | 'bad-json' // header is not UTF-8 JSON
  | 'bad-header' // header JSON is not an object
  | 'bad-entry' // a tensor entry is not an object
  | 'bad-dtype' // dtype missing or not a string
  | 'unsupported-dtype' // dtype not one we can read
  | 'bad-shape' // shape missing or not non-negative safe integers
  | 'bad-offsets' // data_offsets missing or not two non-negative safe integers
  | 'reversed-offsets' // begin > end
  | 'truncated' // a tensor's end lies beyond the data section
  | 'size-mismatch' // byte size != product(shape) × dtype size
  | 'overlap' // two tensors share bytes
  | 'bad-metadata' // __metadata__ is not {string: string}
  | 'int-overflow' // an I64 value does not fit in int32
  | 'bad-tensor'; // writer: a tensor whose data does not match its shape, or a reserved name

/** A malformed or unsupported safetensors file. */
export class SafetensorsError extends CodedError {
  declare readonly code: SafetensorsErrorCode;
  readonly file: string;
  readonly tensor?: string;
  constructor(code: SafetensorsErrorCode, file: string, message: string, tensor?: string) {
    super(code, message);
    this.file = file;
    this.tensor = tensor;
  }
}

export type ModelLoadErrorCode =
  | 'missing-file' // a required file of the model folder is absent (or HTTP 404)
  | 'http-error' // any other HTTP failure
  | 'read-error' // the file system refused the read
  | 'bad-json' // a .json file does not parse
  | 'bad-config' // config.json has a missing, mistyped or out-of-range field
  | 'unsupported-model' // model_type / activation / option we do not implement
  | 'missing-tensor'
  | 'unexpected-tensor' // a tensor the architecture has no place for
  | 'duplicate-tensor' // the same weight with and without `transformer.`
  | 'bad-shape'
  | 'bad-dtype'
  | 'non-finite'
  | 'vocab-mismatch' // tokenizer ids beyond the model's vocab_size
  | 'bad-tokenizer' // tokenizer.json without a readable vocabulary
  | 'bad-index' // public/models/index.json does not match its schema
  | 'bad-shards'; // model.safetensors.index.json does not agree with its shard files

/** A model folder (or the built-in index) that cannot be loaded as it is. */
export class ModelLoadError extends CodedError {
  declare readonly code: ModelLoadErrorCode;
  readonly file?: string;
  readonly field?: string;
  readonly tensor?: string;
  constructor(
    code: ModelLoadErrorCode,
    message: string,
    where: { file?: string; field?: string; tensor?: string; cause?: unknown } = {},
  ) {
    super(code, message, where.cause === undefined ? undefined : { cause: where.cause });
    this.file = where.file;
    this.field = where.field;
    this.tensor = where.tensor;
  }
}

/** The message of anything thrown, for display. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message || e.name;
  if (typeof e === 'string') return e;
  try {
    return String(JSON.stringify(e));
  } catch {
    return String(e);
  }
}

/**
 * A name from an untrusted file, quoted for a message: JSON escapes keep it on one line,
 * and a cap keeps a hostile 1 MB key from becoming a 1 MB message.
 */
export function quote(name: string, max = 120): string {
  return JSON.stringify(name.length > max ? `${name.slice(0, max)}…` : name);
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ');
}

// The schema-issue message is the model layer's (config.json is parsed there); io's readers use it too.
export { issueMessage } from '../model/errors';

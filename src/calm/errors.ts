// Typed errors for compositions: connection lists (typed or preset), head counts and
// composition bundles. One line each, naming the piece, field or tensor at fault.

import { CodedError } from '../io/errors';

export type CompositionErrorCode =
  | 'bad-syntax' // a connection list or preset that does not parse
  | 'bad-preset' // uniform:N / every:K with N or K not a usable positive integer
  | 'empty-connections' // no connection at all
  | 'layer-out-of-range' // a connection names a layer the model does not have
  | 'duplicate-connection' // the same [anchor, augment] pair twice
  | 'bad-heads' // h < 1, not an integer, or not dividing D_a
  | 'bad-json' // composition.json is not JSON
  | 'bad-format' // composition.json's format string is not one we read
  | 'bad-manifest' // composition.json has a missing or mistyped field
  | 'model-mismatch' // the manifest's anchor/augment sizes differ from the given models
  | 'missing-tensor'
  | 'unexpected-tensor'
  | 'bad-shape'
  | 'bad-dtype'
  | 'non-finite'
  | 'bad-bridges' // export: bridges that do not match the spec
  | 'bad-spec'; // composition settings with a field of the wrong type or out of range

export class CompositionError extends CodedError {
  declare readonly code: CompositionErrorCode;
  readonly file?: string;
  readonly field?: string;
  readonly tensor?: string;
  constructor(
    code: CompositionErrorCode,
    message: string,
    where: { file?: string; field?: string; tensor?: string; cause?: unknown } = {},
  ) {
    super(code, message, where.cause === undefined ? undefined : { cause: where.cause });
    this.file = where.file;
    this.field = where.field;
    this.tensor = where.tensor;
  }
}

// Number fields whose text is not a valid value yet: each says why next to itself, and the
// buttons that would use the value (Train, Compare, Evaluate, a preset's Apply) stay disabled with
// that reason, rather than the field going back to its old value unseen.
import type { StateCreator } from 'zustand';

/** What a field's value is used by: its problem disables that button. */
export type FieldUse = 'train' | 'compare' | 'evaluate' | 'uniform' | 'every';

export interface FieldProblem {
  label: string;
  /** The allowed range in words, e.g. "a whole number from 1 to 100,000". */
  message: string;
  use: FieldUse;
}

export interface FieldsSlice {
  /** By field id: the fields whose text is not a valid value. */
  invalidFields: Record<string, FieldProblem>;
}

export const createFieldsSlice: StateCreator<FieldsSlice, [], [], FieldsSlice> = () => ({
  invalidFields: {},
});

/** The first invalid field that `use` depends on, as a sentence; null when there is none. */
export function fieldProblem(s: FieldsSlice, use: FieldUse): string | null {
  const p = Object.values(s.invalidFields).find((f) => f.use === use);
  return p ? `${p.label} must be ${p.message}.` : null;
}

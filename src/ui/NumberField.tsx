// A labelled number input (a spinbutton) that keeps what is typed while it is not yet a
// valid value, commits each valid one at once, and says what is allowed when the text is not:
// next to the field, and to the buttons that use it (they stay disabled with that reason,
// src/store/fields.ts). Nothing goes back to the old value unseen.
import { useEffect, useId, useState } from 'react';
import { reportField, type FieldUse } from '../store';
import { formatCount } from './format';

interface Props {
  label: string;
  value: number;
  onCommit: (value: number) => void;
  min?: number;
  /** The value must be above `min`, not equal to it (a learning rate). */
  minExclusive?: boolean;
  max?: number;
  step?: number | 'any';
  integer?: boolean;
  disabled?: boolean;
  hint?: string;
  /** The button this value feeds: an invalid text disables it with the reason. */
  use?: FieldUse;
}

const show = (n: number) => (Number.isInteger(n) ? formatCount(n) : String(n));

/** The allowed values in words: "a whole number from 1 to 100,000", "a number above 0 and at most 1". */
export function allowedRange({ min, max, integer = true, minExclusive = false }: Pick<Props, 'min' | 'max' | 'integer' | 'minExclusive'>): string {
  const kind = integer ? 'a whole number' : 'a number';
  if (min !== undefined && max !== undefined) return minExclusive ? `${kind} above ${show(min)} and at most ${show(max)}` : `${kind} from ${show(min)} to ${show(max)}`;
  if (min !== undefined) return `${kind} ${minExclusive ? 'above' : 'of at least'} ${show(min)}`;
  if (max !== undefined) return `${kind} of at most ${show(max)}`;
  return kind;
}

export function NumberField({ label, value, onCommit, min, minExclusive = false, max, step = 1, integer = true, disabled, hint, use }: Props) {
  const id = useId();
  const [draft, setDraft] = useState(String(value));
  // A value set elsewhere (a link, a preset) replaces the draft, unless the draft already means it.
  useEffect(() => setDraft((d) => (Number(d) === value && d.trim() !== '' ? d : String(value))), [value]);
  const read = (text: string): number | null => {
    const v = Number(text);
    const ok =
      text.trim() !== '' &&
      Number.isFinite(v) &&
      (!integer || Number.isInteger(v)) &&
      (min === undefined || (minExclusive ? v > min : v >= min)) &&
      (max === undefined || v <= max);
    return ok ? v : null;
  };
  const invalid = read(draft) === null;
  const range = allowedRange({ min, max, integer, minExclusive });
  useEffect(() => {
    if (!use) return;
    reportField(id, invalid ? { label, message: range, use } : null);
  }, [id, invalid, label, range, use]);
  useEffect(() => (use ? () => reportField(id, null) : undefined), [id, use]);

  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        type="number"
        inputMode={integer ? 'numeric' : 'decimal'}
        value={draft}
        min={min}
        max={max}
        step={step}
        disabled={disabled}
        aria-invalid={invalid}
        aria-describedby={invalid ? `${id}-range` : undefined}
        title={hint}
        onChange={(e) => {
          setDraft(e.target.value);
          const v = read(e.target.value);
          if (v !== null) onCommit(v);
        }}
      />
      {invalid && (
        <span id={`${id}-range`} className="field-error" role="alert">
          {range}
        </span>
      )}
    </div>
  );
}

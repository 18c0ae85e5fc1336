// A labelled number input (a spinbutton) that keeps what is typed while it is not yet a
// valid value, and commits each valid one at once.
import { useEffect, useId, useState } from 'react';

interface Props {
  label: string;
  value: number;
  onCommit: (value: number) => void;
  min?: number;
  max?: number;
  step?: number | 'any';
  integer?: boolean;
  disabled?: boolean;
  hint?: string;
}

export function NumberField({ label, value, onCommit, min, max, step = 1, integer = true, disabled, hint }: Props) {
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
      (min === undefined || v >= min) &&
      (max === undefined || v <= max);
    return ok ? v : null;
  };

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
        aria-invalid={read(draft) === null}
        title={hint}
        onChange={(e) => {
          setDraft(e.target.value);
          const v = read(e.target.value);
          if (v !== null) onCommit(v);
        }}
        onBlur={() => {
          if (read(draft) === null) setDraft(String(value));
        }}
      />
    </div>
  );
}

// Asks before a change throws the trained bridges away.
import { useEffect, useRef } from 'react';
import { cancelPendingChange, confirmPendingChange, useAppStore } from '../store';

export function ConfirmDialog() {
  const pending = useAppStore((s) => s.pendingChange);
  const keep = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (pending) keep.current?.focus();
  }, [pending]);
  if (!pending) return null;

  return (
    <div
      role="alertdialog"
      aria-modal="false"
      aria-labelledby="confirm-title"
      aria-describedby="confirm-text"
      className="confirm"
      onKeyDown={(e) => {
        if (e.key === 'Escape') cancelPendingChange();
      }}
    >
      <p id="confirm-title">
        <strong>Throw the trained bridges away?</strong>
      </p>
      <p id="confirm-text">
        To {pending.what}, the composition needs new bridges: the trained ones are lost (Train starts again from scratch).
      </p>
      <div className="buttons">
        <button type="button" className="danger" onClick={confirmPendingChange}>
          Discard and change
        </button>
        <button type="button" ref={keep} onClick={cancelPendingChange}>
          Keep the trained bridges
        </button>
      </div>
    </div>
  );
}

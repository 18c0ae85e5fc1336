// Asks before a change replaces trained bridges, next to the control that asked for it, and
// says what really becomes of them: kept in Saved compositions, reopened from Start here, or
// (nowhere saved) lost unless exported first. Focus goes to "Keep" and comes back to the control.
import { useEffect, useLayoutEffect, useRef, useState } from 'react';
import { createPortal } from 'react-dom';
import { cancelPendingChange, confirmPendingChange, openCompositionName, useAppStore } from '../store';

const WIDTH = 384; // px, as .confirm in app.css (24rem)
const GAP = 8;

/**
 * Where a dialog `height` px tall goes: below the control, or above it when it would run past
 * the bottom of the window and fits above; inside the page's width.
 */
function placeNear(el: Element | null, height: number): { top: number; left: number } | null {
  if (!el || el === document.body || !el.isConnected) return null;
  const r = el.getBoundingClientRect();
  if (r.width === 0 && r.height === 0) return null;
  const left = Math.max(GAP, Math.min(r.left, document.documentElement.clientWidth - WIDTH - GAP)) + window.scrollX;
  const below = r.bottom + GAP;
  const top = below + height > window.innerHeight && r.top - GAP - height >= 0 ? r.top - GAP - height : below;
  return { top: top + window.scrollY, left };
}

export function ConfirmDialog() {
  const pending = useAppStore((s) => s.pendingChange);
  const whereKind = useAppStore((s) => {
    if (s.library.list.some((r) => r.id === s.library.currentId)) return 'saved';
    if (s.composition.source?.kind === 'bundle' && s.builtinCompositions.some((c) => c.title === openCompositionName(s))) return 'shipped';
    return 'nowhere';
  });
  const where = { kind: whereKind, name: useAppStore((s) => openCompositionName(s)) };
  const keep = useRef<HTMLButtonElement>(null);
  const box = useRef<HTMLDivElement>(null);
  const trigger = useRef<Element | null>(null);
  const [pos, setPos] = useState<{ top: number; left: number } | null>(null);

  // The control that asked is the one focused when the question comes (a click focuses it);
  // the dialog is measured, then placed beside it before it is painted.
  useLayoutEffect(() => {
    if (!pending) return;
    trigger.current = document.activeElement;
    setPos(placeNear(trigger.current, box.current?.offsetHeight ?? 0));
  }, [pending]);
  useEffect(() => {
    if (pending) keep.current?.focus();
  }, [pending, pos]);
  if (!pending) return null;

  const close = (answer: () => void) => {
    const back = trigger.current;
    answer();
    // Back to the control that asked, when it is still there (a removed link is not).
    requestAnimationFrame(() => {
      if (back instanceof HTMLElement || back instanceof SVGElement) if (back.isConnected) back.focus();
    });
  };

  const dialog = (
    <div
      ref={box}
      role="alertdialog"
      aria-modal="false"
      aria-labelledby="confirm-title"
      aria-describedby="confirm-text"
      className={`confirm${pos ? '' : ' confirm-fixed'}`}
      style={pos ? { top: pos.top, left: pos.left } : undefined}
      onKeyDown={(e) => {
        if (e.key === 'Escape') close(cancelPendingChange);
      }}
    >
      <p id="confirm-title">
        <strong>Replace the trained bridges?</strong>
      </p>
      <p id="confirm-text">
        To {pending.what}, the page builds {pending.kind === 'bundle' ? 'that composition' : 'new, untrained bridges'} in place of the trained ones.{' '}
        {where.kind === 'saved' ? (
          <>The trained bridges stay in Saved compositions as “{where.name}”: open them again from there.</>
        ) : where.kind === 'shipped' ? (
          <>The trained bridges are the shipped composition “{where.name}”: Start here opens them again.</>
        ) : (
          <>The trained bridges are not saved in this browser: Export them first (under Saved compositions) to keep them.</>
        )}
      </p>
      <div className="buttons">
        <button type="button" className="danger" onClick={() => close(confirmPendingChange)}>
          Replace them
        </button>
        <button type="button" ref={keep} onClick={() => close(cancelPendingChange)}>
          Keep the trained bridges
        </button>
      </div>
    </div>
  );
  return createPortal(dialog, document.body);
}

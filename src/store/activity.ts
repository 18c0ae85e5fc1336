// The status line's "what is loading now": each piece of work registers itself with the
// session controller and the line shows the newest one still running.
import type { Activity } from './session';
import { controller, getState, setState } from './app';

function show(running: Activity[]): void {
  const top = running.at(-1) ?? null;
  setState((s) => ({ session: { ...s.session, activity: top ? { ...top } : null } }));
}

export interface ActivityHandle {
  update(done: number, total: number, label?: string): void;
  end(): void;
}

/** Shows `label` on the status line until end(); update() adds progress. */
export function beginActivity(label: string): ActivityHandle {
  const running = controller().activities;
  const a: Activity = { label };
  running.push(a);
  show(running);
  return {
    update(done, total, newLabel) {
      a.done = done;
      a.total = total;
      if (newLabel !== undefined) a.label = newLabel;
      if (running.at(-1) === a) show(running);
    },
    end() {
      const i = running.indexOf(a);
      if (i >= 0) running.splice(i, 1);
      show(running);
    },
  };
}

/** Forgets every activity (a worker restart). */
export function clearActivities(): void {
  const running = controller().activities;
  running.length = 0;
  if (getState().session.activity !== null) show(running);
}

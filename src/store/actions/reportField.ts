// A number field's text became a valid value, or stopped being one (fields.ts).
import { getState, setState } from '../app';
import type { FieldProblem } from '../fields';

/** Records (or, with null, clears) a field's problem. */
export function reportField(id: string, problem: FieldProblem | null): void {
  const current = getState().invalidFields[id];
  if (!problem && !current) return;
  if (problem && current && current.message === problem.message && current.label === problem.label && current.use === problem.use) return;
  setState((s) => {
    const next = { ...s.invalidFields };
    if (problem) next[id] = problem;
    else delete next[id];
    return { invalidFields: next };
  });
}

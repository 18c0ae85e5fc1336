// User action: pick the anchor or the augmenting model.
import { requestChange } from '../change';
import type { ModelRole } from '../models';

export function chooseModel(role: ModelRole, id: string): void {
  const what = role === 'anchor' ? `use ${id} as the anchor` : `use ${id} as the augmenting model`;
  requestChange({ kind: 'config', patch: role === 'anchor' ? { anchor: id } : { augment: id }, what });
}

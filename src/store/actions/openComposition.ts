// User action: open a composition shipped with the app (trained by `repro kv`), so a person
// who does not want to wait can compare at once. Trained bridges of their own are asked about
// first (change.ts); the opening itself is shipped.ts.
import { requestChange } from '../change';
import type { BuiltinComposition } from '../models';

export function openComposition(composition: BuiltinComposition): void {
  requestChange({ kind: 'bundle', composition, what: `open ${composition.title}` });
}

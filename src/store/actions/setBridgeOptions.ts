// User action: choose the bridges' head count or output variant.
import type { OutputVariant } from '../../worker/protocol';
import { requestChange } from '../change';

/** 0 = the anchor's own head count. */
export function setBridgeHeads(numHeads: number): void {
  requestChange({ kind: 'config', patch: { numHeads }, what: `use ${numHeads || "the anchor's"} heads` });
}

export function setBridgeOutput(output: OutputVariant): void {
  requestChange({ kind: 'config', patch: { output }, what: `use the ${output} output` });
}

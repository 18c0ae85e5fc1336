// User action: choose the bridges' head count, output variant or one of their options.
import type { InputNorm, OutputVariant } from '../../calm/spec';
import { requestChange } from '../change';

/** 0 = the anchor's own head count. */
export function setBridgeHeads(numHeads: number): void {
  requestChange({ kind: 'config', patch: { numHeads }, what: `use ${numHeads || "the anchor's"} heads` });
}

export function setBridgeOutput(output: OutputVariant): void {
  requestChange({ kind: 'config', patch: { output }, what: `use the ${output} output` });
}

/** R relative-position buckets per bridge; 0: none. */
export function setPositionBias(positionBias: number): void {
  requestChange({ kind: 'config', patch: { positionBias }, what: positionBias ? `use a ${positionBias}-bucket position bias` : 'drop the position bias' });
}

export function setInputNorm(inputNorm: InputNorm): void {
  requestChange({ kind: 'config', patch: { inputNorm }, what: inputNorm === 'whiten' ? 'whiten the augmenting states' : 'drop the input whitening' });
}

export function setQueryNorm(queryNorm: boolean): void {
  requestChange({ kind: 'config', patch: { queryNorm }, what: `${queryNorm ? 'use' : 'drop'} the query norm` });
}

export function setValueGate(valueGate: boolean): void {
  requestChange({ kind: 'config', patch: { valueGate }, what: `${valueGate ? 'use' : 'drop'} the value gate` });
}

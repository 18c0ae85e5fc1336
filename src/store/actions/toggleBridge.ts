// User action: switch one bridge off (or on again) at inference, to see what it contributes.
import { getState } from '../app';
import { patchComposition } from '../compose';
import { api, messageOf } from '../worker';

export async function toggleBridge(connection: number): Promise<void> {
  const before = getState().composition.disabled;
  const disabled = before.includes(connection) ? before.filter((i) => i !== connection) : [...before, connection].sort((a, b) => a - b);
  patchComposition({ disabled });
  try {
    await api().setDisabled(disabled);
  } catch (e) {
    patchComposition({ disabled: before, error: messageOf(e) });
  }
}

// User action: remove a link from the map.
import type { Connection } from '../../worker/protocol';
import { getState } from '../app';
import { modelSizes } from '../compose';
import { requestChange } from '../change';
import { connectionLabel, removeConnection as withoutConnection } from '../mapping';

export function removeConnection(c: Connection): void {
  const { connections, augment } = getState().config;
  const augmentLayers = modelSizes(getState(), augment)?.nLayer;
  requestChange({ kind: 'config', patch: { connections: withoutConnection(connections, c) }, what: `remove ${connectionLabel(c, augmentLayers)}` });
}

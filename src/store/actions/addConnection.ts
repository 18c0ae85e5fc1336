// User action: link an anchor layer to an augmenting layer on the map.
import type { Connection } from '../../worker/protocol';
import { getState } from '../app';
import { modelSizes } from '../compose';
import { requestChange } from '../change';
import { addConnection as withConnection, connectionLabel, sameConnection } from '../mapping';

export function addConnection(c: Connection): void {
  const { connections, augment } = getState().config;
  const augmentLayers = modelSizes(getState(), augment)?.nLayer;
  if (connections.some((x) => sameConnection(x, c))) return;
  requestChange({ kind: 'config', patch: { connections: withConnection(connections, c) }, what: `add ${connectionLabel(c, augmentLayers)}` });
}

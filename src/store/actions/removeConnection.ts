// User action: remove a link from the map.
import type { Connection } from '../../worker/protocol';
import { getState } from '../app';
import { requestChange } from '../change';
import { connectionLabel, removeConnection as withoutConnection } from '../mapping';

export function removeConnection(c: Connection): void {
  const { connections } = getState().config;
  requestChange({ kind: 'config', patch: { connections: withoutConnection(connections, c) }, what: `remove ${connectionLabel(c)}` });
}

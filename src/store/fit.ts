// Fitting a configuration to the models it names: connections that point past a model's
// blocks are dropped and a head count that does not divide the anchor width goes back to
// the default, each with a message (a link made for other models, a model switched).
import type { AppState } from './app';
import type { Config } from './config';
import type { Connection } from '../worker/protocol';
import { connectionLabel, fitsModels, PENDING_FINAL } from './mapping';
import type { ModelConfigSummary } from './models';

export function fitConfig(config: Config, s: Pick<AppState, 'builtinConfigs'>): { config: Config; dropped: string[] } {
  const sizes = (id: string): ModelConfigSummary | undefined => {
    const c = s.builtinConfigs[id];
    return c?.status === 'ready' ? c.value : undefined;
  };
  const a = sizes(config.anchor);
  const g = sizes(config.augment);
  if (!a || !g) return { config, dropped: [] };
  const dropped: string[] = [];
  const resolved = config.connections.map(([ai, gi]): Connection => [ai, gi === PENDING_FINAL ? g.nLayer : gi]);
  const connections = resolved.filter((c) => {
    const ok = fitsModels(c, a.nLayer, g.nLayer);
    if (!ok) dropped.push(`Dropped ${connectionLabel(c)}: ${config.anchor} has ${a.nLayer} blocks and ${config.augment} has ${g.nLayer}.`);
    return ok;
  });
  const same = connections.length === config.connections.length && connections.every((c, i) => c[1] === config.connections[i][1]);
  let numHeads = config.numHeads;
  if (numHeads > 0 && a.nEmbd % numHeads !== 0) {
    dropped.push(`${numHeads} bridge heads do not divide ${config.anchor}'s width ${a.nEmbd}; using its own ${a.nHead}.`);
    numHeads = 0;
  }
  if (same && numHeads === config.numHeads) return { config, dropped };
  return { config: { ...config, connections, numHeads }, dropped };
}

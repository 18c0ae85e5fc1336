// Connection lists for the mapping editor (docs/design.md § CALM): [anchorLayer, augmentLayer], layer i =
// the output of block i, -1 = the embedding output; on the augmenting side N (its block
// count, written `f`) = its last block's output after the final norm. The presets
// themselves are the core's (uniformConnections, everyConnections), through src/calm/spec.ts;
// the text form here keeps `f` pending until the models are known, and
// tests/unit/store.test.ts checks that it reads as src/calm/connections.ts does.
import type { Connection } from '../worker/protocol';

export type Side = 'anchor' | 'augment';

/**
 * Stands for `f` (the augmenting model's final norm output, layer N) until the model's
 * block count is known; fitConfig (fit.ts) replaces it with N.
 */
export const PENDING_FINAL = Number.MAX_SAFE_INTEGER;

/** `embedding` for -1, `final norm` for the augmenting side's layer N (`finalLayer`), `block i` otherwise. */
export function layerName(layer: number, finalLayer?: number): string {
  if (layer === -1) return 'embedding';
  if (layer === PENDING_FINAL || (finalLayer !== undefined && layer === finalLayer)) return 'final norm';
  return `block ${layer}`;
}

/** The one name of a connection, used by the Connections list and every control on it. */
export function connectionLabel([a, g]: Connection, augmentLayers?: number): string {
  return `anchor ${layerName(a)} ← augmenting ${layerName(g, augmentLayers)}`;
}

export function sameConnection(x: Connection, y: Connection): boolean {
  return x[0] === y[0] && x[1] === y[1];
}

/** By anchor layer, then augmenting layer: the order a newly edited list takes. */
export function sortConnections(list: readonly Connection[]): Connection[] {
  return [...list].sort((x, y) => x[0] - y[0] || x[1] - y[1]);
}

/** `list` with `c` added (sorted); unchanged when it is already there. */
export function addConnection(list: readonly Connection[], c: Connection): Connection[] {
  if (list.some((x) => sameConnection(x, c))) return [...list];
  return sortConnections([...list, c]);
}

export function removeConnection(list: readonly Connection[], c: Connection): Connection[] {
  return list.filter((x) => !sameConnection(x, c));
}

/**
 * Reads `-1:2,0:2,1:f` (anchor:augment, `e` also means -1, `f` on the augmenting side its final
 * LayerNorm output). Throws an Error naming the bad piece.
 */
export function parseConnectionList(text: string): Connection[] {
  const s = text.trim();
  if (s === '') return [];
  const out: Connection[] = [];
  for (const piece of s.split(',')) {
    const m = /^\s*(-1|\d+|e)\s*:\s*(-1|\d+|e|f)\s*$/i.exec(piece);
    if (!m) throw new Error(`cannot read "${piece.trim()}" as a connection (write anchor:augment pairs like -1:2,0:2)`);
    const c: Connection = [layerOf(m[1]), m[2].toLowerCase() === 'f' ? PENDING_FINAL : layerOf(m[2])];
    if (out.some((x) => sameConnection(x, c))) throw new Error(`connection ${c[0]}:${c[1]} is listed twice`);
    out.push(c);
  }
  return out;
}

export function formatConnectionList(list: readonly Connection[]): string {
  return list.map(([a, g]) => `${a}:${g === PENDING_FINAL ? 'f' : g}`).join(',');
}

/** Whether the anchor layer lies in -1 … N_anchor-1 and the augmenting one in -1 … N_aug (final norm). */
export function fitsModels(c: Connection, anchorLayers: number, augmentLayers: number): boolean {
  return c[0] >= -1 && c[0] < anchorLayers && c[1] >= -1 && c[1] <= augmentLayers;
}

/** The largest N for uniform N and K for every K, as the CLI allows them. */
export function presetLimits(anchorLayers: number, augmentLayers: number): { uniform: number; every: number } {
  return { uniform: Math.max(anchorLayers, augmentLayers), every: Math.min(anchorLayers, augmentLayers) };
}

function layerOf(s: string): number {
  return s.toLowerCase() === 'e' ? -1 : Number(s);
}

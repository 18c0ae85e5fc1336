// Connection lists (docs/design.md § CALM): which anchor layer each bridge writes to and which
// augmenting layer it reads. Layer i = the residual stream after block i; -1 = the
// embedding output (the input of block 0), allowed on either side; on the augmenting side,
// N (its block count) = its last block's output after the final norm (what Hugging Face
// returns as the last hidden state), written `f`.

import { CompositionError } from './errors';

/** `[anchorLayer, augmentLayer]`: block outputs, 0-indexed; -1 is the embedding output (input of block 0). */
export type Connection = [number, number];

const EXAMPLE = 'write anchor:augment pairs like 0:1,3:3 (-1 or e for the embedding output; f on the augmenting side for its final norm output), or uniform:N or every:K';

/**
 * `uniform(n)`: zip(linspace(0, N_anchor-1, n), linspace(0, N_aug-1, n)) rounded down, as
 * google-deepmind/calm's `get_connections` (np.linspace(..., dtype=int)) computes it, so the
 * first and last blocks are always included when n ≥ 2. n = 1 gives [[0, 0]] (linspace with
 * one point is its start). Unlike the official code, a pair that rounding repeats is kept
 * once; with n ≤ max(N_anchor, N_aug) (what parseConnections allows) none repeats.
 */
export function uniformConnections(n: number, anchorLayers: number, augmentLayers: number): Connection[] {
  if (!Number.isInteger(n) || n < 1) {
    throw new CompositionError('bad-preset', `uniform:N needs a positive integer N, found ${n}`);
  }
  const a = linspaceFloor(anchorLayers - 1, n);
  const g = linspaceFloor(augmentLayers - 1, n);
  return dedupe(a.map((ai, i): Connection => [ai, g[i]]));
}

/**
 * `every(k)`: the output of every k-th block on both sides, 0-indexed layers k-1, 2k-1, ...,
 * paired in order and cut to the shorter list (the paper's N/n = 4 is every(4)).
 */
export function everyConnections(k: number, anchorLayers: number, augmentLayers: number): Connection[] {
  if (!Number.isInteger(k) || k < 1) {
    throw new CompositionError('bad-preset', `every:K needs a positive integer K, found ${k}`);
  }
  const out: Connection[] = [];
  for (let l = k - 1; l < anchorLayers && l < augmentLayers; l += k) out.push([l, l]);
  return out;
}

/**
 * Reads `uniform:N`, `every:K` or an explicit list `0:1, 3:3` (anchor:augment; `-1` or `e`
 * for the embedding output), whitespace and case tolerant, and validates the result
 * against the two models' block counts. Errors are one-line CompositionErrors.
 */
export function parseConnections(text: string, anchorLayers: number, augmentLayers: number): Connection[] {
  const s = text.trim();
  if (s === '') throw new CompositionError('empty-connections', `the connection list is empty: ${EXAMPLE}`);

  const preset = /^(uniform|every)\s*:\s*(.*)$/i.exec(s);
  if (preset) {
    const kind = preset[1].toLowerCase() as 'uniform' | 'every';
    const letter = kind === 'uniform' ? 'N' : 'K';
    const raw = preset[2].trim();
    const v = /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(v) || v < 1) {
      throw new CompositionError('bad-preset', `${kind}:${letter} needs a positive integer ${letter}, found ${JSON.stringify(raw)}`);
    }
    if (kind === 'uniform') {
      const most = Math.max(anchorLayers, augmentLayers);
      if (v > most) {
        throw new CompositionError(
          'bad-preset',
          `uniform:${v} asks for ${v} connections but the larger model has ${most} blocks, so at most uniform:${most}`,
        );
      }
      return uniformConnections(v, anchorLayers, augmentLayers);
    }
    const fewest = Math.min(anchorLayers, augmentLayers);
    if (v > fewest) {
      const which = anchorLayers <= augmentLayers ? 'the anchor' : 'the augmenting model';
      throw new CompositionError(
        'bad-preset',
        `every:${v} connects every ${v}th block but ${which} has only ${fewest} blocks, so at most every:${fewest}`,
      );
    }
    return everyConnections(v, anchorLayers, augmentLayers);
  }

  const pieces = s.split(',');
  const out: Connection[] = pieces.map((p, i): Connection => {
    const piece = p.trim();
    if (piece === '') {
      throw new CompositionError('bad-syntax', `connection ${i + 1} of ${JSON.stringify(s)} is empty: ${EXAMPLE}`);
    }
    const m = /^(-?\d+|e)\s*:\s*(-?\d+|e|f)$/i.exec(piece);
    if (!m) {
      throw new CompositionError('bad-syntax', `cannot read ${JSON.stringify(piece)} as a connection: ${EXAMPLE}`);
    }
    return [layerOf(m[1]), m[2].toLowerCase() === 'f' ? augmentLayers : layerOf(m[2])];
  });
  validateConnections(out, anchorLayers, augmentLayers);
  return out;
}

/** The explicit form parseConnections reads back: `0:1,3:3`, -1 for the embedding output. */
export function formatConnections(c: readonly Connection[]): string {
  return c.map(([a, g]) => `${a}:${g}`).join(',');
}

/**
 * Throws a CompositionError unless `c` is a non-empty list of distinct integer pairs with
 * -1 ≤ anchor < anchorLayers and -1 ≤ augment < augmentLayers. With `file` (a bundle's
 * composition.json) the messages name the file and the connection's index.
 */
export function validateConnections(
  c: readonly Connection[],
  anchorLayers: number,
  augmentLayers: number,
  opts: { file?: string } = {},
): void {
  const file = opts.file;
  const pre = file === undefined ? '' : `${file}: `;
  const where = (i: number) => ({ file, field: `connections[${i}]` });
  if (c.length === 0) {
    throw new CompositionError('empty-connections', `${pre}the connection list is empty: ${EXAMPLE}`, { file, field: 'connections' });
  }
  const seen = new Map<string, number>();
  c.forEach((pair, i) => {
    if (!Array.isArray(pair) || pair.length !== 2 || !pair.every(Number.isInteger)) {
      throw new CompositionError('bad-syntax', `${pre}connection ${i} ${JSON.stringify(pair)} is not a pair of integers [anchor, augment]`, where(i));
    }
    const [a, g] = pair;
    for (const [side, layer, blocks] of [
      ['anchor', a, anchorLayers],
      ['augment', g, augmentLayers],
    ] as const) {
      // the augmenting side also offers N: the final norm's output
      const top = side === 'augment' ? blocks : blocks - 1;
      if (layer < -1 || layer > top) {
        const model = side === 'anchor' ? 'the anchor' : 'the augmenting model';
        const range =
          side === 'anchor'
            ? `(0–${blocks - 1}, or -1 for the embedding output)`
            : `(0–${blocks - 1}, -1 for the embedding output, or ${blocks} for the final norm output)`;
        const msg =
          file === undefined
            ? `${side} layer ${layer} is out of range: ${model} has ${blocks} blocks ${range}`
            : `${pre}connection ${i} points at ${side} layer ${layer} but ${model} has ${blocks} blocks ${range}`;
        throw new CompositionError('layer-out-of-range', msg, where(i));
      }
    }
    const key = `${a}:${g}`;
    const first = seen.get(key);
    if (first !== undefined) {
      const msg =
        file === undefined
          ? `connection ${key} is listed twice`
          : `${pre}connection ${i} repeats [${a}, ${g}] (connection ${first})`;
      throw new CompositionError('duplicate-connection', msg, where(i));
    }
    seen.set(key, i);
  });
}

/** Throws unless h is a positive integer dividing the anchor width D_a. */
export function validateHeads(numHeads: number, anchorWidth: number, opts: { file?: string } = {}): void {
  const pre = opts.file === undefined ? '' : `${opts.file}: `;
  const where = { file: opts.file, field: 'num_heads' };
  if (!Number.isInteger(numHeads) || numHeads < 1) {
    throw new CompositionError('bad-heads', `${pre}num_heads must be a positive integer, found ${numHeads}`, where);
  }
  if (anchorWidth % numHeads !== 0) {
    throw new CompositionError(
      'bad-heads',
      `${pre}num_heads ${numHeads} does not divide the anchor width ${anchorWidth} (each head needs D_a / h channels)`,
      where,
    );
  }
}

function layerOf(s: string): number {
  return s.toLowerCase() === 'e' ? -1 : Number(s);
}

/**
 * floor(np.linspace(0, stop, n)): the same float operations as numpy (i · (stop / (n-1)),
 * last point set to stop exactly), so the rounding matches the official code bit for bit.
 */
function linspaceFloor(stop: number, n: number): number[] {
  if (n === 1) return [0];
  const step = stop / (n - 1);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(Math.floor(i === n - 1 ? stop : i * step));
  return out;
}

function dedupe(c: Connection[]): Connection[] {
  const seen = new Set<string>();
  return c.filter(([a, g]) => {
    const key = `${a}:${g}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

// The layer map: the anchor's blocks in one column, the augmenting model's in the other,
// each with an `embedding` row at the bottom (layer -1); the augmenting column also offers
// its final norm output (layer N) at the top. Drag from a layer to a layer of the
// other model, or click (Enter) one then the other, to add a connection; click a link, or
// its Remove button in the Connections list, to remove it. Arrow keys move between layers.
import { useEffect, useRef, useState, type KeyboardEvent, type PointerEvent as ReactPointerEvent } from 'react';
import { addConnection, isTraining, modelSizes, removeConnection, useAppStore } from '../store';
import { connectionLabel, layerName, sameConnection, type Side } from '../store/mapping';
import type { Connection } from '../worker/protocol';

interface LayerRef {
  side: Side;
  layer: number;
}

/** The map's height when it scrolls instead of growing (px): about the height of a laptop's view. */
export const MAP_MAX_HEIGHT = 640;

/**
 * Pixels between two layers of the taller column of `rows` rows: 36 while a map fits at that
 * size (up to 16 rows), then squeezed to fit MAP_MAX_HEIGHT, but never under 18 px, a size a
 * pointer still hits; a model taller than that (over 35 rows) scrolls. 30+-layer models
 * (SmolLM2, gpt2-medium) stay on one screen.
 */
export function mapRowHeight(rows: number): number {
  return rows <= 16 ? 36 : Math.max(18, Math.floor(MAP_MAX_HEIGHT / rows));
}
const SIDE_NAME: Record<Side, string> = { anchor: 'Anchor', augment: 'Augmenting' };

/** The vertical centre of `layer` in a column of `rows` rows (from layer -1 up), in a map `height` tall. */
function layerY(layer: number, rows: number, height: number): number {
  const slot = height / rows;
  return height - (layer + 1.5) * slot; // layer -1 (embedding) sits at the bottom
}

function toConnection(a: LayerRef, b: LayerRef): Connection {
  return a.side === 'anchor' ? [a.layer, b.layer] : [b.layer, a.layer];
}

function layerOfElement(el: Element | null | undefined): LayerRef | null {
  const node = el?.closest?.('[data-layer]');
  if (!node) return null;
  const side = node.getAttribute('data-side');
  const layer = Number(node.getAttribute('data-layer'));
  return (side === 'anchor' || side === 'augment') && Number.isInteger(layer) ? { side, layer } : null;
}

export function MappingEditor() {
  const anchorId = useAppStore((s) => s.config.anchor);
  const augmentId = useAppStore((s) => s.config.augment);
  const connections = useAppStore((s) => s.config.connections);
  const anchor = useAppStore((s) => modelSizes(s, s.config.anchor));
  const augment = useAppStore((s) => modelSizes(s, s.config.augment));
  const busy = useAppStore((s) => isTraining(s.training));

  if (!anchor || !augment) {
    return <p className="muted">The map appears when both models' sizes have loaded.</p>;
  }
  return (
    <div className="mapping">
      <LayerMap
        anchorId={anchorId}
        augmentId={augmentId}
        anchorLayers={anchor.nLayer}
        augmentLayers={augment.nLayer}
        connections={connections}
        disabled={busy}
      />
      <ConnectionList connections={connections} augmentLayers={augment.nLayer} disabled={busy} />
    </div>
  );
}

interface MapProps {
  anchorId: string;
  augmentId: string;
  anchorLayers: number;
  augmentLayers: number;
  connections: Connection[];
  disabled: boolean;
}

/**
 * What the hint line says about the last action. A note about a link holds only while the map
 * still agrees with it ("Linked …" goes once that link is removed).
 */
type Note = { kind: 'linked' | 'already'; c: Connection } | { kind: 'chosen'; text: string } | null;

export function LayerMap({ anchorId, augmentId, anchorLayers, augmentLayers, connections, disabled }: MapProps) {
  const [selected, setSelected] = useState<LayerRef | null>(null);
  const [drag, setDrag] = useState<{ from: LayerRef; x: number; y: number } | null>(null);
  const [note, setNote] = useState<Note>(null);
  /** A link removed from the keyboard: focus stays on the map (the next link, or its anchor layer). */
  const [refocus, setRefocus] = useState<Connection | null>(null);
  const svgRef = useRef<SVGSVGElement>(null);
  const mapRef = useRef<HTMLDivElement>(null);
  // The highest layer each column shows: the anchor's last block; the augmenting final norm.
  const topOf = (side: Side) => (side === 'anchor' ? anchorLayers - 1 : augmentLayers);
  const rows = (side: Side) => topOf(side) + 2;
  const tallest = Math.max(rows('anchor'), rows('augment'));
  const row = mapRowHeight(tallest);
  const height = row * tallest;
  const compact = row < 36;
  const scrolls = height > MAP_MAX_HEIGHT;
  const yOf = (r: LayerRef) => layerY(r.layer, rows(r.side), height);
  const nameOf = (r: LayerRef) => layerName(r.layer, r.side === 'augment' ? augmentLayers : undefined);
  const label = (c: Connection) => connectionLabel(c, augmentLayers);

  const link = (a: LayerRef, b: LayerRef) => {
    const c = toConnection(a, b);
    if (connections.some((x) => sameConnection(x, c))) setNote({ kind: 'already', c });
    else {
      addConnection(c);
      setNote({ kind: 'linked', c });
    }
  };

  const pick = (r: LayerRef) => {
    if (disabled) return;
    if (!selected || selected.side === r.side) {
      const same = selected?.side === r.side && selected.layer === r.layer;
      setSelected(same ? null : r);
      setNote(
        same
          ? null
          : { kind: 'chosen', text: `${SIDE_NAME[r.side]} ${nameOf(r)} chosen: now choose a layer of the ${r.side === 'anchor' ? 'augmenting model' : 'anchor'} (Escape cancels).` },
      );
      return;
    }
    link(selected, r);
    setSelected(null);
  };
  const linked = (c: Connection) => connections.some((x) => sameConnection(x, c));
  const noteText =
    note?.kind === 'chosen'
      ? selected
        ? note.text
        : ''
      : note && linked(note.c)
        ? note.kind === 'linked'
          ? `Linked ${label(note.c)}.`
          : `${label(note.c)} is already linked.`
        : '';

  // After a link left the map from the keyboard: the next link, else that link's anchor layer.
  useEffect(() => {
    if (!refocus || linked(refocus)) return;
    setRefocus(null);
    const map = mapRef.current;
    const next = map?.querySelector<SVGGElement>('g.link') ?? map?.querySelector<HTMLButtonElement>(`[data-side="anchor"][data-layer="${refocus[0]}"]`);
    next?.focus();
  }, [connections, refocus]);

  // Dragging: the pointer's position in the SVG's coordinates (x 0…100, y in px).
  const pointerAt = (clientX: number, clientY: number) => {
    const box = svgRef.current?.getBoundingClientRect();
    if (!box || box.width === 0) return { x: 50, y: 0 };
    return { x: Math.min(100, Math.max(0, ((clientX - box.left) / box.width) * 100)), y: clientY - box.top };
  };
  const dragging = drag !== null;
  const from = drag?.from;
  useEffect(() => {
    if (!dragging || !from) return;
    const move = (e: PointerEvent) => setDrag((d) => (d ? { ...d, ...pointerAt(e.clientX, e.clientY) } : d));
    const up = (e: PointerEvent) => {
      setDrag(null);
      // Touch pointers stay captured by the layer they started on: ask what lies under the pointer.
      const under = typeof document.elementFromPoint === 'function' ? document.elementFromPoint(e.clientX, e.clientY) : null;
      const target = layerOfElement(under) ?? layerOfElement(e.target as Element | null);
      if (target && target.side !== from.side) {
        link(from, target);
        setSelected(null);
      }
    };
    window.addEventListener('pointermove', move);
    window.addEventListener('pointerup', up);
    window.addEventListener('pointercancel', up);
    return () => {
      window.removeEventListener('pointermove', move);
      window.removeEventListener('pointerup', up);
      window.removeEventListener('pointercancel', up);
    };
    // Re-bound when the connections change, so `link` sees the current list.
  }, [dragging, from?.side, from?.layer, connections]);

  const startDrag = (r: LayerRef, e: ReactPointerEvent) => {
    if (disabled || e.button !== 0) return;
    setDrag({ from: r, ...pointerAt(e.clientX, e.clientY) });
  };

  const onKeyDown = (r: LayerRef, e: KeyboardEvent) => {
    if (e.key === 'Escape') {
      setSelected(null);
      setNote(null);
      return;
    }
    const moves: Record<string, LayerRef | undefined> = {
      ArrowUp: r.layer < topOf(r.side) ? { side: r.side, layer: r.layer + 1 } : undefined,
      ArrowDown: r.layer > -1 ? { side: r.side, layer: r.layer - 1 } : undefined,
      ArrowRight: r.side === 'anchor' ? { side: 'augment', layer: Math.min(r.layer, topOf('augment')) } : undefined,
      ArrowLeft: r.side === 'augment' ? { side: 'anchor', layer: Math.min(r.layer, topOf('anchor')) } : undefined,
    };
    if (!(e.key in moves)) return;
    e.preventDefault();
    const to = moves[e.key];
    if (to) mapRef.current?.querySelector<HTMLButtonElement>(`[data-side="${to.side}"][data-layer="${to.layer}"]`)?.focus();
  };

  const column = (side: Side, modelId: string) => {
    const top = topOf(side);
    const all = Array.from({ length: top + 2 }, (_, i) => top - i); // top layer first, embedding last
    const name = side === 'anchor' ? 'Anchor layers' : 'Augmenting layers';
    return (
      <div className={`column column-${side}`}>
        <p className="column-head">
          {side === 'anchor' ? 'Anchor' : 'Augmenting'}
          <br />
          <code>{modelId}</code>
        </p>
        <ul aria-label={name} className="layers" style={{ height }}>
          {all.map((layer) => {
            const r = { side, layer };
            const isSelected = selected?.side === side && selected.layer === layer;
            const links = connections.filter((c) => (side === 'anchor' ? c[0] : c[1]) === layer).length;
            return (
              <li key={layer} style={{ top: yOf(r) }}>
                <button
                  type="button"
                  className={`layer${isSelected ? ' selected' : ''}${links > 0 ? ' linked' : ''}${layer === -1 || (side === 'augment' && layer === augmentLayers) ? ' special' : ''}`}
                  data-side={side}
                  data-layer={layer}
                  aria-label={`${SIDE_NAME[side]} ${nameOf(r)}`}
                  title={layer === -1 ? 'the output of the embeddings' : side === 'augment' && layer === augmentLayers ? 'the last block after the final norm' : `the output of block ${layer}`}
                  aria-pressed={isSelected}
                  disabled={disabled}
                  onClick={() => pick(r)}
                  onPointerDown={(e) => startDrag(r, e)}
                  onKeyDown={(e) => onKeyDown(r, e)}
                >
                  {nameOf(r)}
                  {links > 0 && <span className="link-count" aria-hidden="true">{links}</span>}
                </button>
              </li>
            );
          })}
        </ul>
      </div>
    );
  };

  return (
    <div className={`layer-map-wrap${scrolls ? ' scrolls' : ''}`} style={scrolls ? { maxHeight: MAP_MAX_HEIGHT + 60 } : undefined}>
      <div ref={mapRef} className={`layer-map${drag ? ' dragging' : ''}${compact ? ' compact' : ''}`}>
        {column('anchor', anchorId)}
        <div className="links-cell">
          <p className="column-head" aria-hidden="true">
            bridges
            <br />
            &nbsp;
          </p>
          <svg ref={svgRef} className="links" viewBox={`0 0 100 ${height}`} preserveAspectRatio="none" width="100%" height={height} role="group" aria-label="Links">
            {connections.map((c) => {
              const text = label(c);
              const y1 = yOf({ side: 'anchor', layer: c[0] });
              const y2 = yOf({ side: 'augment', layer: c[1] });
              const remove = () => {
                if (!disabled) removeConnection(c);
              };
              return (
                <g
                  key={`${c[0]}:${c[1]}`}
                  className="link"
                  role="button"
                  tabIndex={disabled ? -1 : 0}
                  aria-label={`Remove link ${text}`}
                  aria-disabled={disabled}
                  onClick={remove}
                  onKeyDown={(e) => {
                    if (['Enter', ' ', 'Delete', 'Backspace'].includes(e.key)) {
                      e.preventDefault();
                      setRefocus(c);
                      remove();
                    }
                  }}
                >
                  <title>{`${text} (click to remove)`}</title>
                  <line className="link-hit" x1={0} y1={y1} x2={100} y2={y2} vectorEffect="non-scaling-stroke" />
                  <line className="link-line" x1={0} y1={y1} x2={100} y2={y2} vectorEffect="non-scaling-stroke" />
                </g>
              );
            })}
            {drag && (
              <line
                className="link-draft"
                x1={drag.from.side === 'anchor' ? 0 : 100}
                y1={yOf(drag.from)}
                x2={drag.x}
                y2={drag.y}
                vectorEffect="non-scaling-stroke"
              />
            )}
          </svg>
        </div>
        {column('augment', augmentId)}
      </div>
      <p className="hint muted small" aria-live="polite">
        {noteText || 'Drag from a layer to a layer of the other model, or click one then the other. Click a link to remove it.'}
      </p>
    </div>
  );
}

export function ConnectionList({ connections, augmentLayers, disabled }: { connections: Connection[]; augmentLayers: number; disabled: boolean }) {
  return (
    <div className="connections">
      <h3 id="connections-heading">Connections</h3>
      {connections.length === 0 ? (
        <p className="muted">No connections: add at least one on the map.</p>
      ) : (
        <ol aria-label="Connections">
          {connections.map((c, i) => {
            const label = connectionLabel(c, augmentLayers);
            return (
              <li key={`${c[0]}:${c[1]}`}>
                <span className="bridge-index">bridge {i}</span> <span>{label}</span>{' '}
                <button type="button" className="small-button" aria-label={`Remove ${label}`} disabled={disabled} onClick={() => removeConnection(c)}>
                  Remove
                </button>
              </li>
            );
          })}
        </ol>
      )}
    </div>
  );
}

// What the mapping costs: trainable parameters and memory, updated as the mapping changes
// (compositionEstimate of the spec, as the worker's CompositionInfo), and the bridges' heads
// and output.
import { useMemo } from 'react';
import { compositionEstimate } from '../calm/spec';
import { configSpec, modelSizes, useAppStore } from '../store';
import { formatBytes, formatCount, plural } from './format';

export function CompositionSummary() {
  const anchor = useAppStore((s) => modelSizes(s, s.config.anchor));
  const augment = useAppStore((s) => modelSizes(s, s.config.augment));
  const config = useAppStore((s) => s.config);
  const { connections, output, batch } = config;
  const status = useAppStore((s) => s.composition.status);
  const source = useAppStore((s) => s.composition.source);
  // what the worker said when it composed, or what the opened bundle records
  const aligned = useAppStore((s) => s.composition.info?.alignment !== undefined || (s.composition.source?.kind === 'bundle' && s.composition.source.alignment !== undefined));

  const estimate = useMemo(() => {
    if (!anchor || !augment) return null;
    const T = Math.min(anchor.nPositions, augment.nPositions);
    const spec = configSpec(config, anchor);
    return { T, heads: spec.numHeads, info: compositionEstimate(spec, anchor, augment, { batch, T }) };
  }, [anchor, augment, config, batch]);
  if (!estimate) return null;
  const { info, T, heads } = estimate;

  return (
    <div className="summary" aria-label="Composition size" role="group">
      <dl className="sizes">
        <div>
          <dt>Bridges</dt>
          <dd>{formatCount(connections.length)}</dd>
        </div>
        <div>
          <dt>Trainable parameters</dt>
          <dd>{formatCount(info.trainableParameters)}</dd>
        </div>
        <div>
          <dt>Heads</dt>
          <dd>{heads}</dd>
        </div>
        <div>
          <dt>Output</dt>
          <dd>{output}</dd>
        </div>
      </dl>
      <p className="small">{statusText(status, source?.kind)}</p>
      {aligned && (
        <p role="note" className="small">
          These two models tokenize differently, so the bridges align them by characters: each anchor token reads the augmenting model&rsquo;s tokens of
          the text up to its own end, and nothing after it.
        </p>
      )}
      <details className="fold">
        <summary>Memory</summary>
        <dl className="sizes">
          <div>
            <dt>Bridge weights</dt>
            <dd>{formatBytes(info.bridgeBytes)}</dd>
          </div>
          {info.frozenBytes > 0 && (
            <div>
              <dt title="input whitening's mean and matrix, measured on the training data, never trained">Frozen statistics</dt>
              <dd>{formatBytes(info.frozenBytes)}</dd>
            </div>
          )}
          <div>
            <dt>Adam state</dt>
            <dd>{formatBytes(info.adamStateBytes)}</dd>
          </div>
          <div>
            <dt title={`batch ${batch}, ${T} tokens`}>Activations a step</dt>
            <dd>≤ {formatBytes(info.activationBytesPerStep)}</dd>
          </div>
          <div>
            <dt title="the frozen models' work, computed once per example">Cache an example</dt>
            <dd>≤ {formatBytes(info.cacheBytesPerExample)}</dd>
          </div>
        </dl>
        <p className="muted small">At batch {batch} and {plural(T, 'token')} (the shorter context); the two frozen models are not counted.</p>
      </details>
    </div>
  );
}

function statusText(status: string, source: 'training' | 'bundle' | undefined): string {
  if (status === 'building') return 'Building the bridges…';
  if (status === 'ready' && source === 'training') return 'The bridges are trained.';
  if (status === 'ready' && source === 'bundle') return 'The bridges come from a saved, imported or shipped composition.';
  if (status === 'ready') return 'Fresh bridges are built (untrained).';
  return '';
}

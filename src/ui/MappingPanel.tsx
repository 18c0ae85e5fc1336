// Section 2: the layer map, its presets, the bridges' shape and what it all costs.
import { BridgeOptions } from './BridgeOptions';
import { CompositionSummary } from './CompositionSummary';
import { ConfirmDialog } from './ConfirmDialog';
import { MappingEditor } from './MappingEditor';
import { MappingPresets } from './MappingPresets';

export function MappingPanel() {
  return (
    <section aria-labelledby="mapping-heading" className="panel">
      <h2 id="mapping-heading">2. Mapping</h2>
      <p className="muted small">
        Each link is one bridge: after the anchor layer, the anchor reads the augmenting layer's hidden states through cross-attention, and
        adds what it reads to its own residual stream. <em>embedding</em> is the output of the embeddings (layer −1).
      </p>
      <ConfirmDialog />
      <MappingEditor />
      <div className="mapping-controls">
        <MappingPresets />
        <BridgeOptions />
      </div>
      <CompositionSummary />
    </section>
  );
}

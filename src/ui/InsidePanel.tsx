// Inside the bridges — attention heatmaps and per-bridge ablation switches.
import { AttentionHeatmap } from './AttentionHeatmap';
import { BridgeSwitches } from './BridgeSwitches';

export function InsidePanel() {
  return (
    <section aria-labelledby="inside-heading" className="panel">
      <h2 id="inside-heading">Inside the bridges</h2>
      <div className="inside">
        <AttentionHeatmap />
        <BridgeSwitches />
      </div>
    </section>
  );
}

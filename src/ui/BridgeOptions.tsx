// The bridges' shape: attention heads (default: the anchor's) and how their output enters
// the anchor (zero-init: starts exactly as the anchor; rmsnorm: as the official code).
import { isTraining, modelSizes, setBridgeHeads, setBridgeOutput, useAppStore } from '../store';
import { headChoices } from '../store/estimate';
import type { OutputVariant } from '../worker/protocol';

export function BridgeOptions() {
  const anchor = useAppStore((s) => modelSizes(s, s.config.anchor));
  const numHeads = useAppStore((s) => s.config.numHeads);
  const output = useAppStore((s) => s.config.output);
  const busy = useAppStore((s) => isTraining(s.training));
  if (!anchor) return null;

  return (
    <div className="bridge-options">
      <div className="field">
        <label htmlFor="bridge-heads">Bridge heads</label>
        <select id="bridge-heads" value={numHeads} disabled={busy} onChange={(e) => setBridgeHeads(Number(e.target.value))}>
          <option value={0}>{anchor.nHead} (the anchor's)</option>
          {headChoices(anchor.nEmbd)
            .filter((h) => h !== anchor.nHead)
            .map((h) => (
              <option key={h} value={h}>
                {h}
              </option>
            ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="bridge-output">Output</label>
        <select id="bridge-output" value={output} disabled={busy} onChange={(e) => setBridgeOutput(e.target.value as OutputVariant)}>
          <option value="zero-init">zero-init (starts equal to the anchor)</option>
          <option value="rmsnorm">rmsnorm (as the official code)</option>
        </select>
      </div>
    </div>
  );
}

// The bridges' shape (docs/design.md § Spec): attention heads (default: the anchor's), how
// their output enters the anchor (zero-init: starts exactly as the anchor; rmsnorm: as the
// official code), and the options of the recipe: position bias, input whitening, query norm,
// value gate.
import { headChoices, type InputNorm, type OutputVariant } from '../calm/spec';
import {
  isTraining,
  modelSizes,
  setBridgeHeads,
  setBridgeOutput,
  setInputNorm,
  setPositionBias,
  setQueryNorm,
  setValueGate,
  useAppStore,
} from '../store';

const POSITION_BUCKETS = [0, 1, 2, 4, 8, 16];

export function BridgeOptions() {
  const anchor = useAppStore((s) => modelSizes(s, s.config.anchor));
  const numHeads = useAppStore((s) => s.config.numHeads);
  const output = useAppStore((s) => s.config.output);
  const positionBias = useAppStore((s) => s.config.positionBias);
  const inputNorm = useAppStore((s) => s.config.inputNorm);
  const queryNorm = useAppStore((s) => s.config.queryNorm);
  const valueGate = useAppStore((s) => s.config.valueGate);
  const busy = useAppStore((s) => isTraining(s.training));
  if (!anchor) return null;
  const buckets = POSITION_BUCKETS.includes(positionBias) ? POSITION_BUCKETS : [...POSITION_BUCKETS, positionBias].sort((a, b) => a - b);

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
      <div className="field">
        <label htmlFor="bridge-position-bias">Position bias</label>
        <select id="bridge-position-bias" value={positionBias} disabled={busy} onChange={(e) => setPositionBias(Number(e.target.value))}>
          {buckets.map((r) => (
            <option key={r} value={r}>
              {r === 0 ? 'none' : `${r} offsets`}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="bridge-input-norm">Input</label>
        <select id="bridge-input-norm" value={inputNorm} disabled={busy} onChange={(e) => setInputNorm(e.target.value as InputNorm)}>
          <option value="whiten">whitened (frozen statistics of the training data)</option>
          <option value="none">as it is</option>
        </select>
      </div>
      <div className="field">
        <label>
          <input type="checkbox" checked={queryNorm} disabled={busy} onChange={(e) => setQueryNorm(e.target.checked)} /> Query norm
        </label>
      </div>
      <div className="field">
        <label>
          <input type="checkbox" checked={valueGate} disabled={busy} onChange={(e) => setValueGate(e.target.checked)} /> Value gate
        </label>
      </div>
    </div>
  );
}

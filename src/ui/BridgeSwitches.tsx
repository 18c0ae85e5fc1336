// Ablation: a switch per bridge turns it off at inference; Compare and Evaluate then show
// what that bridge contributed.
import { modelSizes, toggleBridge, useAppStore } from '../store';
import { connectionLabel } from '../store/mapping';

export function BridgeSwitches() {
  const connections = useAppStore((s) => s.config.connections);
  const disabled = useAppStore((s) => s.composition.disabled);
  const ready = useAppStore((s) => s.composition.status === 'ready');
  const augmentLayers = useAppStore((s) => modelSizes(s, s.config.augment)?.nLayer);

  return (
    <div className="switches">
      <h3>Bridges at inference</h3>
      <p className="muted small">Switch a bridge off, then Compare or Evaluate again to see what it contributes. Training always uses every bridge.</p>
      <ul aria-label="Bridges at inference">
        {connections.map((c, i) => {
          const on = !disabled.includes(i);
          return (
            <li key={`${c[0]}:${c[1]}`}>
              <label>
                <input type="checkbox" role="switch" checked={on} disabled={!ready} onChange={() => void toggleBridge(i)} /> bridge {i}:{' '}
                {connectionLabel(c, augmentLayers)} <span className="muted small">({on ? 'on' : 'off'})</span>
              </label>
            </li>
          );
        })}
      </ul>
    </div>
  );
}

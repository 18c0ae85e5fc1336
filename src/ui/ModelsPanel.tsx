// The first part of the main loop: the two models (one list per role, each with the chosen
// model's card) and the layer map that links them. Models of the other role are offered too
// (any GPT can play either part), listed after a divider. Presets and the bridges' shape are
// folded below the map.
import type { MouseEvent } from 'react';
import { chooseModel, isTraining, useAppStore } from '../store';
import type { BuiltinModel, ModelRole } from '../store/models';
import { BridgeOptions } from './BridgeOptions';
import { CompositionSummary } from './CompositionSummary';
import { MappingEditor } from './MappingEditor';
import { MappingPresets } from './MappingPresets';
import { ModelCard } from './ModelCard';

const ROLES: { role: ModelRole; label: string; help: string }[] = [
  { role: 'anchor', label: 'Anchor model', help: 'its output is what you read' },
  { role: 'augment', label: 'Augmenting model', help: 'its hidden states are what the bridges read' },
];

/** An option's text: the id, and the title when it says more than the id. */
export function optionText(m: BuiltinModel): string {
  return m.title === m.id || m.title.startsWith(`${m.id} `) ? m.title : `${m.id} — ${m.title}`;
}

/** The page's hash holds the configuration, so the link scrolls to the section rather than navigating. */
function toRealModels(e: MouseEvent<HTMLAnchorElement>): void {
  e.preventDefault();
  const section = document.getElementById('real-models');
  section?.scrollIntoView({ block: 'start' });
  section?.querySelector('button')?.focus();
}

export function ModelsPanel() {
  const models = useAppStore((s) => s.builtinModels);

  return (
    <section aria-labelledby="models-heading" className="panel loop-panel">
      <h2 id="models-heading">
        <span className="step">1</span> Models and links
      </h2>
      {(models.status === 'idle' || models.status === 'loading') && <p role="status">Loading the built-in models…</p>}
      {models.status === 'error' && (
        <p role="alert" className="error">
          {models.error}
        </p>
      )}
      {models.status === 'ready' && (
        <div className="pickers">
          {ROLES.map((r) => (
            <RolePicker key={r.role} {...r} models={models.value} />
          ))}
        </div>
      )}
      <CompositionError />
      <p className="muted small map-help" title="After its anchor layer, the anchor reads that augmenting layer's hidden states through cross-attention and adds what it reads to its own stream.">
        Each link is a bridge from an augmenting layer into an anchor layer.
      </p>
      <MappingEditor />
      <CompositionSummary />
      <details className="fold">
        <summary>Presets and the bridges' shape</summary>
        <MappingPresets />
        <BridgeOptions />
      </details>
      <p className="muted small real-link">
        Real published models (SmolLM2, Pythia, GPT-2), ready in pairs:{' '}
        <a href="#real-models" onClick={toRealModels}>
          Real models
        </a>
        .
      </p>
    </section>
  );
}

function RolePicker({ role, label, help, models }: { role: ModelRole; label: string; help: string; models: BuiltinModel[] }) {
  const chosen = useAppStore((s) => (role === 'anchor' ? s.config.anchor : s.config.augment));
  const busy = useAppStore((s) => isTraining(s.training));
  const own = models.filter((m) => m.role === role);
  const other = models.filter((m) => m.role !== role);
  const model = models.find((m) => m.id === chosen);
  const selectId = `pick-${role}`;

  return (
    <div className="picker">
      <label htmlFor={selectId}>{label}</label>
      <span className="muted small picker-help">{help}</span>
      <select id={selectId} value={chosen} disabled={busy} onChange={(e) => chooseModel(role, e.target.value)}>
        {!model && <option value={chosen}>{chosen} (not found)</option>}
        {own.map((m) => (
          <option key={m.id} value={m.id}>
            {optionText(m)}
          </option>
        ))}
        {other.length > 0 && (
          <optgroup label={role === 'anchor' ? 'Augmenting models' : 'Anchor models'}>
            {other.map((m) => (
              <option key={m.id} value={m.id}>
                {optionText(m)}
              </option>
            ))}
          </optgroup>
        )}
      </select>
      {model ? (
        <ModelCard model={model} role={role} />
      ) : (
        <p role="alert" className="error">
          There is no built-in model “{chosen}”.
        </p>
      )}
    </div>
  );
}

/** Why the worker could not compose this pair (different tokenizers, a bad mapping, ...). */
function CompositionError() {
  const error = useAppStore((s) => (s.composition.status === 'error' ? s.composition.error : undefined));
  if (!error) return null;
  return (
    <p role="alert" className="error">
      Cannot build the composition: {error}
    </p>
  );
}

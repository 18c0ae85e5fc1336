// Picking the two models: one list per role, each with the chosen model's card. Models of
// the other role are offered too (any GPT can play either part), listed after a divider.
import { chooseModel, isTraining, useAppStore } from '../store';
import type { BuiltinModel, ModelRole } from '../store/models';
import { ModelCard } from './ModelCard';
import { ModelImport } from './ModelImport';

const ROLES: { role: ModelRole; label: string; help: string }[] = [
  { role: 'anchor', label: 'Anchor model', help: 'its output is what you read; it learns to read the other through the bridges' },
  { role: 'augment', label: 'Augmenting model', help: 'its hidden states are what the bridges read' },
];

export function ModelPicker() {
  const models = useAppStore((s) => s.builtinModels);

  return (
    <section aria-labelledby="models-heading" className="panel">
      <h2 id="models-heading">1. Models</h2>
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
      <ModelImport />
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
      <p className="muted small">{help}</p>
      <select id={selectId} aria-label={label} value={chosen} disabled={busy} onChange={(e) => chooseModel(role, e.target.value)}>
        {!model && <option value={chosen}>{chosen} (not found)</option>}
        {own.map((m) => (
          <option key={m.id} value={m.id}>
            {m.id} — {m.title}
          </option>
        ))}
        {other.length > 0 && (
          <optgroup label={role === 'anchor' ? 'Augmenting models' : 'Anchor models'}>
            {other.map((m) => (
              <option key={m.id} value={m.id}>
                {m.id} — {m.title}
              </option>
            ))}
          </optgroup>
        )}
      </select>
      {model ? <ModelCard model={model} /> : <p role="alert" className="error">There is no built-in model “{chosen}”.</p>}
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

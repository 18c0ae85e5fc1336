// The built-in models from models/index.json, grouped by role, each with its config.json sizes.
import { useAppStore } from '../store';
import type { BuiltinModel, ModelRole } from '../store/models';

const GROUPS: { role: ModelRole; label: string }[] = [
  { role: 'anchor', label: 'Anchor models' },
  { role: 'augment', label: 'Augmenting models' },
];

export function ModelList() {
  const models = useAppStore((s) => s.builtinModels);

  return (
    <section aria-labelledby="builtin-models-heading">
      <h2 id="builtin-models-heading">Built-in models</h2>
      {(models.status === 'idle' || models.status === 'loading') && <p role="status">Loading the built-in models…</p>}
      {models.status === 'error' && (
        <p role="alert" className="error">
          {models.error}
        </p>
      )}
      {models.status === 'ready' && (
        <>
          {models.value.length === 0 && <p>No built-in models are listed in models/index.json yet.</p>}
          <ul aria-label="Built-in models" className="groups">
            {GROUPS.map(({ role, label }) => (
              <ModelGroup key={role} label={label} models={models.value.filter((m) => m.role === role)} />
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

function ModelGroup({ label, models }: { label: string; models: BuiltinModel[] }) {
  return (
    <li className="group">
      <h3>{label}</h3>
      {models.length === 0 ? (
        <p className="muted">None yet.</p>
      ) : (
        <ul aria-label={label} className="models">
          {models.map((m) => (
            <li key={m.id}>
              <ModelCard model={m} />
            </li>
          ))}
        </ul>
      )}
    </li>
  );
}

function ModelCard({ model }: { model: BuiltinModel }) {
  const config = useAppStore((s) => s.builtinConfigs[model.id]);
  const headingId = `model-${model.id}`;

  return (
    <article aria-labelledby={headingId} className="model">
      <h4 id={headingId}>{model.title}</h4>
      <code className="model-id">{model.id}</code>
      <p>{model.description}</p>
      {config?.status === 'ready' && (
        <dl className="sizes">
          <Size term="Layers" value={config.value.nLayer} />
          <Size term="Width" value={config.value.nEmbd} />
          <Size term="Heads" value={config.value.nHead} />
          <Size term="Context" value={config.value.nPositions} />
          <Size term="Vocabulary" value={config.value.vocabSize} />
        </dl>
      )}
      {config?.status === 'error' && (
        <p role="alert" className="error">
          {config.error}
        </p>
      )}
      {(config === undefined || config.status === 'loading' || config.status === 'idle') && (
        <p className="muted">Loading config.json…</p>
      )}
    </article>
  );
}

function Size({ term, value }: { term: string; value: number }) {
  return (
    <div>
      <dt>{term}</dt>
      <dd>{value.toLocaleString('en-US')}</dd>
    </div>
  );
}

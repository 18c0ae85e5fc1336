// A model's card: its sizes (from config.json), its parameter count, and what it was
// trained on (its README.md).
import { useAppStore } from '../store';
import { modelParameterCount } from '../store/estimate';
import type { BuiltinModel } from '../store/models';
import { formatCount } from './format';

export function ModelCard({ model }: { model: BuiltinModel }) {
  const config = useAppStore((s) => s.builtinConfigs[model.id]);
  const card = useAppStore((s) => s.modelCards[model.id]);
  const measured = useAppStore((s) => s.measuredParameters[model.id]);
  const headingId = `model-${model.role}-${model.id}`;

  return (
    <article aria-labelledby={headingId} className="model">
      <h4 id={headingId}>{model.title}</h4>
      <code className="model-id">{model.id}</code>
      <p>{model.description}</p>
      {config?.status === 'ready' && (
        <dl className="sizes">
          <Size term="Layers" value={formatCount(config.value.nLayer)} />
          <Size term="Width" value={formatCount(config.value.nEmbd)} />
          <Size term="Heads" value={formatCount(config.value.nHead)} />
          <Size term="Context" value={formatCount(config.value.nPositions)} />
          <Size term="Vocabulary" value={formatCount(config.value.vocabSize)} />
          <Size term="Parameters" value={formatCount(measured ?? modelParameterCount(config.value))} />
        </dl>
      )}
      {config?.status === 'error' && (
        <p role="alert" className="error">
          {config.error}
        </p>
      )}
      {(config === undefined || config.status === 'loading' || config.status === 'idle') && <p className="muted">Loading config.json…</p>}
      {card && (
        <details className="card">
          <summary>What it was trained on</summary>
          <pre>{card}</pre>
        </details>
      )}
    </article>
  );
}

function Size({ term, value }: { term: string; value: string }) {
  return (
    <div>
      <dt>{term}</dt>
      <dd>{value}</dd>
    </div>
  );
}

// A model's card: the part it plays here (the column it is in decides), its sizes (from
// config.json), its parameter count, and what it was trained on (its README.md, rendered).
import { useAppStore } from '../store';
import type { BuiltinModel, ModelRole } from '../store/models';
import { formatCount } from './format';
import { Markdown } from './Markdown';

const ROLE_LABEL: Record<ModelRole, string> = { anchor: 'anchor', augment: 'augmenting' };

/** The index's description without a leading "Anchor model:" — the badge says the role, as this column has it. */
function describe(description: string): string {
  const rest = description.replace(/^\s*(anchor|augmenting)( model)?\s*:\s*/i, '');
  return rest.charAt(0).toUpperCase() + rest.slice(1);
}

export function ModelCard({ model, role }: { model: BuiltinModel; role: ModelRole }) {
  const config = useAppStore((s) => s.builtinConfigs[model.id]);
  const card = useAppStore((s) => s.modelCards[model.id]);
  const measured = useAppStore((s) => s.measuredParameters[model.id]);
  const headingId = `model-${role}-${model.id}`;

  return (
    <article aria-labelledby={headingId} className={`model model-${role}`}>
      {/* the list above shows the title; the heading names the card for assistive technology */}
      <h3 id={headingId} className="visually-hidden">
        {model.title}
      </h3>
      {config?.status === 'ready' && (
        <dl className="sizes">
          <Size term="Layers" value={formatCount(config.value.nLayer)} />
          <Size term="Width" value={formatCount(config.value.nEmbd)} />
          <Size term="Heads" value={formatCount(config.value.nHead)} />
          <Size term="Parameters" value={formatCount(measured ?? config.value.parameters)} />
        </dl>
      )}
      {config?.status === 'error' && (
        <p role="alert" className="error">
          {config.error}
        </p>
      )}
      {(config === undefined || config.status === 'loading' || config.status === 'idle') && <p className="muted">Loading config.json…</p>}
      <details className="card">
        <summary>
          <span className="role-badge">{ROLE_LABEL[role]}</span> What it was trained on{card ? ' (its model card)' : ''}
          {/* a model you imported has no listed role: the worker files it under either column */}
          {model.role !== role && !model.path.startsWith('imported/') && (
            <span className="muted"> · listed as an {ROLE_LABEL[model.role]} model</span>
          )}
        </summary>
        <p className="small">{describe(model.description)}</p>
        {config?.status === 'ready' && (
          <p className="small">
            Context {formatCount(config.value.nPositions)} tokens · vocabulary {formatCount(config.value.vocabSize)}
          </p>
        )}
        {card && <Markdown text={card} />}
      </details>
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

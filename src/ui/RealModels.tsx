// Real models (docs/design.md § Models, the Real models section): ready pairs of published
// models, each pair one family with one tokenizer. Before anything is downloaded, each model's
// layers, parameters and memory come from its published config.json, summarised by the
// architecture's tensor table; one button downloads both by repo id (progress, cancel, this
// browser's cache) and picks them as anchor and augmenting model.
import {
  cancelModelDownload,
  downloadRealPair,
  formatBytes,
  isTraining,
  REAL_PAIRS,
  realModelId,
  secondsPerStep,
  useAppStore,
  WEIGHT_LIMIT_BYTES,
  type RealPair,
} from '../store';
import type { Loadable, ModelSummary } from '../store/models';
import { formatCount, formatNumber } from './format';

/** The rows of a pair's table: what the summary of each model's config.json gives. */
const ROWS: { label: string; value: (s: ModelSummary) => string }[] = [
  { label: 'Architecture', value: (s) => s.architecture },
  { label: 'Layers', value: (s) => formatCount(s.nLayer) },
  { label: 'Width', value: (s) => formatCount(s.nEmbd) },
  { label: 'Parameters', value: (s) => formatCount(s.parameters) },
  { label: 'Memory (float32)', value: (s) => formatBytes(s.float32Bytes) },
  { label: 'Download, at least', value: (s) => formatBytes(s.checkpointBytes) },
];

export function RealModels() {
  return (
    <section id="real-models" aria-labelledby="real-heading" className="panel wide real-models">
      <h2 id="real-heading">Real models</h2>
      <p className="muted small">
        Published models from Hugging Face, in pairs of one family (one tokenizer), ready to compose. The figures come from each model's published
        config.json before anything is downloaded: the memory is its weights as float32, as the worker holds them; this page takes at most{' '}
        {formatBytes(WEIGHT_LIMIT_BYTES)} per model. One button downloads both models (kept in this browser's cache) and picks them; then link layers,
        train and compare as with the built-in models.
      </p>
      <p className="small">
        What a training step costs is measured on your device: after Train, the train panel gives the seconds per step, and each pair below repeats
        the figure for its own models.
      </p>
      <ul className="real-pairs">
        {REAL_PAIRS.map((p) => (
          <li key={p.id}>
            <PairCard pair={p} />
          </li>
        ))}
      </ul>
    </section>
  );
}

function PairCard({ pair }: { pair: RealPair }) {
  const anchor = useAppStore((s) => s.realConfigs[pair.anchor]);
  const augment = useAppStore((s) => s.realConfigs[pair.augment]);
  const busy = useAppStore((s) => isTraining(s.training) || s.modelImport.status !== 'idle' || s.realDownload !== null);
  const mine = useAppStore((s) => (s.realDownload?.pair === pair.id ? s.realDownload : null));
  const download = useAppStore((s) => (s.realDownload?.pair === pair.id && s.modelImport.status === 'downloading' ? s.modelImport.download : undefined));
  const checking = useAppStore((s) => s.realDownload?.pair === pair.id && s.modelImport.status === 'loading');
  const headingId = `real-${pair.id}`;
  const both = anchor?.status === 'ready' && augment?.status === 'ready' ? anchor.value.float32Bytes + augment.value.float32Bytes : undefined;

  return (
    <article aria-labelledby={headingId} className="real-pair">
      <h3 id={headingId}>{pair.title}</h3>
      <table className="real-sizes" aria-label={`${pair.title}: sizes`}>
        <thead>
          <tr>
            <th scope="col" />
            <th scope="col">
              Anchor <RepoId repo={pair.anchor} />
            </th>
            <th scope="col">
              Augmenting <RepoId repo={pair.augment} />
            </th>
          </tr>
        </thead>
        <tbody>
          {ROWS.map((r) => (
            <tr key={r.label}>
              <th scope="row">{r.label}</th>
              <Cell entry={anchor} value={r.value} />
              <Cell entry={augment} value={r.value} />
            </tr>
          ))}
        </tbody>
      </table>
      {both !== undefined && <p className="small">Both models together: {formatBytes(both)} of memory.</p>}
      <div className="buttons">
        <button type="button" disabled={busy} onClick={() => void downloadRealPair(pair)}>
          Download both and compose
        </button>
        {download && (
          <button type="button" onClick={cancelModelDownload}>
            Cancel
          </button>
        )}
      </div>
      {mine && (
        <p className="small">
          <progress aria-label={`${pair.title}: download progress`} max={download?.total ?? undefined} value={download?.total ? download.loaded : undefined} />{' '}
          <span role="status" aria-label={`${pair.title}: download status`}>
            Model {mine.model + 1} of 2 ({mine.model === 0 ? pair.anchor : pair.augment}):{' '}
            {download
              ? `${formatBytes(download.loaded)}${download.total ? ` of ${formatBytes(download.total)}` : ''}${download.file ? ` (${download.file})` : ''}${
                  download.cached > 0 ? `, ${download.cached} file${download.cached === 1 ? '' : 's'} from this browser's cache` : ''
                }`
              : checking
                ? "checking the model's files…"
                : 'starting…'}
          </span>
        </p>
      )}
      <MeasuredStep pair={pair} />
    </article>
  );
}

/** A repo id that wraps after its owner only. */
function RepoId({ repo }: { repo: string }) {
  const [owner, name] = repo.split('/');
  return (
    <code>
      {owner}/<wbr />
      {name}
    </code>
  );
}

function Cell({ entry, value }: { entry: Loadable<ModelSummary> | undefined; value: (s: ModelSummary) => string }) {
  if (entry?.status === 'ready') return <td>{value(entry.value)}</td>;
  if (entry?.status === 'error') return <td className="error-text">{entry.error}</td>;
  return <td className="muted">…</td>;
}

/** The seconds per training step the last run measured, when it trained this pair. */
function MeasuredStep({ pair }: { pair: RealPair }) {
  const training = useAppStore((s) => s.training);
  const run = training.run;
  const seconds = secondsPerStep(training);
  const ours = run && run.anchor === realModelId(pair.anchor) && run.augment === realModelId(pair.augment) && !isTraining(training);
  if (!ours || seconds === undefined) return null;
  return (
    <p className="small" role="status" aria-label={`${pair.title}: measured training step`}>
      Measured here: {formatNumber(seconds)} s per training step (batch {formatCount(run.batch)}, {formatCount(training.step)} steps).
    </p>
  );
}

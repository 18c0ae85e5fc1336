// Saved work: the compositions this browser keeps (open, rename, delete; each with its
// held-out accuracy), the one open now exported as one file (named after it), a bundle file
// imported by the file picker or by dropping it here, and the compositions shipped with the app.
import { useState, type DragEvent } from 'react';
import {
  deleteSavedComposition,
  dismissLibraryNotice,
  exportCurrent,
  formatBytes,
  importBundleFiles,
  isTraining,
  openCompositionName,
  openSaved,
  renameSavedComposition,
  resumeTraining,
  useAppStore,
} from '../store';
import type { SavedSummary } from '../store/saved';
import { formatPercent } from './format';
import { ShippedCompositions } from './ShippedCompositions';

async function picked(list: FileList | null): Promise<{ name: string; bytes: ArrayBuffer }[]> {
  return Promise.all([...(list ?? [])].map(async (f) => ({ name: f.name, bytes: await f.arrayBuffer() })));
}

function download(name: string, bytes: Uint8Array): void {
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/zip' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function SavedPanel() {
  const library = useAppStore((s) => s.library);
  const busy = useAppStore((s) => isTraining(s.training) || s.composition.status === 'building');
  const trained = useAppStore((s) => s.composition.status === 'ready' && s.composition.trained);
  const openName = useAppStore((s) => openCompositionName(s));
  const [exportError, setExportError] = useState<string | null>(null);
  const [renaming, setRenaming] = useState<{ id: string; name: string } | null>(null);
  const [over, setOver] = useState(false);

  const onDrop = async (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    if (busy) return;
    await importBundleFiles(await picked(e.dataTransfer.files));
  };

  return (
    <section
      aria-labelledby="saved-heading"
      className={`panel${over ? ' drop-over' : ''}`}
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => void onDrop(e)}
    >
      <h2 id="saved-heading">Saved compositions</h2>
      <p className="muted small">
        Every composition you train is kept in this browser, with a checkpoint every few seconds of training. Export one as a file to share it;
        import a file by choosing it or dropping it on this panel.
      </p>
      {library.notice && (
        <p role="status" aria-label="Saved work notice" className="notice success">
          {library.notice}{' '}
          {library.resume && (
            <button type="button" disabled={busy} onClick={() => void resumeTraining()}>
              Resume training from step {library.resume.step}
            </button>
          )}
        </p>
      )}
      {library.error && (
        <p role="alert" aria-label="Saving problem" className="error-text">
          {library.error}
        </p>
      )}
      {library.importError && (
        <p role="alert" aria-label="Import problem" className="error-text">
          {library.importError}{' '}
          <button type="button" onClick={dismissLibraryNotice}>
            Dismiss
          </button>
        </p>
      )}
      <div className="buttons">
        <button
          type="button"
          disabled={busy || !trained}
          onClick={() => {
            setExportError(null);
            exportCurrent()
              .then(({ name, bytes }) => download(name, bytes))
              .catch((e: unknown) => setExportError(`Could not export: ${e instanceof Error ? e.message : String(e)}`));
          }}
        >
          Export composition
        </button>
        <label className="file-button">
          Import a composition file{' '}
          <input
            type="file"
            accept=".zip,.json,.safetensors"
            multiple
            disabled={busy}
            onChange={(e) => {
              const input = e.currentTarget;
              void picked(input.files).then((files) => {
                input.value = '';
                return importBundleFiles(files);
              });
            }}
          />
        </label>
        {trained && <span className="muted small">Export writes the composition open now, “{openName}”.</span>}
        {exportError && <span className="error-text">{exportError}</span>}
      </div>
      {library.list.length > 0 && (
        <ul aria-label="Saved compositions" className="saved-list">
          {library.list.map((r) => (
            <li key={r.id} aria-current={r.id === library.currentId ? 'true' : undefined}>
              {renaming?.id === r.id ? (
                <form
                  onSubmit={(e) => {
                    e.preventDefault();
                    void renameSavedComposition(r.id, renaming.name);
                    setRenaming(null);
                  }}
                >
                  <input aria-label={`New name for ${r.name}`} value={renaming.name} onChange={(e) => setRenaming({ id: r.id, name: e.target.value })} autoFocus />
                  <button type="submit">Save name</button>
                  <button type="button" onClick={() => setRenaming(null)}>
                    Cancel
                  </button>
                </form>
              ) : (
                <>
                  <strong className="saved-name">{r.name}</strong>{' '}
                  <span className="muted small">
                    {r.settings.connections.length} bridge{r.settings.connections.length === 1 ? '' : 's'} ·{' '}
                    {r.state === 'training' ? `interrupted at step ${r.step} of ${r.steps}` : r.state === 'imported' ? 'imported' : `${r.step} steps`} ·{' '}
                    {heldOutText(r)}
                    {formatBytes(r.bytes)}
                    {r.id === library.currentId ? ' · open now' : ''}
                  </span>{' '}
                  <button type="button" disabled={busy} onClick={() => void openSaved(r.id)} aria-label={`Open ${r.name}`}>
                    Open
                  </button>
                  <button type="button" onClick={() => setRenaming({ id: r.id, name: r.name })} aria-label={`Rename ${r.name}`}>
                    Rename
                  </button>
                  <button type="button" disabled={busy && r.id === library.currentId} onClick={() => void deleteSavedComposition(r.id)} aria-label={`Delete ${r.name}`}>
                    Delete
                  </button>
                </>
              )}
            </li>
          ))}
        </ul>
      )}
      <ShippedCompositions />
    </section>
  );
}

/** "held-out accuracy 12.0 % · " when the run scored its held-out examples; else nothing. */
function heldOutText(r: SavedSummary): string {
  const acc = r.metrics.summary?.heldOutAccuracy ?? r.metrics.accuracy.at(-1)?.[1];
  return acc === undefined ? '' : `held-out accuracy ${formatPercent(acc)} · `;
}

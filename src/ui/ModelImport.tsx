// Bring your own model: a folder in Hugging Face layout (config.json, model.safetensors or its
// shards, tokenizer.json, README.md optional), chosen, dropped or downloaded here.
import { useState, type ChangeEvent, type DragEvent } from 'react';
import { cancelModelDownload, formatBytes, importModelFiles, importModelFromUrl, isTraining, useAppStore } from '../store';

type Picked = { name: string; path?: string; bytes: ArrayBuffer };

/** A file input's choice, imported; the input is cleared so the same choice can come again. */
function importPicked(e: ChangeEvent<HTMLInputElement>): void {
  const input = e.currentTarget;
  void fromFileList(input.files).then((files) => {
    input.value = '';
    return importModelFiles(files);
  });
}

async function fromFileList(list: FileList | null): Promise<Picked[]> {
  return Promise.all(
    [...(list ?? [])].map(async (f) => ({ name: f.name, path: f.webkitRelativePath || undefined, bytes: await f.arrayBuffer() })),
  );
}

/** Dropped files, or the files of a dropped folder (one level). */
async function fromDrop(e: DragEvent): Promise<{ files: Picked[]; folder?: string }> {
  const entries = [...e.dataTransfer.items].map((i) => i.webkitGetAsEntry?.()).filter((x): x is FileSystemEntry => !!x);
  const dir = entries.find((x) => x.isDirectory) as FileSystemDirectoryEntry | undefined;
  if (!dir) return { files: await fromFileList(e.dataTransfer.files) };
  const children = await new Promise<FileSystemEntry[]>((resolve, reject) => dir.createReader().readEntries(resolve, reject));
  const files = await Promise.all(
    children
      .filter((c): c is FileSystemFileEntry => c.isFile)
      .map((c) => new Promise<File>((resolve, reject) => c.file(resolve, reject)).then(async (f) => ({ name: f.name, bytes: await f.arrayBuffer() }))),
  );
  return { files, folder: dir.name };
}

export function ModelImport() {
  const state = useAppStore((s) => s.modelImport);
  const busy = useAppStore((s) => isTraining(s.training)) || state.status !== 'idle';
  const [over, setOver] = useState(false);
  const [address, setAddress] = useState('');
  const download = state.status === 'downloading' ? state.download : undefined;

  return (
    <section
      aria-labelledby="import-heading"
      className={`panel model-import${over ? ' drop-over' : ''}`}
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => {
        e.preventDefault();
        setOver(false);
        if (busy) return;
        void fromDrop(e).then(({ files, folder }) => importModelFiles(files, folder));
      }}
    >
      <h2 id="import-heading">Bring your own model</h2>
      <p className="muted small">
        A GPT-2, Llama or GPT-NeoX model folder in Hugging Face layout: config.json, model.safetensors (or model.safetensors.index.json and its
        shards) and tokenizer.json (README.md as its card). Choose the
        folder, choose its files, drop them here, or download them by repo id or URL (kept in this browser's cache). It stays in this browser
        for your next visit.
      </p>
      <div className="buttons">
        <label className="file-button">
          Import a model folder{' '}
          <input
            type="file"
            webkitdirectory=""
            disabled={busy}
            onChange={importPicked}
          />
        </label>
        <label className="file-button">
          Import model files{' '}
          <input
            type="file"
            multiple
            accept=".json,.safetensors,.md"
            disabled={busy}
            onChange={importPicked}
          />
        </label>
      </div>
      <form
        className="buttons model-url"
        onSubmit={(e) => {
          e.preventDefault();
          if (!busy) void importModelFromUrl(address);
        }}
      >
        <label>
          Hugging Face repo id or folder URL{' '}
          <input
            type="text"
            placeholder="owner/name or https://…/"
            value={address}
            spellCheck={false}
            onChange={(e) => setAddress(e.target.value)}
            disabled={busy}
          />
        </label>
        <button type="submit" disabled={busy || address.trim() === ''}>
          Download model
        </button>
        {download && (
          <button type="button" onClick={cancelModelDownload}>
            Cancel download
          </button>
        )}
      </form>
      {download && (
        <p className="small">
          <progress aria-label="Model download progress" max={download.total ?? undefined} value={download.total ? download.loaded : undefined} />{' '}
          <span role="status" aria-label="Model download status">
            Downloading {download.source}: {formatBytes(download.loaded)}
            {download.total ? ` of ${formatBytes(download.total)}` : ''}
            {download.file ? ` (${download.file})` : ''}
            {download.cached > 0 ? `, ${download.cached} file${download.cached === 1 ? '' : 's'} from this browser's cache` : ''}
          </span>
        </p>
      )}
      {state.status === 'loading' && <p role="status">Checking the model's files…</p>}
      {state.notice && (
        <p role="status" aria-label="Model import notice" className="notice success">
          {state.notice}
        </p>
      )}
      {state.error && (
        <p role="alert" aria-label="Model import problem" className="error-text">
          {state.error}
        </p>
      )}
    </section>
  );
}

// Saved work as the page shows it (the list, what is open, storage errors) and its actions:
// save as training goes (a checkpoint every few seconds) and when it ends, restore the last
// session on load, open / rename / delete, export to one file and import it again.
import type { BundleFiles, CompositionSettings, TrainSummary } from '../worker/protocol';
import { beginActivity } from './activity';
import { controller, getState, setState } from './app';
import { bundleFileName, readBundleFiles, readManifest, zipBundle, type PickedFile } from './bundle-file';
import { compositionSettings } from './compose';
import { settingsKey } from './composition';
import { defaultExamplesText, examplesFromText } from './examples';
import { bundleOpened } from './replaced';
import { newSavedId, storageAvailable, type SavedComposition, type SavedHyperparameters } from './saved';
import { whenModelsLoaded, whenSessionReady } from './session-start';
import type { LibraryState } from './library-slice';
import { isTraining } from './training';
import { api, messageOf, serial, transferBundle } from './worker';

/** The person pressed Stop: a cancelled run then ends as they asked (not as a fault). */
export function markStoppedByUser(): void {
  controller().training.stoppedByUser = true;
}

/** Whether the saved record `id` is a run of this page that a fault interrupted. */
export function interruptedHere(id: string | undefined): boolean {
  return id !== undefined && controller().training.unfinished === id;
}

function patchLibrary(patch: Partial<LibraryState>): void {
  setState((s) => ({ library: { ...s.library, ...patch } }));
}

export async function refreshSaved(): Promise<void> {
  if (!storageAvailable()) return;
  try {
    patchLibrary({ list: await controller().saved.list() });
  } catch (e) {
    patchLibrary({ error: `Could not read your saved compositions: ${messageOf(e)}` });
  }
}

function hyperparameters(): SavedHyperparameters {
  const { steps, lr, batch, seed, heldOut } = getState().config;
  return { steps, lr, batch, seed, heldOut };
}

function examplesText(): string | null {
  const ex = getState().examples;
  return ex.isDefault ? null : ex.text;
}

function defaultName(settings: CompositionSettings): string {
  const d = new Date();
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${settings.anchor} + ${settings.augment}, ${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

async function write(record: SavedComposition): Promise<boolean> {
  try {
    await controller().saved.put(record);
    patchLibrary({ currentId: record.id, error: undefined });
    await refreshSaved();
    return true;
  } catch (e) {
    patchLibrary({ error: messageOf(e) });
    return false;
  }
}

export interface TrainingSaver {
  /** Called on each training event: writes a checkpoint when the controller's checkpointMs have passed. */
  progress(step: number): void;
  /** Training ended: writes the final record (awaits any checkpoint in flight first). */
  finish(summary: TrainSummary | undefined, step: number): Promise<void>;
}

/**
 * Saves a training run as it goes. `resumeOf` continues an existing record (a resumed run).
 * Checkpoints read the bridges between two steps (exportBundle is allowed during training).
 */
export function startSavingRun(settings: CompositionSettings, steps: number, resumeOf?: SavedComposition): TrainingSaver {
  const noop: TrainingSaver = { progress: () => undefined, finish: async () => undefined };
  if (!storageAvailable()) return noop;
  const { training: run, timing } = controller();
  const id = resumeOf?.id ?? newSavedId();
  const created = resumeOf?.created ?? Date.now();
  const name = resumeOf?.name ?? defaultName(settings);
  let last = Date.now();
  let inFlight: Promise<unknown> = Promise.resolve();
  let writing = false;
  let lastStep = -1;
  let pending = -1; // a step that arrived while a checkpoint was being written
  const hp = resumeOf?.hyperparameters ?? hyperparameters();
  const text = resumeOf ? resumeOf.examplesText : examplesText();

  const save = async (state: SavedComposition['state'], step: number, summary?: TrainSummary): Promise<boolean> => {
    let bundle: BundleFiles;
    try {
      bundle = await api().exportBundle();
    } catch {
      return false; // the worker is gone or its GPU lost: the previous checkpoint stays
    }
    const t = getState().training;
    return write({
      id,
      name: getState().library.list.find((r) => r.id === id)?.name ?? name,
      created,
      updated: Date.now(),
      settings,
      hyperparameters: hp,
      examplesText: text,
      metrics: { losses: t.losses, accuracy: t.accuracy, ...(summary ? { summary } : {}) },
      state,
      step,
      steps,
      bundle,
    });
  };

  run.unfinished = id;
  run.stoppedByUser = false;
  // A resumed run keeps "Restored … (training stopped at step N)" while it goes on, and clears it
  // when it ends (finish); a new run starts with no notice.
  patchLibrary(resumeOf ? { currentId: id, resume: undefined } : { currentId: id, resume: undefined, notice: undefined, noticeFor: undefined });
  return {
    progress(step) {
      if (step <= 0 || step === lastStep) return;
      if (writing) {
        pending = step; // written as soon as the checkpoint in flight is done
        return;
      }
      if (Date.now() - last < timing.checkpointMs) return;
      writing = true;
      lastStep = step;
      inFlight = save('training', step).finally(() => {
        writing = false;
        last = Date.now();
        const next = pending;
        pending = -1;
        if (next > lastStep) this.progress(next);
      });
    },
    async finish(summary, step) {
      pending = -1;
      await inFlight;
      if (getState().library.noticeFor === id) patchLibrary({ notice: undefined, noticeFor: undefined });
      if (step <= 0) {
        // Nothing trained: nothing worth keeping. But a run that wrote checkpoints and then
        // reports no step did not end cleanly: it stays resumable from them.
        if (lastStep <= 0 && run.unfinished === id) run.unfinished = undefined;
        return;
      }
      // A run cancelled by no one (its GPU was lost, its worker is dying) keeps its last
      // checkpoint and stays resumable; so does one whose end cannot be saved.
      if (summary?.stopped === 'cancelled' && !run.stoppedByUser) return;
      if ((await save('done', step, summary)) && run.unfinished === id) run.unfinished = undefined;
    },
  };
}

/** Puts a saved record into the worker and the page: bridges, mapping, hyperparameters, examples, chart. */
async function applyRecord(record: SavedComposition): Promise<void> {
  const bundle = { composition: record.bundle.composition, bridge: record.bundle.bridge.slice(0) };
  const settings = await serial(() => api().importBundle(transferBundle(bundle)));
  applyImported(settings, record.name, record.bundle.composition, record.hyperparameters, record.examplesText);
  const { summary } = record.metrics;
  setState({
    training: {
      status: record.state === 'training' ? 'stopped' : summary?.stopped === 'non-finite' ? 'error' : summary?.stopped === 'cancelled' ? 'stopped' : record.state === 'done' ? 'done' : 'idle',
      step: record.step,
      steps: record.steps,
      losses: record.metrics.losses,
      accuracy: record.metrics.accuracy,
      loss: record.metrics.losses.at(-1)?.[1],
      summary,
      error: summary?.stopped === 'non-finite' ? summary.message : undefined,
    },
  });
}

function applyImported(
  settings: CompositionSettings,
  title: string,
  composition: string,
  hp: SavedHyperparameters | undefined,
  text: string | null | undefined,
): void {
  const manifest = readManifest(composition);
  setState((s) => ({
    ...bundleOpened(s, { settings, recorded: hp, source: { kind: 'bundle', title, metrics: manifest.metrics, training: manifest.training, alignment: manifest.alignment } }),
    ...(text !== undefined ? { examples: examplesFromText(text ?? defaultExamplesText()) } : {}),
  }));
}

/**
 * On page load: opens the composition the page showed last. Returns whether it did (if not,
 * the page composes its default pair). An interrupted training is offered for resuming.
 */
export async function restoreLastSession(): Promise<boolean> {
  if (!storageAvailable()) return false;
  let record: SavedComposition | undefined;
  try {
    record = await controller().saved.last();
    void refreshSaved();
  } catch (e) {
    patchLibrary({ error: `Could not read your saved compositions: ${messageOf(e)}` });
    return false;
  }
  if (!record) return false;
  if (controller().openedWithLink) {
    // A link names its own composition; the last visit's wins only when it is the same one
    // (a reload keeps the page's own address, which names what it showed).
    await whenModelsLoaded();
    const linked = compositionSettings(getState());
    if (!('settings' in linked) || settingsKey(linked.settings) !== settingsKey(record.settings)) {
      patchLibrary({ notice: `Opened the link's composition; “${record.name}” from your last visit is under Saved compositions.` });
      return false;
    }
  }
  return reopen(record, 'from your last visit');
}

async function reopen(record: SavedComposition, why: string): Promise<boolean> {
  const activity = beginActivity(`Restoring ${record.name}`);
  try {
    await whenSessionReady();
    await whenModelsLoaded();
    await applyRecord(record);
    const interrupted = record.state === 'training' && record.step < record.steps;
    patchLibrary({
      currentId: record.id,
      noticeFor: record.id,
      notice: `Restored “${record.name}” ${why}${interrupted ? ` (training stopped at step ${record.step} of ${record.steps})` : ''}.`,
      resume: interrupted ? { id: record.id, name: record.name, step: record.step, steps: record.steps } : undefined,
      importError: undefined,
    });
    return true;
  } catch (e) {
    patchLibrary({ importError: `Could not restore “${record.name}”: ${messageOf(e)}` });
    return false;
  } finally {
    activity.end();
  }
}

/** After the worker was restarted (a crash, a lost GPU): the bridges of the last checkpoint back. */
export async function restoreAfterRestart(): Promise<boolean> {
  const id = getState().library.currentId;
  if (!id || !storageAvailable()) return false;
  const record = await controller().saved.get(id).catch(() => undefined);
  if (!record) return false;
  return reopen(record, `after the worker restarted, from step ${record.step}`);
}

export async function openSaved(id: string): Promise<void> {
  if (isTraining(getState().training)) return;
  const record = await controller().saved.get(id).catch(() => undefined);
  if (!record) {
    patchLibrary({ importError: 'That saved composition is gone.' });
    await refreshSaved();
    return;
  }
  if (await reopen(record, '')) {
    patchLibrary({ notice: `Opened “${record.name}”.`, noticeFor: record.id });
    await controller().saved.setLast(id).catch(() => undefined);
  }
}

export async function renameSavedComposition(id: string, name: string): Promise<void> {
  const trimmed = name.trim();
  if (!trimmed) return;
  try {
    await controller().saved.rename(id, trimmed.slice(0, 200));
  } catch (e) {
    patchLibrary({ error: `Could not rename: ${messageOf(e)}` });
  }
  await refreshSaved();
}

export async function deleteSavedComposition(id: string): Promise<void> {
  try {
    await controller().saved.delete(id);
    const l = getState().library;
    patchLibrary({
      currentId: l.currentId === id ? undefined : l.currentId,
      resume: l.resume?.id === id ? undefined : l.resume,
      error: undefined,
    });
  } catch (e) {
    patchLibrary({ error: `Could not delete: ${messageOf(e)}` });
  }
  await refreshSaved();
}

/** The name the open composition goes by: its saved record's, a shipped one's title, or its two models. */
export function openCompositionName(s = getState()): string {
  const record = s.library.list.find((r) => r.id === s.library.currentId);
  if (record) return record.name;
  const source = s.composition.source;
  if (source?.kind === 'bundle') return source.title;
  return `${s.config.anchor}+${s.config.augment}`;
}

/** The current bridges as one file (zip of the bundle), named after the open composition; throws a message for people. */
export async function exportCurrent(): Promise<{ name: string; bytes: Uint8Array }> {
  const bundle = await api().exportBundle();
  const s = getState();
  const name = openCompositionName(s);
  return { name: bundleFileName(name), bytes: zipBundle({ ...bundle, examplesText: examplesText() ?? undefined }) };
}

/** Imports a bundle file (a zip, or composition.json with bridge.safetensors) and saves it. */
export async function importBundleFiles(files: PickedFile[]): Promise<void> {
  if (isTraining(getState().training)) return;
  const activity = beginActivity('Importing a composition');
  patchLibrary({ importError: undefined, notice: undefined });
  try {
    const file = readBundleFiles(files);
    await whenSessionReady();
    await whenModelsLoaded();
    const bridge = file.bridge.slice(0);
    const settings = await serial(() => api().importBundle(transferBundle({ composition: file.composition, bridge: file.bridge })));
    const title = files[0].name.replace(/(\.calm)?\.zip$/i, '');
    applyImported(settings, title, file.composition, undefined, file.examplesText ?? undefined);
    setState((s) => ({ training: { status: 'idle', step: 0, steps: s.config.steps, losses: [], accuracy: [] } }));
    const manifest = readManifest(file.composition);
    const steps = typeof manifest.training?.steps === 'number' ? manifest.training.steps : 0;
    const id = newSavedId();
    await write({
      id,
      name: title,
      created: Date.now(),
      updated: Date.now(),
      settings,
      hyperparameters: hyperparameters(),
      examplesText: examplesText(),
      metrics: { losses: [], accuracy: [] },
      state: 'imported',
      step: steps,
      steps,
      bundle: { composition: file.composition, bridge },
    });
    patchLibrary({ notice: `Imported “${title}”.`, noticeFor: id });
  } catch (e) {
    patchLibrary({ importError: `Could not import ${files.map((f) => f.name).join(', ') || 'the file'}: ${messageOf(e)}` });
  } finally {
    activity.end();
  }
}

export function dismissLibraryNotice(): void {
  patchLibrary({ notice: undefined, error: undefined, importError: undefined });
}

// The composition the worker holds and every job on it: compose, train, evaluate, generate,
// attention, the ablation switches, bundle export and import. The work itself is the core's
// (src/calm, src/train, src/pipeline); what is here is the worker's state and its checks of
// what the page sends.
import { tf } from '../model/tf';
import { compositionFromBundle, disposeBridges, exportBundle, readBundleManifest, type ModelRef } from '../calm/bundle';
import { composeModels, type ComposeSettings } from '../calm/experiment';
import { withAlignment } from '../calm/bundle-manifest';
import { compositionEstimate } from '../calm/spec';
import type { BridgeWeights } from '../calm/types';
import { crossAttentionWeights } from '../kernels/cross-attention';
import { KV_SPEC, makeKeyTable, type KeyTable } from '../tasks/kv';
import { generate } from '../pipeline/decode';
import { columnContext, columnDecoder, columnTokenizer, compositionTokenizers, evaluateTable, TABLE_ROWS, type Column, type Tokenizers } from '../pipeline/evaluate';
import { notify, requireInteger } from './jobs';
import type { LoadedModel, ModelRegistry } from './registry';
import { FrozenWork, trainJob, type Current } from './train-job';
import type {
  AttentionMap,
  BundleFiles,
  CompositionInfo,
  CompositionSettings,
  EvaluationTable,
  GenerateSettings,
  TokenEvent,
  TrainEvent,
  TrainSettings,
  TrainSummary,
} from './protocol';

/** Sizes CompositionInfo's memory figures are given for. */
const ESTIMATE = { batch: 64, T: 16 };

/**
 * The page's settings as the core composes them: the spec's settings as they are (composeModels
 * fills what they leave out from SPEC_DEFAULTS and checks them, as for the CLI), and the seed.
 */
function composeSettings(s: CompositionSettings): ComposeSettings {
  if (s === null || typeof s !== 'object') throw new Error('the composition settings must be an object');
  const { anchor: _a, augment: _g, seed, ...spec } = s;
  return { ...spec, seed: requireInteger('the seed', seed, 0) };
}

export class CompositionSession {
  private current: Current | null = null;
  /** Bridges switched off at inference; kept apart from comp.disabled, which training clears. */
  private disabled: number[] = [];
  private keyTable: KeyTable | null = null;
  private readonly frozen = new FrozenWork();

  constructor(private readonly registry: ModelRegistry) {}

  /** The ids of the two models the composition holds (none without one). */
  modelsInUse(): string[] {
    return this.current ? [this.current.anchor.entry.id, this.current.augment.entry.id] : [];
  }

  /** Drops the composition and the kept frozen work. */
  clear(): void {
    this.frozen.drop();
    if (this.current) disposeBridges(this.current.comp.bridges);
    this.current = null;
    this.disabled = [];
  }

  async compose(settings: CompositionSettings): Promise<CompositionInfo> {
    const [anchor, augment] = await this.registry.pair(settings.anchor, settings.augment);
    const comp = composeModels(
      { name: anchor.entry.id, model: anchor.model, tokenizer: anchor.tokenizer },
      { name: augment.entry.id, model: augment.model, tokenizer: augment.tokenizer },
      composeSettings(settings),
      // the page composes any two models: different tokenizers align by characters
      { align: true },
    );
    this.replace({ settings: { ...settings, ...comp.spec }, comp, anchor, augment });
    return this.info();
  }

  async train(settings: TrainSettings, onEvent: (e: TrainEvent) => void, signal: AbortSignal): Promise<TrainSummary> {
    const cur = this.require();
    try {
      return await trainJob(cur, settings, onEvent, this.frozen, signal);
    } finally {
      this.applyDisabled();
    }
  }

  async evaluate(opts: { n: number; seed: number }, onProgress: ((done: number, total: number) => void) | undefined, signal: AbortSignal): Promise<EvaluationTable> {
    const cur = this.require();
    const n = requireInteger('n', opts.n, 1, 100_000);
    const seed = requireInteger('the seed', opts.seed, 0);
    const table = (this.keyTable ??= makeKeyTable(KV_SPEC));
    const total = TABLE_ROWS.length * 3 * n; // three columns
    let done = 0;
    const progress = () => notify(onProgress ? (d: number) => onProgress(d, total) : undefined, done);
    progress();
    const r = await evaluateTable(cur.comp, this.tokenizers(cur), table, n, seed, {
      signal,
      onBatch: (size) => {
        done += size;
        progress();
      },
    });
    return { ...r, n };
  }

  async generate(settings: GenerateSettings, onToken: (t: TokenEvent) => void, signal: AbortSignal): Promise<{ text: string }> {
    const cur = this.require();
    const column = settings.column as Column;
    if (column !== 'anchor' && column !== 'augment' && column !== 'composed') {
      throw new Error(`column must be anchor, augment or composed, found ${JSON.stringify(column)}`);
    }
    const maxTokens = requireInteger('maxTokens', settings.maxTokens, 0);
    const temperature = settings.temperature ?? 0;
    if (!(typeof temperature === 'number' && temperature >= 0 && Number.isFinite(temperature))) {
      throw new Error(`the temperature must be a number ≥ 0, found ${JSON.stringify(settings.temperature)}`);
    }
    const tokenizers = this.tokenizers(cur);
    const tokenizer = columnTokenizer(tokenizers, column);
    const prompt = tokenizer.encode(settings.prompt ?? '');
    if (prompt.length === 0) throw new Error('the prompt is empty: the models need at least one token to continue');
    const maxLength = columnContext(cur.comp, column);
    if (prompt.length > maxLength) {
      throw new Error(`the prompt is ${prompt.length} tokens but the ${column === 'composed' ? "models'" : "model's"} context is ${maxLength}`);
    }
    const decoder = columnDecoder(cur.comp, column, tokenizers)(1);
    try {
      const out = await generate(decoder, prompt, {
        maxTokens,
        temperature,
        eosId: tokenizer.eosId,
        maxLength,
        decode: (ids) => tokenizer.decode(ids),
        onToken: ({ text, prob }) => notify(onToken, { text, prob }),
        signal,
      });
      return { text: out.text };
    } finally {
      decoder.dispose();
    }
  }

  async attention(opts: { prompt: string; connection: number }): Promise<AttentionMap> {
    const cur = this.require();
    const i = requireInteger('the connection index', opts.connection, 0, cur.comp.spec.connections.length - 1);
    if (cur.comp.alignment) throw new Error('the attention map is drawn only for two models of one tokenizer; these two align by characters');
    const tokenizer = cur.anchor.tokenizer;
    const ids = tokenizer.encode(opts.prompt ?? '');
    if (ids.length === 0) throw new Error('the prompt is empty');
    const context = columnContext(cur.comp, 'composed');
    if (ids.length > context) throw new Error(`the prompt is ${ids.length} tokens but the models' context is ${context}`);
    const w = tf.tidy(() => cur.comp.attentionWeights(tf.tensor2d([ids], [1, ids.length], 'int32'), i, crossAttentionWeights)); // [h, T, S]
    let weights: number[][][];
    try {
      weights = (await w.array()) as number[][][];
    } finally {
      w.dispose();
    }
    return { tokens: ids.map((id) => tokenizer.idToToken(id) ?? ''), heads: cur.comp.spec.numHeads, weights };
  }

  /** Sets the ablation switches; they apply at once unless training runs (then after it). */
  setDisabled(connections: number[], training: boolean): void {
    const cur = this.require();
    const n = cur.comp.spec.connections.length;
    if (!Array.isArray(connections)) throw new Error('setDisabled needs a list of connection indices');
    for (const i of connections) requireInteger('a connection index', i, 0, n - 1);
    this.disabled = [...new Set(connections)].sort((a, b) => a - b);
    if (!training) this.applyDisabled();
  }

  /** The tokenizers the composition reads with (both across tokenizers). */
  private tokenizers(cur: Current): Tokenizers {
    return compositionTokenizers(cur.comp, cur.anchor.tokenizer, cur.augment.tokenizer);
  }

  async exportBundle(): Promise<BundleFiles> {
    const cur = this.require();
    // A snapshot taken synchronously, so it is one step's bridges even while training goes on
    // between the awaits of the export (a checkpoint).
    const snapshot = cur.comp.bridges.map(
      (b) => Object.fromEntries(Object.entries(b).filter(([, v]) => v).map(([k, v]) => [k, tf.clone(v as tf.Tensor)])) as unknown as BridgeWeights,
    );
    try {
      const ref = (m: LoadedModel): ModelRef => ({ id: m.entry.id, n_layer: m.model.config.nLayer, n_embd: m.model.config.nEmbd, vocab_size: m.model.config.vocabSize });
      const meta = {
        anchor: ref(cur.anchor),
        augment: ref(cur.augment),
        training: { ...cur.training, init_seed: cur.settings.seed },
        metrics: cur.metrics,
      };
      const files = await exportBundle(cur.comp.spec, snapshot, await withAlignment(cur.comp.alignment, { anchor: cur.anchor.tokenizer, augment: cur.augment.tokenizer }, meta));
      const bytes = files['bridge.safetensors'];
      const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer;
      return { composition: files['composition.json'], bridge: (whole ? bytes.buffer : bytes.slice().buffer) as ArrayBuffer };
    } finally {
      for (const b of snapshot) for (const t of Object.values(b) as tf.Tensor[]) t.dispose();
    }
  }

  async importBundle(files: BundleFiles): Promise<CompositionSettings> {
    if (typeof files?.composition !== 'string' || !(files.bridge instanceof ArrayBuffer)) {
      throw new Error('a composition bundle needs composition.json (text) and bridge.safetensors (bytes)');
    }
    const manifest = readBundleManifest(files.composition);
    const index = this.registry.requireIndex();
    const name = (r: ModelRef) => r.id ?? r.name ?? r.path ?? '?';
    const missing = [manifest.anchor, manifest.augment].filter((r) => !r.id || !index.models.some((m) => m.id === r.id));
    if (missing.length > 0) {
      const list = [...new Set(missing.map(name))];
      throw new Error(
        `this composition needs the models ${name(manifest.anchor)} (anchor) and ${name(manifest.augment)} (augmenting); ` +
          `${list.join(' and ')} ${list.length > 1 ? 'are' : 'is'} not among the loaded models: load ${list.length > 1 ? 'them' : 'it'} first`,
      );
    }
    const [anchor, augment] = await this.registry.pair(manifest.anchor.id!, manifest.augment.id!);
    const { comp } = await compositionFromBundle({ composition: files.composition, bridge: new Uint8Array(files.bridge) }, anchor, augment);
    const training = manifest.training;
    const seed = [training.init_seed, training.seed].find((s): s is number => Number.isInteger(s) && (s as number) >= 0) ?? 0;
    // the bundle's spec, every option explicit, so that composing these settings again builds the same bridges
    const settings: CompositionSettings = { anchor: anchor.entry.id, augment: augment.entry.id, ...comp.spec, seed };
    this.replace({
      settings,
      comp,
      anchor,
      augment,
      training,
      metrics: manifest.metrics,
    });
    return { ...settings, connections: settings.connections.map(([a, g]): [number, number] => [a, g]) };
  }

  info(): CompositionInfo {
    const cur = this.require();
    const e = compositionEstimate(cur.comp.spec, cur.anchor.model.config, cur.augment.model.config, ESTIMATE);
    return {
      trainableParameters: e.trainableParameters,
      bridgeBytes: e.bridgeBytes,
      frozenBytes: e.frozenBytes,
      adamStateBytes: e.adamStateBytes,
      activationBytesPerStep: e.activationBytesPerStep,
      cacheBytesPerExample: e.cacheBytesPerExample,
      ...(cur.comp.alignment ? { alignment: cur.comp.alignment } : {}),
    };
  }

  private require(): Current {
    if (!this.current) throw new Error('there is no composition yet: compose two models first');
    return this.current;
  }

  private replace(next: Current): void {
    if (this.current) disposeBridges(this.current.comp.bridges);
    this.current = next;
    this.disabled = [];
    // The frozen work of other models is of no use any more.
    this.frozen.keepOnlyFor(next.anchor.model, next.augment.model);
  }

  private applyDisabled(): void {
    const comp = this.current?.comp;
    if (!comp) return;
    comp.disabled.clear();
    for (const i of this.disabled) comp.disabled.add(i);
  }
}

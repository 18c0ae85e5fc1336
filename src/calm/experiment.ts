// Composing two loaded models: the settings as the CLI, the worker and the scripts give
// them, checked, into a Composition with fresh bridges. The rest of the experiment (training,
// Table 1, the whole `repro kv`) lives in src/pipeline.
import type { CausalLM, ModelConfig } from '../model/causal-lm';
import { Tokenizer, compareVocabularies } from '../tokenizer';
import { KV_RECIPE, compositionExamples, type KVRecipe } from '../tasks/recipe';
import { Composition } from './compose';
import { initBridges } from './bridge';
import { parseConnections, validateHeads } from './connections';
import { CompositionError } from './errors';
import type { CompositionSpec, InputNorm, OutputVariant } from './types';
export { KV_RECIPE, compositionExamples, type KVRecipe };

/** A model ready to compose: its config, forward pass and tokenizer. */
export interface ModelHandle {
  name: string; // built-in id or folder, as the user named it
  model: CausalLM;
  tokenizer: Tokenizer;
}

export interface ComposeSettings {
  connections: string; // `uniform:N`, `every:K` or `0:1,3:3`
  numHeads?: number; // default: the anchor's heads
  output: OutputVariant;
  seed: number;
  positionBias?: number; // R relative-position buckets per bridge (0: none)
  positionInit?: number; // the initial bias at offset 0 (default 5)
  inputNorm?: InputNorm; // 'whiten': frozen whitening of the augmenting states, measured before training
  queryNorm?: boolean; // queries (and the value gate) read the RMS-normalised anchor state
  valueGate?: boolean; // a per-head sigmoid gate on each head's attention output
}

/** Checks that two models can be composed and builds fresh bridges. */
export function composeModels(anchor: ModelHandle, augment: ModelHandle, s: ComposeSettings): Composition {
  const cmp = compareVocabularies(anchor.tokenizer, augment.tokenizer);
  if (!cmp.same) {
    throw new CompositionError('model-mismatch', `cannot compose ${anchor.name} with ${augment.name}: ${cmp.message}`);
  }
  const a: ModelConfig = anchor.model.config;
  const g: ModelConfig = augment.model.config;
  const connections = parseConnections(s.connections, a.nLayer, g.nLayer);
  const numHeads = s.numHeads ?? a.nHead;
  validateHeads(numHeads, a.nEmbd);
  const R = s.positionBias ?? 0;
  if (!Number.isInteger(R) || R < 0 || R > 4096) throw new CompositionError('bad-preset', `the position bias needs 0–4096 buckets, got ${R}`);
  if (s.inputNorm !== undefined && s.inputNorm !== 'none' && s.inputNorm !== 'whiten') {
    throw new CompositionError('bad-preset', `inputNorm must be "none" or "whiten", got ${JSON.stringify(s.inputNorm)}`);
  }
  const spec: CompositionSpec = {
    connections,
    numHeads,
    output: s.output,
    ...(R > 0 ? { positionBias: R } : {}),
    ...(s.inputNorm === 'whiten' ? { inputNorm: 'whiten' as const } : {}),
    ...(s.queryNorm ? { queryNorm: true } : {}),
    ...(s.valueGate ? { valueGate: true } : {}),
  };
  const bridges = initBridges(spec, a.nEmbd, g.nEmbd, s.seed, s.positionInit);
  return new Composition(anchor.model, augment.model, spec, bridges);
}

// Composing two loaded models: the settings as the CLI, the worker and the scripts give them
// (docs/design.md § Spec), checked, into a Composition with fresh bridges. The rest of the
// experiment (training, Table 1, the whole `repro kv`) lives in src/pipeline.
import type { CausalLM } from '../model/causal-lm';
import { Tokenizer, compareVocabularies } from '../tokenizer';
import { Composition } from './compose';
import { ALIGNMENT_RULE, type AlignmentRule } from './align';
import { initBridges } from './bridge';
import { CompositionError } from './errors';
import { resolveSpec, specOnly, type SpecSettings } from './spec';

/** A model ready to compose: its config, forward pass and tokenizer. */
export interface ModelHandle {
  name: string; // built-in id or folder, as the user named it
  model: CausalLM;
  tokenizer: Tokenizer;
}

/** The spec's settings (SPEC_DEFAULTS fills what they leave out) and the seed of the fresh bridges. */
export type ComposeSettings = SpecSettings & { seed: number };

/**
 * Checks that two models can be composed and builds fresh bridges. Models whose tokenizers
 * differ compose only with `align` (docs/design.md § Across tokenizers): each then reads its
 * own tokenization of the text, which needs token ends from both tokenizers.
 */
export function composeModels(anchor: ModelHandle, augment: ModelHandle, s: ComposeSettings, opts: { align?: boolean } = {}): Composition {
  const cmp = compareVocabularies(anchor.tokenizer, augment.tokenizer);
  if (cmp.same) return freshComposition(anchor.model, augment.model, s);
  if (!opts.align) {
    throw new CompositionError('model-mismatch', `cannot compose ${anchor.name} with ${augment.name}: ${cmp.message}`);
  }
  for (const [side, m] of [['anchor', anchor], ['augmenting model', augment]] as const) {
    if (!m.tokenizer.hasEnds) {
      throw new CompositionError(
        'model-mismatch',
        `cannot align ${anchor.name} with ${augment.name} by characters: the ${side}'s tokenizer (${m.name}) is neither a byte-level BPE nor the character tokenizer, so where its tokens end in the text is not known`,
      );
    }
  }
  return freshComposition(anchor.model, augment.model, s, ALIGNMENT_RULE);
}

/**
 * Two models (no tokenizers: the caller vouches that they share one, e.g. a benchmark on random
 * weights) with fresh bridges: the settings resolved against their sizes (SPEC_DEFAULTS fills
 * what they leave out; connection text such as `-1:f` read against their depths), checked, and
 * the bridges seeded as composeModels seeds them.
 */
export function freshComposition(anchor: CausalLM, augment: CausalLM, s: ComposeSettings, alignment?: AlignmentRule): Composition {
  const a = anchor.config;
  const g = augment.config;
  const resolved = resolveSpec(s, { anchor: a, augment: g });
  const spec = specOnly(resolved);
  const bridges = initBridges(spec, a.nEmbd, g.nEmbd, s.seed, resolved.positionInit);
  return new Composition(anchor, augment, spec, bridges, alignment);
}

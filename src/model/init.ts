// Fresh weights from a tensor table (docs/design.md § Models): every tensor filled by its row's
// init rule, in table order, each normal draw seeded by the next seed — so a seed gives the
// same weights on every run and backend.
import { tf, tfSeed } from './tf';
import type { Architecture, CausalLM, ModelConfig } from './causal-lm';
import { tableEntries, type TensorTable } from './tensor-table';

export interface InitOptions {
  /** Make every tensor a trainable variable. */
  variables?: boolean;
  /** Also make the table's optional tensors (e.g. GPT-2's own LM head instead of the tied wte). */
  optional?: boolean;
}

/** The tensors of a fresh model under their checkpoint names; seeds seed, seed+1, … in table order. */
export function initTensors<C>(table: TensorTable<C>, config: C, seed: number, opts: InitOptions = {}): Map<string, tf.Tensor> {
  let s = seed;
  const out = new Map<string, tf.Tensor>();
  for (const e of tableEntries(table, config)) {
    if (e.optional && !opts.optional) continue;
    const r = e.init;
    const t =
      r.kind === 'normal' ? tf.randomNormal(e.shape, 0, r.std, 'float32', tfSeed(s++)) : r.kind === 'ones' ? tf.ones(e.shape) : tf.zeros(e.shape);
    if (opts.variables) {
      out.set(e.name, tf.variable(t)); // a copy: free the initial tensor
      t.dispose();
    } else {
      out.set(e.name, t);
    }
  }
  return out;
}

/** A fresh model of an architecture: initTensors of its table, handed to the architecture. */
export function initModel<C extends ModelConfig>(arch: Architecture<C>, config: C, seed: number, opts: InitOptions = {}): CausalLM {
  return arch.create(config, initTensors(arch.tensors, config, seed, opts));
}

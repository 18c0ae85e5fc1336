import { tf, tfSeed } from './tf';
import type { GPTConfig } from './config';
import type { GPTWeights } from './weights';

/**
 * GPT-2's initialisation: normal(0, 0.02) for weights, zero biases, LayerNorm scale 1, and
 * the residual projections (attn.c_proj, mlp.c_proj) scaled by 1/√(2N) so the stream's
 * variance does not grow with depth. `variables` makes every tensor trainable. `untiedHead`
 * gives the LM head its own matrix (lm_head.weight) instead of reusing wte.
 */
export function initWeights(c: GPTConfig, seed: number, variables = false, opts: { untiedHead?: boolean } = {}): GPTWeights {
  let s = seed;
  const normal = (shape: number[], std: number) => tf.randomNormal(shape, 0, std, 'float32', tfSeed(s++));
  const v = <T extends tf.Tensor>(t: T): T => {
    if (!variables) return t;
    const out = tf.variable(t) as unknown as T; // a copy: free the initial tensor
    t.dispose();
    return out;
  };
  const D = c.nEmbd;
  const projStd = 0.02 / Math.sqrt(2 * c.nLayer);
  const ln = () => ({ gamma: v(tf.ones([D]) as tf.Tensor1D), beta: v(tf.zeros([D]) as tf.Tensor1D) });
  return {
    wte: v(normal([c.vocabSize, D], 0.02) as tf.Tensor2D),
    wpe: v(normal([c.nPositions, D], 0.01) as tf.Tensor2D),
    blocks: Array.from({ length: c.nLayer }, () => ({
      ln1: ln(),
      attn: {
        cAttnW: v(normal([D, 3 * D], 0.02) as tf.Tensor2D),
        cAttnB: v(tf.zeros([3 * D]) as tf.Tensor1D),
        cProjW: v(normal([D, D], projStd) as tf.Tensor2D),
        cProjB: v(tf.zeros([D]) as tf.Tensor1D),
      },
      ln2: ln(),
      mlp: {
        cFcW: v(normal([D, 4 * D], 0.02) as tf.Tensor2D),
        cFcB: v(tf.zeros([4 * D]) as tf.Tensor1D),
        cProjW: v(normal([4 * D, D], projStd) as tf.Tensor2D),
        cProjB: v(tf.zeros([D]) as tf.Tensor1D),
      },
    })),
    lnF: ln(),
    ...(opts.untiedHead ? { lmHead: v(normal([c.vocabSize, D], 0.02) as tf.Tensor2D) } : {}),
  };
}

/** Every tensor of the weights, in a fixed order (for optimizers, disposal, counting). */
export function weightList(w: GPTWeights): tf.Tensor[] {
  const out: tf.Tensor[] = [w.wte, w.wpe];
  for (const b of w.blocks) {
    out.push(b.ln1.gamma, b.ln1.beta, b.attn.cAttnW, b.attn.cAttnB, b.attn.cProjW, b.attn.cProjB);
    out.push(b.ln2.gamma, b.ln2.beta, b.mlp.cFcW, b.mlp.cFcB, b.mlp.cProjW, b.mlp.cProjB);
  }
  out.push(w.lnF.gamma, w.lnF.beta);
  if (w.lmHead) out.push(w.lmHead);
  return out;
}

export function countParameters(w: GPTWeights): number {
  return weightList(w).reduce((n, t) => n + t.size, 0);
}

import { tf, toVariable } from '../model/tf';

export interface AdamWOptions {
  beta1?: number; // 0.9
  beta2?: number; // 0.95, as nanoGPT
  eps?: number; // 1e-8
  weightDecay?: number; // decoupled; applied to matrices only (rank ≥ 2), as GPT-2 training does
}

/** AdamW over a fixed list of variables; the learning rate is given per step (schedules). */
export class AdamW {
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];
  private t = 0;
  private readonly o: Required<AdamWOptions>;

  constructor(
    readonly params: tf.Variable[],
    opts: AdamWOptions = {},
  ) {
    this.o = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0, ...opts };
    this.m = params.map((p) => toVariable(tf.zerosLike(p), false));
    this.v = params.map((p) => toVariable(tf.zerosLike(p), false));
  }

  get stepCount(): number {
    return this.t;
  }

  /** Applies one update with gradients in the order of `params`. */
  apply(grads: tf.Tensor[], lr: number): void {
    this.t += 1;
    const { beta1, beta2, eps, weightDecay } = this.o;
    const c1 = 1 - beta1 ** this.t;
    const c2 = 1 - beta2 ** this.t;
    tf.tidy(() => {
      this.params.forEach((p, i) => {
        const g = grads[i];
        const m = tf.add(tf.mul(this.m[i], beta1), tf.mul(g, 1 - beta1));
        const v = tf.add(tf.mul(this.v[i], beta2), tf.mul(tf.square(g), 1 - beta2));
        this.m[i].assign(m);
        this.v[i].assign(v);
        let update = tf.div(tf.div(m, c1), tf.add(tf.sqrt(tf.div(v, c2)), eps));
        if (weightDecay > 0 && p.rank >= 2) update = tf.add(update, tf.mul(p, weightDecay));
        p.assign(tf.sub(p, tf.mul(update, lr)));
      });
    });
  }

  dispose(): void {
    this.m.forEach((t) => t.dispose());
    this.v.forEach((t) => t.dispose());
  }
}

/**
 * Scales gradients so their global L2 norm is at most maxNorm. Returns new tensors and the
 * norm before clipping (one readback per step, which the loss readback needs anyway).
 */
export function clipByGlobalNorm(grads: tf.Tensor[], maxNorm: number): { grads: tf.Tensor[]; norm: tf.Scalar } {
  return tf.tidy(() => {
    const norm = tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g))))) as tf.Scalar;
    const scale = tf.minimum(1, tf.div(maxNorm, tf.add(norm, 1e-6)));
    return { grads: grads.map((g) => tf.mul(g, scale)), norm };
  });
}

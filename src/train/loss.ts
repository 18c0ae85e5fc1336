import { tf } from '../model/tf';

/**
 * Mean next-token cross-entropy over the positions where mask = 1 (the completion).
 * logits [B, T, V], targets [B, T] int32, mask [B, T] → scalar. One-hot targets instead of a
 * gather keep the gradient available on every backend.
 */
export function maskedCrossEntropy(logits: tf.Tensor3D, targets: tf.Tensor2D, mask: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const V = logits.shape[2];
    const logp = tf.logSoftmax(logits); // [B, T, V]
    const nll = tf.neg(tf.sum(tf.mul(logp, tf.oneHot(targets, V)), -1)); // [B, T]
    return tf.div(tf.sum(tf.mul(nll, mask)), tf.maximum(tf.sum(mask), 1)) as tf.Scalar;
  });
}

// Rotary position embeddings as Llama and GPT-NeoX use them (docs/design.md § Models): the
// frequencies (with `rope_scaling` linear or llama3), the cos/sin tables of a run of positions,
// and the rotation in Hugging Face's rotate_half convention (dims j and j + d/2 form a pair).
// Legend: B batch, H heads, T new positions, hd head size, d rotary dims (≤ hd, even).
import { tf } from './tf';

/** `rope_scaling` of config.json, as far as it is implemented. */
export type RopeScaling =
  | { type: 'linear'; factor: number }
  | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositionEmbeddings: number };

/**
 * The rotary frequencies inv_freq[j] = base^(−2j/d), j = 0 .. d/2−1 (float64), scaled:
 * `linear` divides them by the factor; `llama3` keeps the short wavelengths
 * (λ < n / high), divides the long ones (λ > n / low) by the factor and blends in between.
 */
export function ropeInvFreq(dim: number, base: number, scaling?: RopeScaling | null): Float64Array {
  const half = dim / 2;
  const f = new Float64Array(half);
  for (let j = 0; j < half; j++) f[j] = 1 / base ** ((2 * j) / dim);
  if (!scaling) return f;
  if (scaling.type === 'linear') return f.map((x) => x / scaling.factor);
  const { factor, lowFreqFactor: low, highFreqFactor: high, originalMaxPositionEmbeddings: n } = scaling;
  return f.map((x) => {
    const wavelength = (2 * Math.PI) / x;
    if (wavelength < n / high) return x;
    if (wavelength > n / low) return x / factor;
    const s = (n / wavelength - low) / (high - low);
    return x * ((1 - s) / factor + s);
  });
}

/** cos and sin of positions past .. past+T−1 times inv_freq, each half repeated ([θ, θ]): [T, d] each. */
export function rotaryTables(invFreq: Float64Array, past: number, T: number): { cos: tf.Tensor2D; sin: tf.Tensor2D } {
  const half = invFreq.length;
  const d = 2 * half;
  const cos = new Float32Array(T * d);
  const sin = new Float32Array(T * d);
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < half; j++) {
      const angle = (past + t) * invFreq[j];
      cos[t * d + j] = cos[t * d + j + half] = Math.cos(angle);
      sin[t * d + j] = sin[t * d + j + half] = Math.sin(angle);
    }
  }
  return { cos: tf.tensor2d(cos, [T, d]), sin: tf.tensor2d(sin, [T, d]) };
}

/**
 * x·cos + rotate_half(x)·sin on the first d dims of every head (d = the tables' width), the
 * rest passed through: [B, H, T, hd] → [B, H, T, hd].
 */
export function applyRotary(x: tf.Tensor4D, cos: tf.Tensor2D, sin: tf.Tensor2D): tf.Tensor4D {
  return tf.tidy(() => {
    const hd = x.shape[3];
    const d = cos.shape[1];
    const rot = d === hd ? x : tf.slice(x, [0, 0, 0, 0], [-1, -1, -1, d]); // [B, H, T, d]
    const [x1, x2] = tf.split(rot, 2, 3); // [B, H, T, d/2] each
    const rotated = tf.concat([tf.neg(x2), x1], 3); // rotate_half
    const out = tf.add(tf.mul(rot, cos), tf.mul(rotated, sin)) as tf.Tensor4D;
    return d === hd ? out : (tf.concat([out, tf.slice(x, [0, 0, 0, d], [-1, -1, -1, hd - d])], 3) as tf.Tensor4D);
  });
}

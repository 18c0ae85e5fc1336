// Causal multi-head cross-attention, the core of a CALM bridge. This plain-tfjs version is
// the reference: what runs on wasm/cpu, and the oracle for the fused WebGPU kernel.
// Legend: B batch, h heads, T anchor (query) positions, S augmenting (key) positions, hd head
// width, R relative-position buckets.
//
// Reference maths (crossAttentionReference, positionScoreBias):
//   scores = q·kᵀ/√hd + mask (+ bias) (+ positionScoreBias(positionBias, T, S, past)),
//   out = softmax(scores)·v; mask: -1e9 for keys after the query's position, (1 − keyMask)·-1e9.
// With a character alignment (`keyLimit`, docs/design.md § Across tokenizers) query i sees keys
// j < keyLimit[i] instead (and a tail of keys, `keyTail`), the bias counts back over the keys it
// reads from the last, and a query that sees no key gives 0. Both rules are one: the causal one
// is keyLimit[i] = past + i + 1.
//
// `crossAttention` is what the model calls: on the WebGPU backend, for inputs the fused WGSL
// kernel takes (cross-attention-rowwise-webgpu.ts; the relative-position bias included), the
// fused kernel with its WGSL backward (dQ, dK, dV, dPositionBias); everywhere else the reference.
import { tf } from '../model/tf';
import { matmul } from '../model/ops';
import { activeWebGPUBackend, runProgram, type ProgramUniform } from './webgpu-program';
import { SWITCHED_OFF, kernelsEnabled, recordCall } from './usage';
import {
  CrossAttentionBiasGradProgram,
  CrossAttentionRowwiseBackwardKeyValueProgram,
  CrossAttentionRowwiseBackwardQueryProgram,
  CrossAttentionRowwiseForwardProgram,
  MAX_HEAD_WIDTH,
  type RowwiseConfig,
} from './cross-attention-rowwise-webgpu';

export interface CrossAttentionOptions {
  /** Position of the first query: query i sits at position past + i and sees keys j ≤ past + i. */
  past?: number;
  /** [B, S], 1 for real tokens and 0 for padding: padded keys are never read. */
  keyMask?: tf.Tensor2D;
  /** Added to the scores after the mask: any [1|B, h, T, S] (not fused: see positionBias). */
  bias?: tf.Tensor4D;
  /**
   * A bridge's relative-position bias [h, R] (BridgeWeights.posBias): adds
   * positionScoreBias(positionBias, T, S, past) to the scores. The fused kernel takes it (and
   * gives its gradient) without building the [1, h, T, S] bias.
   */
  positionBias?: tf.Tensor;
  /**
   * A character alignment (docs/design.md § Across tokenizers), [B|1][T] plain integers: query i
   * of row b sees keys j < keyLimit[b][i] (replacing `past`'s causal rule; keyMask still applies),
   * and the position bias reads offset keyLimit[b][i] − 1 − j. A query with limit 0 sees nothing
   * and gives 0. Not fused.
   */
  keyLimit?: readonly (readonly number[])[];
  /**
   * With keyLimit, [B|1][T]: query i of row b also reads keys [start, start + length) — the tail
   * of its own prefix's augmenting tokenization, placed after the whole text's keys. The position
   * bias then counts back over the keys it reads: the tail's last is offset 0, keys j < keyLimit
   * follow it (docs/design.md § Across tokenizers). Not fused.
   */
  keyTail?: readonly (readonly { start: number; length: number }[])[];
}

/** A query's reads: keys j < limit, then `length` tail keys from `start` (docs/design.md § Across tokenizers). */
interface QueryReads {
  limit: number;
  start: number;
  length: number;
}

/**
 * The reads [B'][T] of the inputs: opts.keyLimit (and keyTail) with equal rows collapsed to one
 * (so the mask and bias are [1, …] as for the causal rule), or past + i + 1 for every query i.
 */
function readRows(T: number, S: number, opts: CrossAttentionOptions): QueryReads[][] {
  const past = opts.past ?? 0;
  const rows = opts.keyLimit;
  const tails = opts.keyTail;
  if (!rows) {
    if (tails) throw new RangeError('keyTail needs a keyLimit');
    return [Array.from({ length: T }, (_, i) => ({ limit: past + i + 1, start: 0, length: 0 }))];
  }
  if (rows.length < 1) throw new RangeError('keyLimit has no rows');
  if (tails && tails.length !== rows.length) throw new RangeError(`keyTail has ${tails.length} rows for ${rows.length} keyLimit rows`);
  const out = rows.map((row, b) => {
    if (row.length !== T) throw new RangeError(`keyLimit rows have ${row.length} entries for ${T} queries`);
    const tail = tails?.[b];
    if (tail && tail.length !== T) throw new RangeError(`keyTail rows have ${tail.length} entries for ${T} queries`);
    return row.map((n, i) => {
      if (!Number.isInteger(n) || n < 0 || n > S) throw new RangeError(`keyLimit ${n} is not an integer in [0, ${S}]`);
      const { start, length } = tail?.[i] ?? { start: 0, length: 0 };
      if (!Number.isInteger(start) || !Number.isInteger(length) || length < 0 || (length > 0 && (start < n || start + length > S))) {
        throw new RangeError(`keyTail {start ${start}, length ${length}} is not after keyLimit ${n} and within ${S} keys`);
      }
      return { limit: n, start, length };
    });
  });
  const same = out.every((r) => r.every((q, i) => q.limit === out[0][i].limit && q.start === out[0][i].start && q.length === out[0][i].length));
  return same ? out.slice(0, 1) : out;
}

/**
 * How far key j lies back from the last key query `q` reads, counted in the keys it reads (0:
 * the last), or -1 when it does not read j. The keys it reads are j < limit then its tail.
 */
function readOffset(q: QueryReads, j: number): number {
  const last = q.limit + q.length - 1;
  if (j < q.limit) return last - j;
  if (j >= q.start && j < q.start + q.length) return last - (q.limit + j - q.start);
  return -1;
}

/**
 * The relative-position bias [B', h, T, S] of queries with reads `reads` [B'][T]: query i of row
 * b, key j read bucket readOffset (limit − 1 − j without a tail), clamped to R−1 (offsets beyond
 * the last bucket share it), and R−1 for keys it cannot see (masked anyway). posBias · onehot(bucket)ᵀ.
 */
function readsScoreBias(posBias: tf.Tensor, reads: QueryReads[][], S: number): tf.Tensor4D {
  const [h, R] = posBias.shape;
  const B = reads.length;
  const T = reads[0].length;
  return tf.tidy(() => {
    const N = B * T * S;
    const onehot = new Float32Array(R * N); // [R, B'·T·S]
    for (let b = 0; b < B; b++)
      for (let t = 0; t < T; t++)
        for (let s = 0; s < S; s++) {
          const d = readOffset(reads[b][t], s);
          onehot[(d < 0 ? R - 1 : Math.min(d, R - 1)) * N + (b * T + t) * S + s] = 1;
        }
    const bias = tf.reshape(matmul(posBias, tf.tensor2d(onehot, [R, N])), [h, B, T, S]);
    return (B === 1 ? tf.reshape(bias, [1, h, T, S]) : tf.transpose(bias, [1, 0, 2, 3])) as tf.Tensor4D;
  });
}

/**
 * The relative-position bias of the scores: posBias [h, R] → [1, h, T, S] for T queries at
 * positions past … past+T−1 over S keys. Query i, key j read bucket past + i − j, clamped to
 * R−1 (offsets beyond the last bucket share it), and R−1 for future keys (masked anyway, but a
 * query that sees only padding spreads its weight over them). Built as posBias · onehot(bucket)ᵀ
 * so its gradient exists on every backend. The fused kernel's bucketOf must match it.
 */
export function positionScoreBias(posBias: tf.Tensor, T: number, S: number, past: number): tf.Tensor4D {
  return readsScoreBias(posBias, readRows(T, S, { past }), S);
}

/**
 * Additive mask [B'|B, 1, T, S] from the reads [B'][T] (readRows: the causal rule or a
 * character alignment): key j of query i is masked unless it reads it, plus padding.
 */
function readsMask(reads: QueryReads[][], S: number, keyMask: tf.Tensor2D | undefined): tf.Tensor4D {
  const T = reads[0].length;
  return tf.tidy(() => {
    const m = new Float32Array(reads.length * T * S);
    reads.forEach((row, b) => {
      for (let i = 0; i < T; i++) {
        const q = row[i];
        for (let j = Math.max(0, q.limit); j < S; j++) if (j < q.start || j >= q.start + q.length) m[(b * T + i) * S + j] = -1e9;
      }
    });
    let mask = tf.tensor4d(m, [reads.length, 1, T, S]);
    if (keyMask) {
      const B = keyMask.shape[0];
      const pad = tf.reshape(tf.mul(tf.sub(1, keyMask), -1e9), [B, 1, 1, S]);
      mask = tf.add(mask, pad);
    }
    return mask;
  });
}

/** Additive mask [1|B, 1, T, S] of T queries over S keys: causal (key j ≤ query position), or a character alignment's, plus padding. */
export function crossAttentionMask(T: number, S: number, opts: CrossAttentionOptions = {}): tf.Tensor4D {
  return readsMask(readRows(T, S, opts), S, opts.keyMask);
}

/**
 * The softmax weights [B, h, T, S] of the reference: softmax(q·kᵀ/√hd + mask (+ bias) (+ the
 * position bias)), zero for a query that sees no key (with a character alignment: its softmax
 * would spread over keys it may not see).
 */
function attentionWeights(q: tf.Tensor4D, k: tf.Tensor4D, opts: CrossAttentionOptions): tf.Tensor4D {
  const [, , T, hd] = q.shape;
  const S = k.shape[2];
  const reads = readRows(T, S, opts); // [B'][T]
  return tf.tidy(() => {
    const kT = tf.transpose(k, [0, 1, 3, 2]); // [B, h, hd, S]
    let scores = tf.add(tf.mul(matmul(q, kT), 1 / Math.sqrt(hd)), readsMask(reads, S, opts.keyMask)); // [B, h, T, S]
    if (opts.bias) scores = tf.add(scores, opts.bias);
    if (opts.positionBias) scores = tf.add(scores, readsScoreBias(opts.positionBias, reads, S));
    const w = tf.softmax(scores) as tf.Tensor4D;
    if (reads.every((r) => r.every((n) => n.limit + n.length > 0))) return w;
    const keep = tf.tensor4d(reads.flat().map((n) => (n.limit + n.length > 0 ? 1 : 0)), [reads.length, 1, T, 1]); // [B', 1, T, 1]
    return tf.mul(w, keep) as tf.Tensor4D;
  });
}

/**
 * softmax(q·kᵀ/√hd + mask (+ biases))·v. q [B, h, T, hd], k and v [B, h, S, hd] → [B, h, T, hd].
 * Writes the [B, h, T, S] scores; the fused kernel does not.
 */
export function crossAttentionReference(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, opts: CrossAttentionOptions = {}): tf.Tensor4D {
  return tf.tidy(() => matmul(attentionWeights(q, k, opts), v) as tf.Tensor4D);
}

/** The attention weights themselves [B, h, T, S] (for the heatmap; not used in training). */
export function crossAttentionWeights(q: tf.Tensor4D, k: tf.Tensor4D, opts: CrossAttentionOptions = {}): tf.Tensor4D {
  return attentionWeights(q, k, opts);
}

/**
 * Why the fused kernel cannot compute these inputs (null when it can): it needs the WebGPU
 * backend, float32 q/k/v of equal batch and heads (no broadcasting), a head width up to
 * MAX_HEAD_WIDTH, an integer past ≥ 0, a keyMask of shape [B, S], a positionBias of shape
 * [h, R], no arbitrary additive `bias` (a [1|B, h, T, S] tensor is not fused) and no keyLimit.
 */
export function fusedCrossAttentionUnsupported(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, opts: CrossAttentionOptions = {}): string | null {
  // first: it is the reason on every backend (docs/design.md § Across tokenizers)
  if (opts.keyLimit || opts.keyTail) return 'a character alignment (keyLimit) is not fused';
  if (activeWebGPUBackend() === null) return `backend is ${tf.getBackend()}, not webgpu`;
  if (opts.bias) return 'an arbitrary additive score bias [1|B, h, T, S] is not fused (a relative-position bias is: pass positionBias)';
  if (q.rank !== 4 || k.rank !== 4 || v.rank !== 4) return 'q, k and v must have rank 4';
  if (q.dtype !== 'float32' || k.dtype !== 'float32' || v.dtype !== 'float32') return 'q, k and v must be float32';
  const [B, h, T, hd] = q.shape as [number, number, number, number];
  const S = k.shape[2] as number;
  if (k.shape[0] !== B || k.shape[1] !== h || k.shape[3] !== hd) return `k ${JSON.stringify(k.shape)} does not match q ${JSON.stringify(q.shape)}`;
  if (!v.shape.every((d, i) => d === k.shape[i])) return `v ${JSON.stringify(v.shape)} does not match k ${JSON.stringify(k.shape)}`;
  if (B < 1 || h < 1 || T < 1 || S < 1 || hd < 1) return 'empty tensor';
  if (hd > MAX_HEAD_WIDTH) return `head width ${hd} > ${MAX_HEAD_WIDTH}`;
  const past = opts.past ?? 0;
  if (!Number.isInteger(past) || past < 0) return `past ${past} is not an integer ≥ 0`;
  const m = opts.keyMask;
  if (m && (m.rank !== 2 || m.shape[0] !== B || m.shape[1] !== S)) return `keyMask ${JSON.stringify(m.shape)} is not [${B}, ${S}]`;
  const pb = opts.positionBias;
  if (pb && (pb.rank !== 2 || pb.shape[0] !== h || (pb.shape[1] as number) < 1)) return `positionBias ${JSON.stringify(pb.shape)} is not [${h}, R ≥ 1]`;
  if (pb && pb.dtype !== 'float32') return 'positionBias must be float32';
  const R = pb ? (pb.shape[1] as number) : 0;
  if (B * h * Math.max(T, S) * (2 * hd + 2 + R) + B * S + h * R >= 2 ** 31) return 'too large for i32 indexing';
  return null;
}

/**
 * The fused WebGPU kernel, with a custom gradient whose backward also runs in WGSL: the same
 * answer as crossAttentionReference (to float rounding), without writing the [B, h, T, S] scores
 * (or the [1, h, T, S] position bias). Gradients flow to q, k, v and positionBias; none to
 * keyMask. Throws when fusedCrossAttentionUnsupported says why it cannot.
 */
export function crossAttentionFused(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, opts: CrossAttentionOptions = {}): tf.Tensor4D {
  const why = fusedCrossAttentionUnsupported(q, k, v, opts);
  const backend = activeWebGPUBackend();
  if (why !== null || backend === null) throw new Error(`fused cross-attention: ${why}`);
  const [B, h, T, hd] = q.shape;
  const S = k.shape[2];
  const uniforms: ProgramUniform[] = [
    { type: 'int32', data: [opts.past ?? 0] },
    { type: 'float32', data: [1 / Math.sqrt(hd)] },
  ];
  const pb = opts.positionBias;
  const cfg: RowwiseConfig = { hd, hasMask: opts.keyMask !== undefined, buckets: pb ? (pb.shape[1] as number) : 0 };
  return tf.tidy(() => {
    const mask = cfg.hasMask ? [tf.reshape(tf.cast(opts.keyMask!, 'float32'), [B * S])] : []; // [B·S]
    // aux: keyMask [B·S] then posBias [h·R], one storage buffer (see the kernel file's header)
    const auxOf = (bias: tf.Tensor[]) => {
      const parts = [...mask, ...bias.map((t) => tf.reshape(t, [-1]))];
      return parts.length === 0 ? [] : [parts.length === 1 ? parts[0] : tf.concat(parts)];
    };
    const attend = tf.customGrad(((...args: tf.Tensor[]) => {
      const save = args.pop() as unknown as tf.GradSaveFunc;
      const [qi, ki, vi, ...bias] = args; // bias: [posBias [h, R]] or []
      const aux = auxOf(bias);
      const fwd = runProgram(backend, new CrossAttentionRowwiseForwardProgram(B, h, T, cfg), [qi, ki, vi, ...aux], uniforms); // [B, h, T, hd + 2]
      save([qi, ki, vi, fwd, ...aux]);
      return {
        value: tf.slice(fwd, [0, 0, 0, 0], [B, h, T, hd]),
        gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
          const [sq, sk, sv, sfwd, ...saux] = saved;
          const dqd = runProgram(backend, new CrossAttentionRowwiseBackwardQueryProgram(B, h, T, cfg), [sq, sk, sv, dy, sfwd, ...saux], uniforms); // [B, h, T, hd + 1 + R]
          const dkv = runProgram(backend, new CrossAttentionRowwiseBackwardKeyValueProgram(B, h, S, cfg), [sq, sk, sv, dy, sfwd, dqd, ...saux], uniforms); // [B, h, S, 2 hd]
          const dBias = cfg.buckets > 0 ? [runProgram(backend, new CrossAttentionBiasGradProgram(h, hd, cfg.buckets), [dqd], [])] : []; // [h, R]
          return [tf.slice(dqd, [0, 0, 0, 0], [B, h, T, hd]), tf.slice(dkv, [0, 0, 0, 0], [B, h, S, hd]), tf.slice(dkv, [0, 0, 0, hd], [B, h, S, hd]), ...dBias];
        },
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (...t: tf.Tensor[]) => tf.Tensor4D;
    return pb ? attend(q, k, v, pb) : attend(q, k, v);
  });
}

/**
 * The implementation in use: the fused kernel where it applies (WebGPU) and our kernels are on,
 * else the reference; the call is recorded as either, with the reason (./usage.ts).
 */
export function crossAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, opts: CrossAttentionOptions = {}): tf.Tensor4D {
  const why = kernelsEnabled() ? fusedCrossAttentionUnsupported(q, k, v, opts) : SWITCHED_OFF;
  recordCall('crossAttention', why);
  return why === null ? crossAttentionFused(q, k, v, opts) : crossAttentionReference(q, k, v, opts);
}

/**
 * A model's own causal self-attention through the same fused kernel (its rule is the causal one:
 * query i at past + i sees keys j ≤ past + i): q [B, H, T, hd], k, v [B, H, S, hd] with heads
 * already matched (grouped-query heads repeated by the caller). Recorded as 'causalAttention';
 * null (the model's tfjs ops run) where the kernel does not apply or ours are switched off.
 * Installed as WebGPU's BackendAttention by ./install.ts.
 */
export function causalAttentionFusedOrNull(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, past: number): tf.Tensor4D | null {
  const why = kernelsEnabled() ? fusedCrossAttentionUnsupported(q, k, v, { past }) : SWITCHED_OFF;
  recordCall('causalAttention', why);
  return why === null ? crossAttentionFused(q, k, v, { past }) : null;
}

// The decoding loops over a Decoder (src/model/sampling.ts): batched greedy decoding (exact
// match) and one prompt's generation (the CLI, the worker). Every read is asynchronous
// (`await t.data()`), so they run on every backend, WebGPU included (it has no usable
// synchronous readback). One context rule for both: newTokens.
import { tf } from '../model/tf';
import { sampleToken, type Decoder, type SampleOptions } from '../model/sampling';

const nextTick = () => new Promise<void>((r) => setTimeout(r, 0));

/**
 * How many tokens may follow a prompt of `promptLength` tokens: at most `wanted`, and the
 * sequence (prompt plus new tokens) never exceeds `maxLength`, the model's context
 * (docs/design.md § Pipeline). A 30-token prompt in a 32-token context gets 2 tokens.
 */
export function newTokens(promptLength: number, wanted: number, maxLength?: number): number {
  return Math.max(0, maxLength === undefined ? wanted : Math.min(wanted, maxLength - promptLength));
}

export interface GreedyOptions {
  maxNew: number;
  eosId?: number;
  /** The longest sequence the decoder accepts (the model's context). */
  maxLength?: number;
}

/**
 * Batched greedy decoding of prompts of equal length. Each row stops at eos (not included in
 * its output), after maxNew tokens, or where the context is full. Returns the new ids of each row.
 */
export async function greedyDecode(decoder: Decoder, prompts: number[][], opts: GreedyOptions): Promise<number[][]> {
  const B = prompts.length;
  const out: number[][] = Array.from({ length: B }, () => []);
  const done = new Array<boolean>(B).fill(false);
  const steps = newTokens(prompts[0].length, opts.maxNew, opts.maxLength);
  let next: number[][] = prompts;
  for (let step = 0; step < steps; step++) {
    const logits = decoder.feed(next); // [B, V]
    const argmax = tf.argMax(logits, -1); // [B]
    logits.dispose();
    let ids: Int32Array;
    try {
      ids = (await argmax.data()) as Int32Array;
    } finally {
      argmax.dispose();
    }
    next = [];
    for (let b = 0; b < B; b++) {
      const id = ids[b];
      if (!done[b]) {
        if (id === opts.eosId) done[b] = true;
        else out[b].push(id);
      }
      next.push([id]);
    }
    if (done.every(Boolean)) break;
  }
  return out;
}

export interface GenerateOptions extends SampleOptions {
  maxTokens: number;
  eosId?: number;
  stop?: string;
  maxLength?: number;
  decode: (ids: number[]) => string;
  onToken?: (token: { id: number; text: string; prob: number }) => void;
  /** Ends the generation between two tokens (what has been generated is returned). */
  signal?: AbortSignal;
}

/**
 * One completion of one prompt, token by token (streaming through onToken); yields to the
 * event loop after each token, so a stop arrives in time.
 */
export async function generate(decoder: Decoder, prompt: number[], opts: GenerateOptions): Promise<{ ids: number[]; text: string; probs: number[] }> {
  const ids: number[] = [];
  const probs: number[] = [];
  const steps = newTokens(prompt.length, opts.maxTokens, opts.maxLength);
  let next = prompt;
  for (let i = 0; i < steps && !opts.signal?.aborted; i++) {
    const logits = decoder.feed([next]); // [1, V]
    let row: Float32Array;
    try {
      row = (await logits.data()) as Float32Array;
    } finally {
      logits.dispose();
    }
    const { id, prob } = sampleToken(row, opts);
    if (id === opts.eosId) break;
    ids.push(id);
    probs.push(prob);
    opts.onToken?.({ id, text: opts.decode([id]), prob });
    if (opts.stop && opts.decode(ids).includes(opts.stop)) break;
    next = [id];
    await nextTick();
  }
  let text = opts.decode(ids);
  if (opts.stop && text.includes(opts.stop)) text = text.slice(0, text.indexOf(opts.stop));
  return { ids, text, probs };
}

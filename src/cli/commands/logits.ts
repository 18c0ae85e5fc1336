// `calm logits`: the raw next-token logits of a model for given token ids (no tokenizer
// involved), e.g. to compare with PyTorch (tests/golden/calm_ref.py prints the same shape).
import { tf } from '../../model/tf';
import { requiredString, stringOption, type Command } from '../command';
import { loadBundle } from '../bundle-io';
import { f32, printJson, printText, UsageError } from '../output';
import { resolveModel } from '../resolve';

/** `3,1,4` → [[3,1,4]]; `3,1,4;2,7,1` → two rows of equal length. */
export function parseIds(text: string): { rows: number[][]; batched: boolean } {
  const batched = text.includes(';');
  const rows = text.split(';').map((row, r) =>
    row.split(',').map((s) => {
      const t = s.trim();
      const id = Number(t);
      if (t === '' || !Number.isSafeInteger(id) || id < 0) {
        throw new UsageError(`--ids must be comma-separated token ids (rows separated by ;), got ${JSON.stringify(s)} in row ${r + 1}`);
      }
      return id;
    }),
  );
  if (rows.some((row) => row.length !== rows[0].length)) {
    throw new UsageError(`--ids rows must have the same length, got ${rows.map((row) => row.length).join(', ')}`);
  }
  return { rows, batched };
}

export const command: Command = {
  name: 'logits',
  summary: 'raw next-token logits for token ids, of one model or of a composition',
  options: {
    model: { type: 'string', value: 'ID|DIR', description: 'a built-in model id or a model folder' },
    bundle: { type: 'string', value: 'DIR|ZIP', description: 'a composition bundle (folder, or the .calm.zip the playground exports): the composed logits' },
    ids: { type: 'string', value: '3,1,4[;2,7,1]', description: 'token ids; rows separated by ; give a batch', required: true },
  },
  examples: ['logits --model tests/golden/gpt2-tiny --ids 3,1,4 --json', 'logits --bundle out/kv --ids 3,1,4 --json'],
  async run({ values, json, backend }) {
    const id = stringOption(values, 'model');
    const bundleDir = stringOption(values, 'bundle');
    if ((id === undefined) === (bundleDir === undefined)) throw new UsageError('logits needs exactly one of --model ID|DIR and --bundle DIR');
    const { rows, batched } = parseIds(requiredString(values, 'ids', 'logits'));
    const bundle = bundleDir === undefined ? undefined : await loadBundle(bundleDir, backend, 'optional');
    const m = bundle ? bundle.anchor : await resolveModel(id!, { backend, tokenizer: 'optional' });
    const forward = (x: tf.Tensor2D) => (bundle ? bundle.comp.forward(x) : m.model.forward(x).logits!);
    try {
      const { vocabSize: V, nPositions: P } = m.config;
      const bad = rows.flat().find((t) => t >= V);
      if (bad !== undefined) throw new UsageError(`--ids: token id ${bad} is out of range; ${m.name} has ${V} ids (0–${V - 1})`);
      const T = rows[0].length;
      const context = bundle ? Math.min(P, bundle.augment.config.nPositions) : P;
      if (T > context) throw new UsageError(`--ids: ${T} tokens is longer than the context of ${m.name} (${context})`);
      const logits = tf.tidy(() => forward(tf.tensor2d(rows, [rows.length, T], 'int32')));
      let data: Float32Array;
      try {
        data = (await logits.data()) as Float32Array;
      } finally {
        logits.dispose();
      }
      // [B][T][V] as nested arrays of shortest-exact float32 numbers
      const out = rows.map((_, b) => Array.from({ length: T }, (_, t) => Array.from(data.subarray((b * T + t) * V, (b * T + t + 1) * V), f32)));
      if (json) {
        printJson({ logits: batched ? out : out[0] });
        return;
      }
      const tok = (t: number) => {
        const s = m.tokenizer?.idToToken(t);
        return s === undefined ? String(t) : `${t} ${JSON.stringify(s)}`;
      };
      const lines: string[] = [];
      out.forEach((row, b) => {
        if (batched) lines.push(`row ${b}:`);
        row.forEach((l, t) => {
          const top = l.map((x, i) => [x, i]).sort((a, c) => c[0] - a[0]).slice(0, 5);
          lines.push(`  ${String(t).padStart(3)} [${tok(rows[b][t])}] → ${top.map(([x, i]) => `${tok(i)}: ${x.toFixed(3)}`).join(', ')}`);
        });
      });
      printText(lines.join('\n'));
    } finally {
      if (bundle) bundle.dispose();
      else m.dispose();
    }
  },
};

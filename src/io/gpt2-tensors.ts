// What a GPT-2 checkpoint's tensor names say beyond config.json: whether it carries an LM head
// of its own (`lm_head.weight`, untied from `wte`), which adds V·D parameters. One rule for the
// loader (model-folder.ts), the page's model cards (from the safetensors header alone) and the CLI.
// No tfjs here, so the page may use it.

export const LM_HEAD = 'lm_head.weight';

/** A tensor name without the `transformer.` prefix of GPT2LMHeadModel files. */
export function gpt2TensorName(name: string): string {
  return name.startsWith('transformer.') ? name.slice('transformer.'.length) : name;
}

/** Whether these tensor names include an LM head of the model's own. */
export function hasUntiedHead(names: Iterable<string>): boolean {
  for (const n of names) if (gpt2TensorName(n) === LM_HEAD) return true;
  return false;
}

// What a GPT-2 checkpoint's tensor names say beyond config.json: whether it carries an LM head
// of its own (the optional row of the table in src/model/gpt2/tensors.ts), which adds V·D
// parameters. For the page's model cards (from the safetensors header alone); the loader and
// the CLI count through the table itself (checkpointParameters). No tfjs here, so the page may use it.
import { gpt2CheckpointName, LM_HEAD } from '../model/gpt2/tensors';

/** Whether these tensor names include an LM head of the model's own. */
export function hasUntiedHead(names: Iterable<string>): boolean {
  for (const n of names) if (gpt2CheckpointName(n) === LM_HEAD) return true;
  return false;
}

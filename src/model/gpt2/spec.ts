// GPT-2 without its model (docs/design.md § Models): its config.json and its tensor table. No
// tfjs here: listed in src/model/architectures.ts, which the page reads.
import type { ArchitectureSpec } from '../causal-lm';
import { parseGPT2Config, toHFConfig, type GPT2Config } from './config';
import { GPT2_TENSORS, gpt2CheckpointName, gpt2IsBuffer } from './tensors';

export const gpt2Spec: ArchitectureSpec<GPT2Config> = {
  modelType: 'gpt2',
  label: 'GPT-2',
  tensors: GPT2_TENSORS,
  parseConfig: parseGPT2Config,
  toHFConfig,
  checkpointName: gpt2CheckpointName,
  isBuffer: gpt2IsBuffer,
  transposedHint: 'GPT-2 Conv1D weights are stored [in, out], not nn.Linear [out, in]',
};

// User action: set a training, evaluation or generation setting. None of them touches the
// bridges the worker holds (the seed seeds the fresh bridges of the next Train).
import { getState, setState } from '../app';
import type { Config } from '../config';

export type Hyperparameter = 'steps' | 'lr' | 'batch' | 'seed' | 'heldOut' | 'evalN' | 'maxTokens';

export function setHyperparameter(key: Hyperparameter, value: number): void {
  if (getState().config[key] === value) return;
  setState((s) => ({ config: { ...s.config, [key]: value } as Config }));
}

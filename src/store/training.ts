// Training as it runs: the stage, the progress bar's numbers, and the chart's history.
import type { StateCreator } from 'zustand';
import type { TrainSummary } from '../worker/protocol';

export interface TrainingState {
  status: 'idle' | 'starting' | 'caching' | 'training' | 'evaluating' | 'done' | 'stopped' | 'error';
  step: number;
  steps: number;
  loss?: number;
  stepsPerSecond?: number;
  etaSeconds?: number;
  cacheDone?: number;
  cacheTotal?: number;
  /** The frozen models' work was kept from the last run (same models, layers and examples). */
  cacheReused?: boolean;
  /** [step, loss] for the chart. */
  losses: [number, number][];
  /** [step, held-out exact-match accuracy in 0…1] for the chart. */
  accuracy: [number, number][];
  summary?: TrainSummary;
  error?: string;
  /** What this run trains: the pair and the batch (so a measured step time names what it measured). */
  run?: { anchor: string; augment: string; batch: number };
}

/** Seconds per training step as measured by the last run (the worker's steps per second), if it took a step. */
export function secondsPerStep(t: TrainingState): number | undefined {
  return t.step > 0 && t.stepsPerSecond !== undefined && t.stepsPerSecond > 0 ? 1 / t.stepsPerSecond : undefined;
}

export interface TrainingSlice {
  training: TrainingState;
}

export const IDLE_TRAINING: TrainingState = { status: 'idle', step: 0, steps: 0, losses: [], accuracy: [] };

export const createTrainingSlice: StateCreator<TrainingSlice, [], [], TrainingSlice> = () => ({
  training: IDLE_TRAINING,
});

/** Whether training holds the worker (so nothing else may change the composition). */
export function isTraining(t: TrainingState): boolean {
  return t.status === 'starting' || t.status === 'caching' || t.status === 'training' || t.status === 'evaluating';
}

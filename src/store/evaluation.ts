// The evaluation table in the paper's Table 1 layout: tasks × anchor / augmenting / composition.
import type { StateCreator } from 'zustand';
import type { EvaluationTable } from '../worker/protocol';

export interface EvaluationState {
  status: 'idle' | 'running' | 'done' | 'error';
  done: number;
  total: number;
  result?: EvaluationTable;
  error?: string;
}

export interface EvaluationSlice {
  evaluation: EvaluationState;
}

export const createEvaluationSlice: StateCreator<EvaluationSlice, [], [], EvaluationSlice> = () => ({
  evaluation: { status: 'idle', done: 0, total: 0 },
});

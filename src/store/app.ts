// The one app store, built from one slice per concern. Actions live in actions/, one file
// per user action, as plain module functions (no hook needed).
import { create } from 'zustand';
import { createAttentionSlice, type AttentionSlice } from './attention';
import { createCompareSlice, type CompareSlice } from './compare';
import { createCompositionSlice, type CompositionSlice } from './composition';
import { createConfigSlice, type ConfigSlice } from './config';
import { createEvaluationSlice, type EvaluationSlice } from './evaluation';
import { createExamplesSlice, type ExamplesSlice } from './examples';
import { createFieldsSlice, type FieldsSlice } from './fields';
import { createLibrarySlice, type LibrarySlice } from './library-slice';
import { createModelsSlice, type ModelsSlice } from './models';
import { createSessionSlice, type SessionSlice } from './session';
import { createTrainingSlice, type TrainingSlice } from './training';

export type AppState = ModelsSlice &
  ConfigSlice &
  SessionSlice &
  CompositionSlice &
  ExamplesSlice &
  TrainingSlice &
  CompareSlice &
  EvaluationSlice &
  AttentionSlice &
  LibrarySlice &
  FieldsSlice;

export const useAppStore = create<AppState>()((...a) => ({
  ...createModelsSlice(...a),
  ...createConfigSlice(...a),
  ...createSessionSlice(...a),
  ...createCompositionSlice(...a),
  ...createExamplesSlice(...a),
  ...createTrainingSlice(...a),
  ...createCompareSlice(...a),
  ...createEvaluationSlice(...a),
  ...createAttentionSlice(...a),
  ...createLibrarySlice(...a),
  ...createFieldsSlice(...a),
}));

/** The state as it is now, outside React. */
export const getState = useAppStore.getState;
/** Shallow-merges a partial state, outside React. */
export const setState = useAppStore.setState;

/** The store's state as first built: for tests that need a clean page. */
export const initialState: AppState = useAppStore.getState();

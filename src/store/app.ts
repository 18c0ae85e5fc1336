// The one app store, built from one slice per concern, and the session controller it is
// handed at start-up (controller.ts). Actions live in actions/, one file per user action, as
// plain module functions (no hook needed) that reach the controller through controller().
import { create } from 'zustand';
import type { SessionController } from './controller';
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
  FieldsSlice & {
    /** The page's session controller; null until start-up (main.tsx) or a test installs one. */
    controller: SessionController | null;
  };

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
  controller: null,
}));

/** The state as it is now, outside React. */
export const getState = useAppStore.getState;
/** Shallow-merges a partial state, outside React. */
export const setState = useAppStore.setState;

/** The store's state as first built (no controller): for tests that need a clean page. */
export const initialState: AppState = useAppStore.getState();

/** The session controller the page started with; throws before start-up has installed one. */
export function controller(): SessionController {
  const c = getState().controller;
  if (!c) throw new Error('the page has not started: no session controller is installed');
  return c;
}

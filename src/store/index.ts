// The one app store, built from slices; actions are plain module functions (no hook needed).
import { create } from 'zustand';
import { createModelsSlice, fetchBuiltinModels, type ModelsSlice } from './models';

export type AppState = ModelsSlice;

export const useAppStore = create<AppState>()((...a) => ({
  ...createModelsSlice(...a),
}));

/** Loads models/index.json and each built-in model's config.json into the store. */
export function loadBuiltinModels(): Promise<void> {
  return fetchBuiltinModels(useAppStore);
}

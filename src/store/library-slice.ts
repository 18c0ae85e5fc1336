// Saved work as the page shows it: the list, what is open, and storage errors (actions in library.ts).
import type { StateCreator } from 'zustand';
import type { SavedSummary } from './saved';

export interface LibraryState {
  list: SavedSummary[];
  /** The saved record the worker's bridges belong to. */
  currentId?: string;
  /** What just happened ("Restored …"), for people. */
  notice?: string;
  /** The saved record the notice is about: it goes when other bridges replace that record's. */
  noticeFor?: string;
  /** Saving failed (storage full, ...): what to do. */
  error?: string;
  /** Opening or importing failed. */
  importError?: string;
  /** An interrupted training that can resume from its last checkpoint. */
  resume?: { id: string; name: string; step: number; steps: number };
}

export interface ModelImportState {
  status: 'idle' | 'loading' | 'downloading';
  notice?: string;
  error?: string;
  /** A download by URL or repo id under way: bytes over every file (total when the server told). */
  download?: { source: string; loaded: number; total?: number; file: string; cached: number };
}

export interface LibrarySlice {
  library: LibraryState;
  /** Bringing a model folder (file picker, drop). */
  modelImport: ModelImportState;
}

export const createLibrarySlice: StateCreator<LibrarySlice, [], [], LibrarySlice> = () => ({
  library: { list: [] },
  modelImport: { status: 'idle' },
});


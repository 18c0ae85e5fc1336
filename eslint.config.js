import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

/** Every folder of src/, and what each may import besides itself (no cycle: each lists only folders above it). */
const FOLDERS = ['tasks', 'tokenizer', 'model', 'io', 'kernels', 'calm', 'train', 'pipeline', 'cli', 'worker', 'store', 'ui'];
const LAYERS = {
  tasks: [],
  tokenizer: [],
  model: [],
  io: ['model'],
  kernels: ['model'],
  calm: ['tasks', 'tokenizer', 'model', 'io', 'kernels'],
  train: ['tasks', 'tokenizer', 'model', 'io', 'kernels', 'calm'],
  pipeline: ['tasks', 'tokenizer', 'model', 'io', 'kernels', 'calm', 'train'],
  cli: ['tasks', 'tokenizer', 'model', 'io', 'kernels', 'calm', 'train', 'pipeline'],
  worker: ['tasks', 'tokenizer', 'model', 'io', 'kernels', 'calm', 'train', 'pipeline'],
  store: ['tasks', 'io', 'worker'],
  ui: ['tasks', 'store', 'worker'],
};
/** Folders that import tfjs: the UI thread (store, ui) never loads them. */
const CORE_TF = ['model', 'kernels', 'calm', 'train', 'pipeline'];
const UI_THREAD = ['store', 'ui'];
/**
 * The one file of those folders the UI thread may import: the composition spec, which imports
 * no tfjs (docs/design.md § Spec).
 */
const UI_THREAD_DOORS = ['!**/calm/spec'];
/** Import patterns of the folders `folder` may not import. */
const forbidden = (folder, allowed) => FOLDERS.filter((f) => f !== folder && !allowed.includes(f)).map((f) => `**/${f}/**`);

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'public/**', 'tests/golden/**/*.py'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.browser, ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    // Reads are asynchronous (`await t.data()`): WebGPU has no usable synchronous readback
    // (docs/design.md § Pipeline). A synchronous read needs a disable comment saying why it is
    // safe on every backend.
    files: ['src/**/*.{ts,tsx}'],
    rules: {
      'no-restricted-properties': [
        'error',
        ...['dataSync', 'arraySync', 'bufferSync'].map((property) => ({ property, message: 'read with await t.data() / t.array(): WebGPU has no usable synchronous readback' })),
      ],
    },
  },
  // The layering of src/ (docs/design.md § Layering), one rule per folder: a folder imports
  // only the folders listed for it, so the folder graph has no cycle. The core (every folder
  // but cli, worker, store, ui) runs in Node, a worker and tests alike.
  ...Object.entries(LAYERS).map(([folder, allowed]) => ({
    files: [`src/${folder}/**/*.{ts,tsx}`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...(UI_THREAD.includes(folder) ? ['@tensorflow/*'] : ['react', 'react-dom', 'zustand']),
            ...forbidden(folder, allowed),
            ...(UI_THREAD.includes(folder) ? UI_THREAD_DOORS : []),
          ],
        },
      ],
    },
  })),
  {
    // The UI thread never imports tfjs (docs/design.md § Layering): the page's entry, and the
    // worker's client, which is the worker's part on that thread.
    files: ['src/main.tsx'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['@tensorflow/*', ...CORE_TF.map((f) => `**/${f}/**`)] }],
    },
  },
  {
    files: ['src/worker/client.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['@tensorflow/*', ...forbidden('worker', LAYERS.worker.filter((f) => !CORE_TF.includes(f)))] }],
    },
  },
);

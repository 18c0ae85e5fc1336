import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'public/**', 'research/**', 'tests/golden/**/*.py'] },
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
    // DESIGN §3: the core runs in Node, a worker and tests alike; it never imports UI, store or worker code.
    files: ['src/{model,tokenizer,io,calm,kernels,train,tasks}/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['react', 'react-dom', 'zustand', '**/ui/**', '**/store/**', '**/worker/**'] }],
    },
  },
  {
    // The UI thread never imports tfjs (DESIGN §3).
    files: ['src/{ui,store}/**/*.{ts,tsx}', 'src/main.tsx', 'src/worker/client.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['@tensorflow/*', '**/model/**', '**/calm/**', '**/kernels/**', '**/train/**'] }],
    },
  },
);

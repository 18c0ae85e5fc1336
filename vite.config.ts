import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// WASM threads need cross-origin isolation (docs/design.md § Tests): both servers send COOP/COEP.
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  plugins: [react()],
  server: { headers: isolation },
  preview: { headers: isolation },
  worker: {
    format: 'es',
    // One file for the worker: its bootstrap's dynamic import (src/worker/worker.ts) is inlined
    // rather than split into a second chunk.
    rolldownOptions: { output: { codeSplitting: false } },
  },
  optimizeDeps: {
    // Scanned up front, so the dev server pre-bundles every dependency before the first page
    // asks for it: the scanner reads index.html's imports but not the worker, which is started
    // by URL (src/worker/client.ts). A dependency found late makes Vite reload the page. Every
    // dependency goes through the optimizer, @tensorflow/tfjs-backend-wasm included: its ES build
    // imports a CommonJS file (wasm-out/*.worker.js) that only the optimizer turns into a module.
    entries: ['index.html', 'src/worker/worker.ts'],
  },
});

#!/usr/bin/env node
// `calm` (and `npm run calm -- ...`): runs the TypeScript command line, src/cli/main.ts,
// through tsx, so there is no build step.
import { createRequire } from 'node:module';
import { register } from 'tsx/esm/api';

// Load TensorFlow.js through Node's own CommonJS loader before tsx hooks it: tsx inspects
// every .js file it loads, which makes the multi-MB tfjs bundles cost ~0.15 s more to start.
// src/model/tf.ts then gets these same module instances from the require cache.
const require = createRequire(import.meta.url);
require('@tensorflow/tfjs');
require('@tensorflow/tfjs-backend-wasm');

register();
await import('../src/cli/main.ts');

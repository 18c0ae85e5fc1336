// The worker's entry: the bootstrap alone, so that a module that cannot load is reported to
// the page with its reason (boot.ts); the engine and tfjs come in with worker-api.ts.
import { bootWorker } from './boot';

bootWorker(() => import('./worker-api'));

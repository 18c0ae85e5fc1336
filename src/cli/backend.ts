// The TensorFlow.js backend of a command-line run, initialised once, when first needed (so
// usage errors and malformed files fail before any backend work).
import { tf, useBackend } from '../model/tf';
import type { CliBackend } from './command';
import { installCrashHandlers } from './output';

let ready: Promise<string> | undefined;

export function initBackend(name: CliBackend): Promise<string> {
  // tfjs's own notices (the cpu backend's multi-line "install tfjs-node" banner, and its
  // console.log messages, which would land on stdout amid --json output) stay quiet.
  tf.env().set('PROD', true);
  ready ??= useBackend(name).then((actual) => {
    // The wasm module has just installed its own uncaught-exception handlers.
    installCrashHandlers();
    return actual;
  });
  return ready;
}

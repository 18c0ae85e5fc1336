export { deriveSeed, makeRng, type Rng } from './rng';
export {
  answerChance,
  describeTask,
  evaluateExpression,
  isKeySet,
  isTaskName,
  KEY_SETS,
  keysOf,
  KV_SPEC,
  makeExamples,
  makeKeyTable,
  TASKS,
  type Example,
  type KeySet,
  type KeyTable,
  type KVSpec,
  type Operator,
  type TaskName,
} from './kv';
export {
  DEFAULT_MAX_BYTES,
  ExamplesError,
  formatExamples,
  parseExamples,
  parseExamplesStrict,
  type ParseError,
  type ParseOptions,
} from './parse';

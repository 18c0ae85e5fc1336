// The store's public face: the hook, the state's types, and every user action.
export { getState, initialState, setState, useAppStore, type AppState } from './app';
export type { SessionController, SessionOptions } from './controller';
export { DEFAULT_CONFIG, configFromHash, configToHash, type Config } from './config';
export { compositionSettings, configSpec, ensureComposed, isComposedNow, modelSizes, scheduleFirstCompose } from './compose';
export { loadBuiltinModels, startSession, whenModelsLoaded, whenSessionReady } from './session-start';
export { installSession, restartAfterCrash } from './session-control';
export { startUrlSync, applyHash } from './url';
export { COLUMNS } from './compare';
export { isTraining } from './training';
export { headWeights } from './attention';
export { heldOutExamples } from './examples';
export { keyRows, readPrompt, verdict, type KeyRow, type PromptReading, type Verdict } from './answers';

export { addConnection } from './actions/addConnection';
export { applyPreset, type Preset } from './actions/applyPreset';
export { chooseModel } from './actions/chooseModel';
export { compare, setPrompt } from './actions/compare';
export { cancelPendingChange, confirmPendingChange } from './actions/confirmChange';
export { restoreDefaultExamples, setExamplesText } from './actions/editExamples';
export { evaluate, evaluateProblem } from './actions/evaluate';
export { openComposition } from './actions/openComposition';
export { removeConnection } from './actions/removeConnection';
export { setBridgeHeads, setBridgeOutput, setInputNorm, setPositionBias, setQueryNorm, setValueGate } from './actions/setBridgeOptions';
export { setHyperparameter, type Hyperparameter } from './actions/setHyperparameter';
export { chooseAttentionConnection, chooseAttentionHead, showAttention } from './actions/showAttention';
export { stop } from './actions/stop';
export { toggleBridge } from './actions/toggleBridge';
export { examplesProblem, NO_LINKS, train, trainProblem } from './actions/train';
export { compareProblem } from './actions/compare';
export { heldOutPrompt, shippedIsOpen, startHere } from './actions/startHere';
export { reportField } from './actions/reportField';
export { fieldProblem, type FieldProblem, type FieldUse } from './fields';
export {
  deleteSavedComposition,
  dismissLibraryNotice,
  exportCurrent,
  openCompositionName,
  importBundleFiles,
  openSaved,
  refreshSaved,
  renameSavedComposition,
  restoreLastSession,
} from './library';
export { resumeTraining } from './actions/train';
export { formatBytes } from './saved';
export { cancelModelDownload, importModelFiles, importModelFromUrl } from './imported';
export { REAL_PAIRS, realModelId, type RealPair } from './real-models';
export { downloadRealPair } from './actions/downloadRealPair';
export { WEIGHT_LIMIT_BYTES } from './model-url';
export { secondsPerStep } from './training';

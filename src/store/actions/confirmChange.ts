// User action: answer "throw the trained bridges away?".
export { cancelPendingChange, confirmPendingChange } from '../change';

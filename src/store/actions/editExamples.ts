// User action: paste or edit the training examples, or restore the defaults.
import { setState } from '../app';
import { defaultExamplesText, examplesFromText } from '../examples';

export function setExamplesText(text: string): void {
  setState({ examples: examplesFromText(text) });
}

export function restoreDefaultExamples(): void {
  setExamplesText(defaultExamplesText());
}

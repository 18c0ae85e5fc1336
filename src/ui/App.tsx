// The page: a header with the status line, the Start-here strip, the main loop on one screen
// (models and links | train | compare), then the details below (real models, evaluation, the key
// table, inside the bridges, saved work, your own models).
import type { MouseEvent } from 'react';
import { ComparePanel } from './ComparePanel';
import { ConfirmDialog } from './ConfirmDialog';
import { EvaluationTable } from './EvaluationTable';
import { InsidePanel } from './InsidePanel';
import { KeyTablePanel } from './KeyTablePanel';
import { LinkNotices } from './LinkNotices';
import { ModelImport } from './ModelImport';
import { ModelsPanel } from './ModelsPanel';
import { RealModels } from './RealModels';
import { SavedPanel } from './SavedPanel';
import { StartHere } from './StartHere';
import { StatusLine } from './StatusLine';
import { TrainPanel } from './TrainPanel';

/** The page's hash holds the configuration, so the skip link moves focus itself rather than navigating. */
function skipToTrain(e: MouseEvent<HTMLAnchorElement>): void {
  e.preventDefault();
  const train = document.getElementById('train-button');
  train?.scrollIntoView({ block: 'center' });
  train?.focus();
}

export function App() {
  return (
    <>
      <a className="skip-link" href="#train-button" onClick={skipToTrain}>
        Skip to Train
      </a>
      <main className="app">
        <header className="top">
          <div className="brand">
            <h1>CALM Playground</h1>
            <p className="lede">
              Compose two frozen language models with CALM: the <em>anchor</em>, whose output you read, learns to read the hidden states of the{' '}
              <em>augmenting</em> model through small cross-attention bridges. Only the bridges train, in your browser.
            </p>
          </div>
          <StatusLine />
        </header>
        <LinkNotices />
        <StartHere />
        <div className="loop">
          <ModelsPanel />
          <TrainPanel />
          <ComparePanel />
        </div>
        <div className="details">
          <RealModels />
          <EvaluationTable />
          <KeyTablePanel />
          <InsidePanel />
          <SavedPanel />
          <ModelImport />
        </div>
      </main>
      <ConfirmDialog />
    </>
  );
}

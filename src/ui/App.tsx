import { ComparePanel } from './ComparePanel';
import { EvaluationTable } from './EvaluationTable';
import { ExamplesEditor } from './ExamplesEditor';
import { InsidePanel } from './InsidePanel';
import { LinkNotices } from './LinkNotices';
import { MappingPanel } from './MappingPanel';
import { ModelPicker } from './ModelPicker';
import { SavedPanel } from './SavedPanel';
import { StatusLine } from './StatusLine';
import { TrainPanel } from './TrainPanel';

export function App() {
  return (
    <main className="app">
      <header>
        <h1>CALM Playground</h1>
        <p className="lede">
          Compose two frozen language models with CALM: an <em>anchor</em> model, whose output you read, and an <em>augmenting</em> model,
          whose hidden states it learns to read through small cross-attention bridges. Only the bridges train. Everything runs in your browser.
        </p>
        <StatusLine />
        <LinkNotices />
      </header>
      <ModelPicker />
      <MappingPanel />
      <ExamplesEditor />
      <TrainPanel />
      <SavedPanel />
      <ComparePanel />
      <EvaluationTable />
      <InsidePanel />
    </main>
  );
}

import { ModelList } from './ModelList';

export function App() {
  return (
    <main className="app">
      <header>
        <h1>CALM Playground</h1>
        <p className="lede">
          Compose two frozen language models with CALM: an <em>anchor</em> model, whose output you read, and an{' '}
          <em>augmenting</em> model, whose hidden states it learns to read through small cross-attention bridges.
        </p>
      </header>
      <ModelList />
    </main>
  );
}

// @vitest-environment happy-dom
// The whole page over the store and an in-memory worker: every control has the accessible
// name people and the end-to-end tests use, and Train then Compare shows the composition's
// answer beside both models'.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';

vi.mock('../../src/worker/client', () => ({
  createCalmClient: () => {
    throw new Error('the tests install a session with a fake client (installSession)');
  },
  proxyCallback: <T,>(f: T) => f,
  transferBundle: <T,>(f: T) => f,
  defaultModelsUrl: () => 'http://test.local/models',
}));

import { getState, heldOutPrompt, initialState, keyRows, loadBuiltinModels, scheduleFirstCompose, setState, startSession } from '../../src/store';
import { PAPER_TABLE_1 } from '../../src/tasks/paper';
import { installSession } from '../../src/store/session-control';
import { App } from '../../src/ui/App';
import { fakeFetch, FakeWorker, withThreeLinks } from './helpers/fake-calm-worker';
import { KV_RECIPE } from '../../src/tasks/recipe';

let worker: FakeWorker;

beforeEach(async () => {
  setState(withThreeLinks(initialState), true);
  worker = new FakeWorker();
  installSession({ client: worker.client });
  await loadBuiltinModels({ baseUrl: '/', fetch: fakeFetch() });
  await startSession();
  scheduleFirstCompose();
});
afterEach(() => {
  vi.unstubAllGlobals();
  cleanup();
});

describe('App', () => {
  it('names every control as the issue asks', async () => {
    render(<App />);
    expect((screen.getByRole('combobox', { name: 'Anchor model' }) as HTMLSelectElement).value).toBe('arith-tiny');
    expect((screen.getByRole('combobox', { name: 'Augmenting model' }) as HTMLSelectElement).value).toBe('kv-tiny');
    expect(within(screen.getByRole('list', { name: 'Connections' })).getAllByRole('listitem')).toHaveLength(3);
    // The recipe's examples show as a summary; "Edit as text" opens them.
    expect(screen.queryByRole('textbox', { name: 'Examples' })).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Edit as text' }));
    expect((screen.getByRole('textbox', { name: 'Examples' }) as HTMLTextAreaElement).value.split('\n').filter(Boolean)).toHaveLength(
      Math.round(KV_RECIPE.kvArith / (1 - KV_RECIPE.numericShare)), // the recipe's kv-arith plus its numeric share
    );
    expect((screen.getByRole('spinbutton', { name: 'Steps' }) as HTMLInputElement).value).toBe(String(KV_RECIPE.steps));
    expect((screen.getByRole('spinbutton', { name: 'Learning rate' }) as HTMLInputElement).value).toBe(String(KV_RECIPE.lr));
    for (const name of ['Train', 'Stop', 'Compare', 'Evaluate']) screen.getByRole('button', { name });
    screen.getByRole('progressbar', { name: 'Training progress' });
    screen.getByRole('textbox', { name: 'Prompt' });
    for (const name of ['Anchor output', 'Augmenting output', 'Composed output']) screen.getByRole('region', { name });
    screen.getByRole('table', { name: 'Evaluation' });
    await waitFor(() => expect(screen.getByRole('status', { name: 'Backend' }).textContent).toContain('WebAssembly — faster in the probe'));
    // Model cards: sizes and the parameter count from config.json (the fake worker's kv-tiny config, 3 × 96 with 98 tokens: 348,192).
    const kv = screen.getByRole('article', { name: 'kv-tiny (knows the key table)' });
    expect(kv.textContent).toContain('348,192');
    expect(kv.textContent).toContain('What it was trained on');
    // The card's Markdown is rendered, not shown raw.
    expect(within(kv).getByRole('heading', { name: 'kv-tiny' })).toBeTruthy();
    expect(kv.textContent).not.toContain('# kv-tiny');
    // The skip link leads to Train.
    expect(screen.getByRole('link', { name: 'Skip to Train' }).getAttribute('href')).toBe('#train-button');
  });

  it('the status line says which kernels ran once Compare has run (WebAssembly: plain tfjs ops)', async () => {
    render(<App />);
    await waitFor(() => expect(getState().composition.status).toBe('ready'));
    expect(screen.queryByRole('status', { name: 'Kernels' })).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Compare' }));
    await waitFor(() => expect(worker.callsOf('kernelUsage')).toHaveLength(1), { timeout: 10_000 }); // after all three columns
    await waitFor(() => expect(screen.getByRole('status', { name: 'Kernels' }).textContent).toBe('Kernels: WebAssembly: plain tfjs ops'));
  });

  it('Start here opens the shipped composition, compares on held-out keys and marks each answer against its own right answer', async () => {
    const user = userEvent.setup();
    render(<App />);
    await waitFor(() => expect(getState().composition.status).toBe('ready'));
    // Keys whose values make the fake worker's answers right for two columns: augmenting `4+5`, composition `9`.
    const four = keyRows().find((r) => r.value === 4)!.key;
    const five = keyRows().find((r) => r.value === 5)!.key;
    vi.stubGlobal('fetch', fakeFetch()); // the shipped composition's two files
    await user.click(screen.getByRole('button', { name: 'Try the shipped composition on held-out keys' }));
    await waitFor(() => expect(getState().compare.outputs.composed.status).toBe('done'));
    expect(worker.callsOf('importBundle')).toHaveLength(1);
    expect(getState().compare.prompt).toBe(heldOutPrompt(0));
    const result = screen.getByRole('status', { name: 'Start here result' });
    expect(result.textContent).toContain(heldOutPrompt(0));
    // Another click: the next held-out prompt, the composition already open.
    await user.click(screen.getByRole('button', { name: 'Try another held-out prompt' }));
    await waitFor(() => expect(getState().compare.prompt).toBe(heldOutPrompt(1)));
    await waitFor(() => expect(getState().compare.outputs.composed.status).toBe('done'));
    expect(worker.callsOf('importBundle')).toHaveLength(1);

    const prompt = screen.getByRole('textbox', { name: 'Prompt' });
    await user.clear(prompt);
    await user.type(prompt, `${four}+${five}=`);
    expect(getState().compare.outputs.composed.status).toBe('idle'); // a new prompt clears the old answers
    await user.click(screen.getByRole('button', { name: 'Compare' }));
    await waitFor(() => expect(getState().compare.outputs.composed.status).toBe('done'));
    expect(screen.getByRole('region', { name: 'Anchor output' }).textContent).toContain('Wrong: its right answer is the result 9');
    expect(screen.getByRole('region', { name: 'Augmenting output' }).textContent).toContain('Right: its right answer is the substitution 4+5');
    expect(screen.getByRole('region', { name: 'Composed output' }).textContent).toContain('Right: its right answer is the result 9');

    // A key the table lacks: said so, and no marks.
    await user.type(prompt, '{Backspace}+§§=');
    expect(screen.getByText(/“§§” is not a key of the key table/)).toBeTruthy();
  });

  it('trains, then compares the composition with both models, then evaluates', async () => {
    const user = userEvent.setup();
    render(<App />);
    await waitFor(() => expect(getState().composition.status).toBe('ready'));
    const steps = screen.getByRole('spinbutton', { name: 'Steps' });
    await user.clear(steps);
    await user.type(steps, '3');
    expect(getState().config.steps).toBe(3);

    await user.click(screen.getByRole('button', { name: 'Train' }));
    await waitFor(() => expect(screen.getByRole('status', { name: 'Training status' }).textContent).toMatch(/^Done: 3 steps/));
    expect((screen.getByRole('progressbar', { name: 'Training progress' }) as HTMLProgressElement).value).toBe(3);
    expect(screen.getByRole('figure', { name: 'Training loss and held-out accuracy' }).textContent).toContain('Loss 1.00 at step 3; held-out accuracy 50.0 % at step 3.');

    await user.click(screen.getByRole('button', { name: 'Compare' }));
    await waitFor(() => expect(getState().compare.outputs.composed.status).toBe('done'));
    expect(screen.getByRole('region', { name: 'Anchor output' }).textContent).toContain('3');
    expect(screen.getByRole('region', { name: 'Augmenting output' }).textContent).toContain('4+5');
    const composed = screen.getByRole('region', { name: 'Composed output' });
    expect(composed.textContent).toContain('9');
    expect(composed.textContent).toContain('(trained bridges)');
    expect(within(composed).getByTitle('p = 0.950')).toBeTruthy();

    await user.click(screen.getByRole('button', { name: 'Evaluate' }));
    const table = screen.getByRole('table', { name: 'Evaluation' });
    await waitFor(() => expect(within(table).getAllByRole('row')[3].textContent).toContain('60.0 %'));
    const cells = within(table)
      .getAllByRole('row')
      .map((r) => [...r.querySelectorAll('th, td')].map((c) => c.textContent?.replace(/\s+/g, ' ').trim()));
    const paper = (r: keyof typeof PAPER_TABLE_1) => [PAPER_TABLE_1[r].anchor, PAPER_TABLE_1[r].augment, PAPER_TABLE_1[r].composed].map((x) => `${(x * 100).toFixed(1)} %`).join(' / ');
    expect(cells).toEqual([
      ['Task', 'Anchor arith-tiny', 'Augmenting kv-tiny', 'Composition', 'Chance', 'Paper'],
      ['Key-value substitution (kv-subs)', '0.0 %', '100.0 %', '10.0 %', '1.0 %', paper('kv-subs')],
      ['Numeric arithmetic (num-arith)', '98.0 %', '2.0 %', '97.0 %', '10.0 %', paper('num-arith')],
      ['Key-value arithmetic (kv-arith)', '3.0 %', '0.0 %', '60.0 %', '7.0 %', paper('kv-arith')],
    ]);
    // Bold marks each row's best, so the composition is bold only where it wins.
    const bold = within(table)
      .getAllByRole('row')
      .slice(1)
      .map((r) => [...r.querySelectorAll('td.best')].map((c) => c.textContent));
    expect(bold).toEqual([['100.0 %'], ['98.0 %'], ['60.0 %']]);
    expect(document.querySelector('.table-sentence')?.textContent).toBe(
      'On held-out keys the composition scores 60.0 % on key-value arithmetic, the anchor alone 3.0 %, the augmenting model alone 0.0 %, chance 7.0 %: the composition does what neither model does alone. (The paper, at full scale: 84.3 % for CALM, 0.0 % and 0.7 % alone.)',
    );
  });

  it('says where a pasted example is wrong and keeps Train disabled until it is fixed', async () => {
    const user = userEvent.setup();
    render(<App />);
    await user.click(screen.getByRole('button', { name: 'Edit as text' }));
    const box = screen.getByRole('textbox', { name: 'Examples' });
    await user.clear(box);
    await user.type(box, 'abc+abd= => 3{Enter}oops{Enter}');
    const errors = screen.getByRole('list', { name: 'Example errors' });
    expect(errors.textContent).toContain('line 2');
    expect(screen.getByText(/^1 training example · 100 held-out examples/)).toBeTruthy();
    expect((screen.getByRole('button', { name: 'Train' }) as HTMLButtonElement).disabled).toBe(true);
    await user.click(screen.getByRole('button', { name: 'Restore default examples' }));
    expect(screen.queryByRole('list', { name: 'Example errors' })).toBeNull();
    expect((screen.getByRole('button', { name: 'Train' }) as HTMLButtonElement).disabled).toBe(false);
  });

  it('shows the worker\'s message when it cannot compose the pair', async () => {
    worker.composeError = "cannot align arith-tiny with deep-tiny by characters: the augmenting model's tokenizer (deep-tiny) is neither a byte-level BPE nor the character tokenizer";
    const user = userEvent.setup();
    render(<App />);
    await user.selectOptions(screen.getByRole('combobox', { name: 'Augmenting model' }), 'deep-tiny');
    const alert = await screen.findByText(/Cannot build the composition: cannot align arith-tiny with deep-tiny by characters/);
    expect(alert.getAttribute('role')).toBe('alert');
  });

  it('says when two models of different tokenizers are aligned by characters, and not otherwise', async () => {
    worker.alignedModels.add('deep-tiny');
    const user = userEvent.setup();
    render(<App />);
    await screen.findByText(/Trainable parameters/);
    expect(screen.queryByText(/tokenize differently/)).toBeNull();
    await user.selectOptions(screen.getByRole('combobox', { name: 'Augmenting model' }), 'deep-tiny');
    const note = await screen.findByText(/These two models tokenize differently, so the bridges align them by characters/);
    expect(note.getAttribute('role')).toBe('note');
  });
});

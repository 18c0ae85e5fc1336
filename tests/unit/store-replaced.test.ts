// The one path for replaced bridges (src/store/replaced.ts): what an edit of the composition,
// Train's fresh bridges and an opened bundle (saved, imported or shipped) do to the rest of
// the state, as pure functions of it.
import { describe, expect, it } from 'vitest';
import { initialState, type AppState } from '../../src/store';
import { bridgesReplaced, bundleOpened, withoutOpenRecord } from '../../src/store/replaced';
import type { CompositionSettings, TokenEvent } from '../../src/worker/protocol';

const token: TokenEvent = { text: '7', prob: 0.9 };

/** A page whose old bridges have produced everything: answers, an evaluation, an attention map, an open record. */
function busyPage(): AppState {
  const s = initialState;
  const done = { status: 'done' as const, tokens: [token] };
  return {
    ...s,
    compare: { ...s.compare, running: true, run: 4, outputs: { anchor: done, augment: done, composed: done } },
    evaluation: { status: 'done', done: 3, total: 3 },
    attention: { ...s.attention, connection: 2, status: 'done', shown: { prompt: 'p', connection: 2 }, error: 'old' },
    library: { list: [], currentId: 'r1', resume: { id: 'r1', name: 'run', step: 2, steps: 5 }, notice: 'Restored “run”.', noticeFor: 'r1' },
    pendingChange: { kind: 'config', patch: { numHeads: 2 }, what: 'change the heads' },
  };
}

describe('replaced bridges', () => {
  it('bridgesReplaced empties the named columns, the evaluation and the attention map, and cuts off a running compare', () => {
    const s = busyPage();
    const next = bridgesReplaced(s, { columns: ['composed'], connection: 1 });
    expect(next.compare.outputs.composed).toEqual({ status: 'idle', tokens: [] });
    expect(next.compare.outputs.anchor).toBe(s.compare.outputs.anchor); // the models' own answers stay
    expect(next.compare.run).toBe(5); // a run still streaming answered something else
    expect(next.evaluation).toEqual({ status: 'idle', done: 0, total: 0 });
    expect(next.attention).toEqual({ ...s.attention, connection: 1, status: 'idle', map: undefined, shown: undefined, error: undefined });
  });

  it('withoutOpenRecord forgets the record, its resume and its notice; nothing open: the same object', () => {
    const l = busyPage().library;
    expect(withoutOpenRecord(l)).toEqual({ list: [], currentId: undefined, resume: undefined, notice: undefined, noticeFor: undefined });
    const other = { list: [], notice: 'Imported “x”.' };
    expect(withoutOpenRecord(other)).toBe(other);
    const noticeElsewhere = { list: [], currentId: 'r2' };
    expect(withoutOpenRecord(noticeElsewhere)).toEqual({ list: [], currentId: undefined, resume: undefined });
  });

  it('bundleOpened takes the bundle settings and recorded hyperparameters, and replaces everything the old bridges made', () => {
    const s = busyPage();
    const settings: CompositionSettings = { anchor: 'arith-tiny', augment: 'kv-tiny', connections: [[0, 1]], numHeads: 2, output: 'zero-init', seed: 0 };
    const source = { kind: 'bundle', title: 'kv-default' } as const;
    const next = bundleOpened(s, { settings, source, recorded: { steps: 750, lr: 0.001 } });
    expect(next.config).toEqual({ ...s.config, steps: 750, lr: 0.001, anchor: 'arith-tiny', augment: 'kv-tiny', connections: [[0, 1]], numHeads: 2, output: 'zero-init' });
    expect(next.config!.connections).not.toBe(settings.connections); // a copy: the worker's answer is not shared
    expect(next.composition).toMatchObject({ status: 'ready', trained: true, source, disabled: [] });
    expect(next.pendingChange).toBeNull();
    expect(next.library).toEqual(withoutOpenRecord(s.library));
    expect(next.compare!.outputs).toEqual({ anchor: { status: 'idle', tokens: [] }, augment: { status: 'idle', tokens: [] }, composed: { status: 'idle', tokens: [] } });
    expect(next.attention!.connection).toBe(0);
    expect(next.evaluation).toEqual({ status: 'idle', done: 0, total: 0 });
  });
});

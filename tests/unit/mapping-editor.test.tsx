// @vitest-environment happy-dom
// The mapping editor as a person uses it: click one layer then the other, drag between the
// columns, the keyboard (Enter, arrows, Escape, Delete, focus kept on the map), removing links
// from the map and from the Connections list, presets (a number out of range says so), and the
// question before trained bridges are replaced.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';

vi.mock('../../src/worker/client', () => ({
  createCalmClient: () => {
    throw new Error('the tests install a session with a fake client (installSession)');
  },
  proxyCallback: <T,>(f: T) => f,
  transferBundle: <T,>(f: T) => f,
  defaultModelsUrl: () => 'http://test.local/models',
}));

import { getState, initialState, loadBuiltinModels, setState } from '../../src/store';
import { installSession } from '../../src/store/session-control';
import { SPEC_DEFAULTS } from '../../src/calm/spec';
import { ModelsPanel } from '../../src/ui/ModelsPanel';
import { LayerMap, MAP_MAX_HEIGHT, mapRowHeight } from '../../src/ui/MappingEditor';
import { ConfirmDialog } from '../../src/ui/ConfirmDialog';

/** The models and links panel, with the dialog the page shows beside it. */
function MappingPanel() {
  return (
    <>
      <ModelsPanel />
      <ConfirmDialog />
    </>
  );
}
import { fakeFetch, FakeWorker, withThreeLinks } from './helpers/fake-calm-worker';

const connectionTexts = () =>
  within(screen.getByRole('list', { name: 'Connections' }))
    .getAllByRole('listitem')
    .map((li) => li.textContent?.replace(/Remove$/, '').trim());

beforeEach(async () => {
  setState(withThreeLinks(initialState), true);
  installSession({ client: new FakeWorker().client });
  await loadBuiltinModels({ baseUrl: '/', fetch: fakeFetch() });
});
afterEach(() => {
  cleanup();
});

describe('MappingEditor', () => {
  it('shows both columns with an embedding row, and the default links', () => {
    render(<MappingPanel />);
    const anchor = screen.getByRole('list', { name: 'Anchor layers' });
    const augment = screen.getByRole('list', { name: 'Augmenting layers' });
    expect(within(anchor).getAllByRole('button').map((b) => b.getAttribute('aria-label'))).toEqual([
      'Anchor block 2',
      'Anchor block 1',
      'Anchor block 0',
      'Anchor embedding',
    ]);
    expect(within(augment).getAllByRole('button').map((b) => b.getAttribute('aria-label'))).toEqual([
      'Augmenting final norm',
      'Augmenting block 2',
      'Augmenting block 1',
      'Augmenting block 0',
      'Augmenting embedding',
    ]);
    expect(connectionTexts()).toEqual([
      'bridge 0 anchor embedding ← augmenting block 2',
      'bridge 1 anchor block 0 ← augmenting block 2',
      'bridge 2 anchor block 1 ← augmenting block 2',
    ]);
    expect(screen.getAllByRole('button', { name: /^Remove link / })).toHaveLength(3);
    // Sizes as the mapping changes: 3 bridges of arith-tiny (128) reading kv-tiny (96), with
    // the spec's default position bias (h·R) and value gate (D_a·h + h), as the worker builds them.
    const size = screen.getByRole('group', { name: 'Composition size' });
    const per = 96 * 128 + 128 + 4 * (128 * 128 + 128) + 4 * SPEC_DEFAULTS.positionBias + (SPEC_DEFAULTS.valueGate ? 128 * 4 + 4 : 0);
    expect(size.textContent).toContain((3 * per).toLocaleString('en-US'));
  });

  it('adds a link by clicking one layer then the other, in either order', async () => {
    const user = userEvent.setup();
    render(<MappingPanel />);
    await user.click(screen.getByRole('button', { name: 'Anchor block 2' }));
    expect(screen.getByRole('button', { name: 'Anchor block 2' }).getAttribute('aria-pressed')).toBe('true');
    await user.click(screen.getByRole('button', { name: 'Augmenting block 0' }));
    await user.click(screen.getByRole('button', { name: 'Augmenting embedding' }));
    await user.click(screen.getByRole('button', { name: 'Anchor block 0' }));
    expect(getState().config.connections).toEqual([
      [-1, 2],
      [0, -1],
      [0, 2],
      [1, 2],
      [2, 0],
    ]);
    expect(connectionTexts()).toContain('bridge 4 anchor block 2 ← augmenting block 0');
    expect(screen.getByText(/Linked anchor block 0 ← augmenting embedding/)).toBeTruthy();
    // The note goes once that link is removed: it would no longer be true.
    await user.click(screen.getByRole('button', { name: 'Remove anchor block 0 ← augmenting embedding' }));
    expect(screen.queryByText(/Linked anchor block 0 ← augmenting embedding/)).toBeNull();
    await user.click(screen.getByRole('button', { name: 'Augmenting embedding' }));
    await user.click(screen.getByRole('button', { name: 'Anchor block 0' }));
    // Clicking two layers of one side just moves the choice.
    await user.click(screen.getByRole('button', { name: 'Anchor block 1' }));
    await user.click(screen.getByRole('button', { name: 'Anchor block 2' }));
    expect(screen.getByRole('button', { name: 'Anchor block 1' }).getAttribute('aria-pressed')).toBe('false');
    expect(screen.getByRole('button', { name: 'Anchor block 2' }).getAttribute('aria-pressed')).toBe('true');
  });

  it('adds a link by dragging from one column to the other', () => {
    render(<MappingPanel />);
    const from = screen.getByRole('button', { name: 'Augmenting final norm' });
    const to = screen.getByRole('button', { name: 'Anchor block 1' });
    fireEvent.pointerDown(from, { button: 0, clientX: 10, clientY: 10 });
    fireEvent.pointerMove(window, { clientX: 50, clientY: 40 });
    fireEvent.pointerUp(to, { clientX: 0, clientY: 0 });
    expect(getState().config.connections).toContainEqual([1, 3]);
    expect(connectionTexts()).toContain('bridge 3 anchor block 1 ← augmenting final norm');
    // A drag that ends on its own column adds nothing.
    fireEvent.pointerDown(to, { button: 0 });
    fireEvent.pointerUp(screen.getByRole('button', { name: 'Anchor block 0' }));
    expect(getState().config.connections).toHaveLength(4);
  });

  it('works from the keyboard: Enter, arrows, Escape, and Delete on a link', async () => {
    const user = userEvent.setup();
    render(<MappingPanel />);
    screen.getByRole('button', { name: 'Anchor block 0' }).focus();
    await user.keyboard('{ArrowUp}');
    expect(document.activeElement?.getAttribute('aria-label')).toBe('Anchor block 1');
    await user.keyboard('{Enter}');
    await user.keyboard('{ArrowRight}');
    expect(document.activeElement?.getAttribute('aria-label')).toBe('Augmenting block 1');
    await user.keyboard('{ArrowDown}{ArrowDown}');
    expect(document.activeElement?.getAttribute('aria-label')).toBe('Augmenting embedding');
    await user.keyboard('{Enter}');
    expect(getState().config.connections).toContainEqual([1, -1]);

    // Escape drops a half-made link.
    await user.keyboard(' ');
    expect(document.activeElement?.getAttribute('aria-pressed')).toBe('true');
    await user.keyboard('{Escape}');
    expect(document.activeElement?.getAttribute('aria-pressed')).toBe('false');

    // A link on the map is a button: Delete removes it, and the focus stays on the map.
    const link = screen.getByRole('button', { name: 'Remove link anchor block 1 ← augmenting embedding' });
    link.focus();
    await user.keyboard('{Delete}');
    expect(getState().config.connections).not.toContainEqual([1, -1]);
    expect(document.activeElement?.closest('.layer-map')).not.toBeNull();
    expect(document.activeElement?.getAttribute('aria-label')).toMatch(/^Remove link /);

    // So does the Remove button of the list, by Enter.
    screen.getByRole('button', { name: 'Remove anchor block 0 ← augmenting block 2' }).focus();
    await user.keyboard('{Enter}');
    expect(connectionTexts()).toEqual(['bridge 0 anchor embedding ← augmenting block 2', 'bridge 1 anchor block 1 ← augmenting block 2']);
  });

  it('removes a link by clicking it on the map', async () => {
    const user = userEvent.setup();
    render(<MappingPanel />);
    await user.click(screen.getByRole('button', { name: 'Remove link anchor embedding ← augmenting block 2' }));
    expect(getState().config.connections).toEqual([
      [0, 2],
      [1, 2],
    ]);
    expect(screen.queryByRole('button', { name: 'Remove link anchor embedding ← augmenting block 2' })).toBeNull();
  });

  it('applies the presets', async () => {
    const user = userEvent.setup();
    render(<MappingPanel />);
    const n = screen.getByRole('spinbutton', { name: 'Uniform N' });
    await user.clear(n);
    await user.type(n, '3');
    await user.click(screen.getByRole('button', { name: 'Apply uniform 3' }));
    expect(getState().config.connections).toEqual([
      [0, 0],
      [1, 1],
      [2, 2],
    ]);
    await user.click(screen.getByRole('button', { name: 'Apply every 1' }));
    expect(connectionTexts()).toHaveLength(3);
    // More links than the models have layers: the range next to the field, Apply disabled, nothing clamped.
    await user.clear(n);
    await user.type(n, '7');
    expect(screen.getByText('a whole number from 1 to 3')).toBeTruthy();
    const apply = screen.getByRole('button', { name: 'Apply uniform 3' }) as HTMLButtonElement;
    expect(apply.disabled).toBe(true);
    expect(apply.title).toBe('Uniform N must be a whole number from 1 to 3.');
    n.blur();
    expect((n as HTMLInputElement).value).toBe('7'); // kept as typed, not reverted
  });

  it('asks before the mapping throws trained bridges away', async () => {
    const user = userEvent.setup();
    render(<MappingPanel />);
    act(() => setState((s) => ({ composition: { ...s.composition, status: 'ready', trained: true } })));
    await user.click(screen.getByRole('button', { name: 'Remove anchor block 1 ← augmenting block 2' }));
    const dialog = screen.getByRole('alertdialog', { name: 'Replace the trained bridges?' });
    expect(dialog.textContent).toContain('remove anchor block 1 ← augmenting block 2');
    // Nothing saved them (no saved record, no shipped composition): it says so.
    expect(dialog.textContent).toContain('not saved in this browser: Export them first');
    expect(getState().config.connections).toHaveLength(3);
    expect(document.activeElement?.textContent).toBe('Keep the trained bridges');
    await user.click(within(dialog).getByRole('button', { name: 'Keep the trained bridges' }));
    expect(screen.queryByRole('alertdialog')).toBeNull();
    expect(getState().config.connections).toHaveLength(3);

    await user.click(screen.getByRole('button', { name: 'Remove link anchor block 1 ← augmenting block 2' }));
    await user.click(screen.getByRole('button', { name: 'Replace them' }));
    expect(getState().config.connections).toHaveLength(2);
    expect(getState().composition.trained).toBe(false);
  });

  it('keeps a 30-layer pair on one screen, and scrolls a taller one instead of shrinking it past use', () => {
    expect(mapRowHeight(5)).toBe(36);
    const map = (anchorLayers: number, augmentLayers: number) =>
      render(<LayerMap anchorId="a" augmentId="g" anchorLayers={anchorLayers} augmentLayers={augmentLayers} connections={[[0, 0], [anchorLayers - 1, augmentLayers]]} disabled={false} />);
    const { container, unmount } = map(32, 30); // SmolLM2-360M (32 blocks) ← SmolLM2-135M (30)
    const anchor = screen.getByRole('list', { name: 'Anchor layers' });
    expect(within(anchor).getAllByRole('button')).toHaveLength(33);
    expect(within(screen.getByRole('list', { name: 'Augmenting layers' })).getAllByRole('button')).toHaveLength(32);
    const height = parseFloat(anchor.style.height);
    expect(height).toBeLessThanOrEqual(MAP_MAX_HEIGHT);
    expect(height / 33).toBeGreaterThanOrEqual(18); // each row still a target a pointer hits
    expect(container.querySelector('.layer-map.compact')).not.toBeNull();
    expect(container.querySelector('.layer-map-wrap.scrolls')).toBeNull();
    expect(screen.getAllByRole('button', { name: /^Remove link / })).toHaveLength(2);
    unmount();
    const tall = map(48, 48);
    expect(parseFloat(screen.getByRole('list', { name: 'Anchor layers' }).style.height)).toBe(18 * 50);
    expect(tall.container.querySelector('.layer-map-wrap.scrolls')).not.toBeNull();
  });

  it('is read-only while training', () => {
    setState((s) => ({ training: { ...s.training, status: 'training' } }));
    render(<MappingPanel />);
    expect((screen.getByRole('button', { name: 'Anchor block 0' }) as HTMLButtonElement).disabled).toBe(true);
    fireEvent.click(screen.getByRole('button', { name: 'Remove link anchor block 1 ← augmenting block 2' }));
    expect(getState().config.connections).toHaveLength(3);
  });
});

describe('BridgeOptions', () => {
  it('sets each option of the spec, and the sizes follow', async () => {
    const user = userEvent.setup();
    render(<MappingPanel />);
    const size = screen.getByRole('group', { name: 'Composition size' });
    const plain = 96 * 128 + 128 + 4 * (128 * 128 + 128); // arith-tiny (128) reading kv-tiny (96)
    const shows = (perBridge: number) => expect(size.textContent).toContain((3 * perBridge).toLocaleString('en-US'));
    shows(plain + 4 * 4 + 128 * 4 + 4); // the defaults: a 4-bucket position bias and a value gate
    expect(size.textContent).toContain('Frozen statistics'); // and input whitening
    await user.click(screen.getByRole('checkbox', { name: 'Value gate' }));
    expect(getState().config.valueGate).toBe(false);
    shows(plain + 4 * 4);
    await user.selectOptions(screen.getByRole('combobox', { name: 'Position bias' }), '8 offsets');
    expect(getState().config.positionBias).toBe(8);
    shows(plain + 4 * 8);
    await user.selectOptions(screen.getByRole('combobox', { name: 'Position bias' }), 'none');
    shows(plain);
    await user.click(screen.getByRole('checkbox', { name: 'Query norm' }));
    await user.selectOptions(screen.getByRole('combobox', { name: 'Input' }), 'as it is');
    expect(getState().config).toMatchObject({ positionBias: 0, inputNorm: 'none', queryNorm: false, valueGate: false });
    shows(plain);
    // the whitening's frozen statistics show only while it is on
    expect(size.textContent).not.toContain('Frozen statistics');
  });
});

// `calm compose train|eval|generate`, `logits --bundle` and their errors, on the built-in
// pair with a few training steps (the figures of a real run are the reproduction's business).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calm, expectOneLineError } from './helpers/cli';
import { zipBundle } from '../../src/store/bundle-file';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'calm-compose-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('calm compose', () => {
  it('a bad line in --data is an error naming its line number, before any model loads', async () => {
    const data = join(dir, 'bad.txt');
    await writeFile(data, 'abc+qdx= => 5\n# a comment\nno arrow here\n');
    const r = await calm(['compose', 'train', '--anchor', 'arith-tiny', '--augment', 'kv-tiny', '--data', data, '--out', join(dir, 'x')]);
    expectOneLineError(r, 1, /line 3/);
  });

  it('trains from pasted examples, writes a bundle, and eval / generate / logits read it', async () => {
    const data = join(dir, 'good.txt');
    await writeFile(data, 'abc+qdx= => 5\n{"prompt": "4+7=", "completion": "11"}\nxyz-abc= => 2\n');
    const out = join(dir, 'bundle');
    const train = await calm([
      'compose', 'train', '--anchor', 'arith-tiny', '--augment', 'kv-tiny', '--connections', '0:f,1:2',
      '--heads', '2', '--data', data, '--steps', '3', '--batch', '2', '--out', out, '--json', '--quiet',
    ]);
    expect(train.code, train.stderr).toBe(0);
    const report = JSON.parse(train.stdout);
    expect(report).toMatchObject({ connections: [[0, 3], [1, 2]], num_heads: 2, steps: 3, output: 'zero-init' });
    const manifest = JSON.parse(await readFile(join(out, 'composition.json'), 'utf8'));
    expect(manifest).toMatchObject({
      format: 'calm-playground/composition@1',
      anchor: { id: 'arith-tiny' },
      augment: { id: 'kv-tiny' },
      connections: [[0, 3], [1, 2]],
      num_heads: 2,
    });

    const gen = await calm(['compose', 'generate', '--bundle', out, '--prompt', '4+7=', '--json', '--quiet']);
    expect(gen.code, gen.stderr).toBe(0);
    const outputs = JSON.parse(gen.stdout).outputs;
    expect(Object.keys(outputs).sort()).toEqual(['anchor', 'augment', 'composed']);
    expect(outputs.anchor).toBe('11');

    const ev = await calm(['compose', 'eval', '--bundle', out, '--task', 'num-arith', '--n', '20', '--json', '--quiet']);
    expect(ev.code, ev.stderr).toBe(0);
    const e = JSON.parse(ev.stdout);
    expect(e.n).toBe(20);
    expect(e.columns.anchor).toBeGreaterThan(0.8);
    expect(e.accuracy).toBe(e.columns.composed);

    const lg = await calm(['logits', '--bundle', out, '--ids', '10,11,12', '--json', '--quiet']);
    expect(lg.code, lg.stderr).toBe(0);
    const logits = JSON.parse(lg.stdout).logits as number[][];
    expect(logits).toHaveLength(3);
    expect(logits[0]).toHaveLength(1098);

    // The same bundle as the playground exports it (one .calm.zip, examples inside): the same logits.
    const zip = join(dir, 'mine.calm.zip');
    const bridge = await readFile(join(out, 'bridge.safetensors'));
    await writeFile(
      zip,
      zipBundle({ composition: await readFile(join(out, 'composition.json'), 'utf8'), bridge: bridge.buffer.slice(bridge.byteOffset, bridge.byteOffset + bridge.byteLength), examplesText: 'abc+qdx= => 5\n' }),
    );
    const lz = await calm(['logits', '--bundle', zip, '--ids', '10,11,12', '--json', '--quiet']);
    expect(lz.code, lz.stderr).toBe(0);
    expect(JSON.parse(lz.stdout).logits).toEqual(logits);
    const gz = await calm(['compose', 'generate', '--bundle', zip, '--prompt', '4+7=', '--json', '--quiet']);
    expect(JSON.parse(gz.stdout).outputs).toEqual(outputs);

    const notZip = join(dir, 'notes.txt');
    await writeFile(notZip, 'not a bundle');
    expectOneLineError(await calm(['logits', '--bundle', notZip, '--ids', '1', '--quiet']), 1, /notes\.txt is a file but not a zip: a bundle is a folder with composition\.json and bridge\.safetensors, or the \.calm\.zip file the playground exports/);
  });

  it('--input-norm whiten --query-norm --value-gate: the bundle says so, holds the statistics and reads back', async () => {
    const data = join(dir, 'opts.txt');
    await writeFile(data, 'abc+qdx= => 5\n004+007= => 11\nxyz-abc= => 2\n');
    const out = join(dir, 'opts');
    const train = await calm([
      'compose', 'train', '--anchor', 'arith-tiny', '--augment', 'kv-tiny', '--connections=-1:f',
      '--input-norm', 'whiten', '--query-norm', '--value-gate', '--data', data, '--steps', '2', '--batch', '3', '--out', out, '--json', '--quiet',
    ]);
    expect(train.code, train.stderr).toBe(0);
    expect(JSON.parse(train.stdout)).toMatchObject({ input_norm: 'whiten', query_norm: true, value_gate: true });
    const manifest = JSON.parse(await readFile(join(out, 'composition.json'), 'utf8'));
    expect(manifest).toMatchObject({ input_norm: 'whiten', query_norm: true, value_gate: true });
    const bytes = await readFile(join(out, 'bridge.safetensors'));
    const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8'));
    expect(header['bridges.0.in.whiten'].shape).toEqual([128, 128]);
    expect(header['bridges.0.attn.gate.weight'].shape).toEqual([4, 128]);
    const lg = await calm(['logits', '--bundle', out, '--ids', '10,11,12', '--json', '--quiet']);
    expect(lg.code, lg.stderr).toBe(0);
    expectOneLineError(await calm(['compose', 'train', '--anchor', 'arith-tiny', '--augment', 'kv-tiny', '--input-norm', 'zca', '--data', data, '--out', out]), 2, /input-norm/);
  });

  it('--no-query-norm --no-value-gate --position-bias 0 --input-norm none: the plain bridge; a flag and its --no- together are refused', async () => {
    const data = join(dir, 'plain.txt');
    await writeFile(data, 'abc+qdx= => 5\n004+007= => 11\n');
    const out = join(dir, 'plain');
    const base = ['compose', 'train', '--anchor', 'arith-tiny', '--augment', 'kv-tiny', '--data', data, '--steps', '1', '--batch', '2', '--out', out, '--quiet'];
    const train = await calm([...base, '--position-bias', '0', '--input-norm', 'none', '--no-query-norm', '--no-value-gate', '--json']);
    expect(train.code, train.stderr).toBe(0);
    const manifest = JSON.parse(await readFile(join(out, 'composition.json'), 'utf8')) as Record<string, unknown>;
    expect(['position_bias', 'input_norm', 'query_norm', 'value_gate'].filter((k) => k in manifest)).toEqual([]);
    expectOneLineError(await calm([...base, '--value-gate', '--no-value-gate']), 2, /--value-gate and --no-value-gate contradict each other/);
    expectOneLineError(await calm([...base, '--position-bias=-1']), 2, /--position-bias must be between 0 and 4096, got -1/);
  });

  it('refuses a connection past the models, and a missing subcommand, in one line', async () => {
    const r1 = await calm(['compose', 'train', '--anchor', 'arith-tiny', '--augment', 'kv-tiny', '--connections', '7:0', '--task', 'kv-arith', '--out', join(dir, 'y')]);
    expectOneLineError(r1, 1, /anchor layer 7 is out of range/);
    const r2 = await calm(['compose']);
    expectOneLineError(r2, 2, /compose needs train, eval or generate/);
  });
});

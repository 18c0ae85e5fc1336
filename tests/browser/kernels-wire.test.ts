// Proof that the page's default path runs our WGSL kernels (docs/design.md § Kernels): the real
// worker on WebGPU (SwiftShader here), the page's default composition (DEFAULT_CONFIG: the
// position bias, input whitening, query norm and the value gate), a few training steps and a
// decode, then the worker's own counts: which programs were dispatched, by key, and that no
// call fell back to the plain-tfjs reference. This page never imports tfjs: only the client.
import { afterAll, describe, expect, it } from 'vitest';
import { createCalmClient, proxyCallback, type CalmClient } from '../../src/worker/client';
import type { CompositionSettings, KernelUsage, TokenEvent } from '../../src/worker/protocol';
import { DEFAULT_CONFIG } from '../../src/store/config';
import { PENDING_FINAL } from '../../src/store/mapping';

const MODELS_URL = new URL('/models', location.href).href;

/**
 * The page's default composition, as the store builds it from DEFAULT_CONFIG once the models'
 * sizes are known: `f` (the augmenting model's final norm) resolves to its layer count.
 */
const settings = (augmentLayers: number): CompositionSettings => ({
  anchor: DEFAULT_CONFIG.anchor,
  augment: DEFAULT_CONFIG.augment,
  connections: DEFAULT_CONFIG.connections.map(([a, g]) => [a, g === PENDING_FINAL ? augmentLayers : g]),
  numHeads: DEFAULT_CONFIG.numHeads,
  output: DEFAULT_CONFIG.output,
  positionBias: DEFAULT_CONFIG.positionBias,
  positionInit: DEFAULT_CONFIG.positionInit,
  inputNorm: DEFAULT_CONFIG.inputNorm,
  queryNorm: DEFAULT_CONFIG.queryNorm,
  valueGate: DEFAULT_CONFIG.valueGate,
  seed: DEFAULT_CONFIG.seed,
});

const EXAMPLES = [
  { prompt: '4+7-3=', completion: '8' },
  { prompt: 'abc+def=', completion: '7' },
  { prompt: 'ghi-abc=', completion: '1' },
  { prompt: 'jkl+mno=', completion: '12' },
];

/** Dispatches of the programs whose key starts with `prefix`. */
const dispatched = (u: KernelUsage, prefix: string) =>
  Object.entries(u.dispatches)
    .filter(([k]) => k.startsWith(prefix))
    .reduce((n, [, c]) => n + c, 0);

let c: CalmClient | undefined;
afterAll(() => c?.terminate());

describe('our kernels on the page\'s default path (WebGPU)', () => {
  it('training and decoding the default composition dispatch our programs, with no fallback', async () => {
    c = createCalmClient();
    const report = await c.api.init({ backend: 'webgpu', modelsUrl: MODELS_URL });
    expect(report.backend).toBe('webgpu');
    await c.api.kernelUsage({ reset: true }); // from here on: the composition's work only
    const augment = (await c.api.listModels()).find((m) => m.id === DEFAULT_CONFIG.augment)!;
    await c.api.compose(settings(augment.layers));
    expect(DEFAULT_CONFIG).toMatchObject({ positionBias: 4, inputNorm: 'whiten', queryNorm: true, valueGate: true });

    const summary = await c.api.train(
      { examples: EXAMPLES, heldOut: EXAMPLES.slice(0, 1), steps: 2, lr: 2e-3, batch: 4, seed: 1, evalEvery: 2 },
      proxyCallback(() => {}),
    );
    expect(summary).toMatchObject({ stopped: 'done', steps: 2 });
    const trained = await c.api.kernelUsage({ reset: true });
    console.log('kernel usage after compose + 2 training steps:', JSON.stringify(trained));

    const tokens: TokenEvent[] = [];
    await c.api.generate({ prompt: 'abc+def=', column: 'composed', maxTokens: 3 }, proxyCallback((t: TokenEvent) => void tokens.push(t)));
    expect(tokens.length).toBeGreaterThan(0);
    const decoded = await c.api.kernelUsage();
    console.log('kernel usage of a 3-token decode:', JSON.stringify(decoded));

    for (const u of [trained, decoded]) {
      expect(u.backend).toBe('webgpu');
      expect(u.enabled).toBe(true);
      // every call of our kernels ran fused: no reference call, so no reason
      expect(u.kernels.crossAttention).toEqual({ fused: expect.any(Number), reference: 0 });
      expect(u.kernels.linear).toEqual({ fused: expect.any(Number), reference: 0 });
      expect(u.kernels.causalAttention).toEqual({ fused: expect.any(Number), reference: 0 }); // the models' own self-attention
      expect(u.kernels.crossAttention.fused).toBeGreaterThan(0);
      expect(u.kernels.linear.fused).toBeGreaterThan(0);
      expect(u.kernels.causalAttention.fused).toBeGreaterThan(0);
      expect(u.kernels.norm).toEqual({ fused: expect.any(Number), reference: 0 }); // the models' LayerNorms
      expect(u.kernels.norm.fused).toBeGreaterThan(0);
      expect(dispatched(u, 'normRowwise_forward_centre1_beta1')).toBeGreaterThan(0);
      // forwards: the cross-attention with its 4 position buckets, the linear with a bias
      expect(dispatched(u, 'crossAttentionRowwise_forward_')).toBeGreaterThan(0);
      expect(Object.keys(u.dispatches).some((k) => k.startsWith('crossAttentionRowwise_forward_') && k.includes('_nb4_'))).toBe(true);
      expect(dispatched(u, 'matmulRegisterTiled_tA0_tB0_bias1')).toBeGreaterThan(0);
    }
    // backwards (training only): dQ, dK/dV and the position bias's gradient; the linear's dx, dW, db
    expect(dispatched(trained, 'crossAttentionRowwise_dq_')).toBeGreaterThan(0);
    expect(dispatched(trained, 'crossAttentionRowwise_dkv_')).toBeGreaterThan(0);
    expect(dispatched(trained, 'crossAttentionBiasGrad_')).toBeGreaterThan(0);
    expect(dispatched(trained, 'matmulRegisterTiled_tA0_tB1')).toBeGreaterThan(0); // dx = dy·Wᵀ
    expect(dispatched(trained, 'matmulRegisterTiled_tA1_tB0')).toBeGreaterThan(0); // dW = xᵀ·dy
    expect(dispatched(trained, 'columnSum_')).toBeGreaterThan(0); // db
    expect(dispatched(trained, 'normRowwise_dx_centre1')).toBeGreaterThan(0); // LayerNorm's dx
    // the frozen anchor blocks after the connection pass dx back but skip dW and db: fewer dW than dx
    expect(dispatched(trained, 'matmulRegisterTiled_tA1_tB0')).toBeLessThan(dispatched(trained, 'matmulRegisterTiled_tA0_tB1'));
    // decoding computes no gradient
    expect(dispatched(decoded, 'crossAttentionRowwise_dq_') + dispatched(decoded, 'matmulRegisterTiled_tA1_tB0') + dispatched(decoded, 'normRowwise_dx_')).toBe(0);
  }, 400_000);
});

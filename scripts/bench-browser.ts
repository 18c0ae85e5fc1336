// npm run bench:browser -- [--json] [--repeats N] [--quick] [--profile]
//
// In headless Chromium with WebGPU (SwiftShader here, docs/design.md § Tests), measured in one run:
// - cross_attention_fused_speedup: the fused WGSL cross-attention (src/kernels) vs the reference
//   tfjs ops, both on WebGPU, forward + backward (loss and dQ, dK, dV), at T = S = 64, 256 and
//   D_a = 128, 256 with 4 heads, batch 1; the smallest speedup over those sizes;
// - cross_attention_bias_fused_speedup: the same with a bridge's relative-position bias
//   (positionBias [4 heads, R 4], the page's recipe; its gradient too), the smallest speedup;
// - linear_fused_speedup: the WGSL linear (x·W + b, src/kernels/linear.ts) vs tfjs's matMul + add,
//   both on WebGPU, forward + backward (dx, dW, db), at bridge sizes; the smallest speedup;
// - webgpu_vs_wasm_train_step: one bridge-training step (a pair of random 2-block GPT-2s of
//   width 128, batch 2, T 32) on WASM time / on WebGPU time (> 1: WebGPU is faster);
// - default_recipe_train_step_ours_vs_plain: the same step with the page's default recipe
//   (SPEC_DEFAULTS: position bias, whitening, query norm, value gate; connection -1:f) on WebGPU,
//   plain tfjs-webgpu ops time / our kernels' time (the switch in src/kernels/usage.ts);
// - default_recipe_decode_ours_vs_plain: greedy composed decoding with KV caches (16-token
//   prompt, then one token a step, read back each step), our tokens/s / plain tokens/s.
// Each side's kernel usage (fused / reference calls, WGSL dispatches per program) is in the JSON.
// --profile instead times one default-recipe training step per WGSL program (timestamp queries;
// docs/kernels-profile.md) and prints the programs by time.
// Serves tests/browser/bench/ with a vite dev server and drives the page with playwright-core.
import { parseArgs } from 'node:util';
import { createServer } from 'vite';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH, ISOLATION_HEADERS } from '../vitest.config';
import type { BenchOptions } from '../tests/browser/bench/bench-page';

const { values } = parseArgs({
  options: { json: { type: 'boolean' }, repeats: { type: 'string', default: '5' }, quick: { type: 'boolean' }, profile: { type: 'boolean' } },
});
const log = (s: string) => process.stderr.write(s + '\n');

const options: BenchOptions = {
  repeats: Number(values.repeats),
  sizes: values.quick
    ? [[64, 128]]
    : [
        [64, 128],
        [64, 256],
        [256, 128],
        [256, 256],
      ],
  heads: 4,
  buckets: 4,
  linearSizes: values.quick
    ? [[64, 128, 128]]
    : [
        [64, 128, 128],
        [256, 256, 256],
        [64, 128, 512],
      ],
  train: { B: 2, T: 32, width: 128, layers: 2, heads: 4 },
  decodeTokens: values.quick ? 4 : 16,
};

async function main(): Promise<void> {
  const server = await createServer({
    configFile: false,
    root: process.cwd(),
    logLevel: 'error',
    server: { port: 0, host: '127.0.0.1', headers: ISOLATION_HEADERS },
  });
  await server.listen();
  const address = server.httpServer?.address();
  if (!address || typeof address === 'string') throw new Error('the vite server has no port');
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
  try {
    const page = await browser.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') log(`page: ${m.text()}`);
    });
    page.on('pageerror', (e) => log(`page error: ${e.message}`));
    await page.goto(`http://127.0.0.1:${address.port}/tests/browser/bench/index.html`);
    await page.waitForFunction(() => window.calmBench !== undefined, undefined, { timeout: 120_000 });
    if (values.profile) {
      const p = await page.evaluate((o) => window.calmProfile!(o), options);
      log(`profile (${p.method}): ${p.dispatches} dispatches, ${p.total_program_ms.toFixed(1)} ms in programs, step ${p.step_wall_ms_while_timed.toFixed(1)} ms wall while timed`);
      p.programs.slice(0, 10).forEach((r) => log(`  ${r.ms.toFixed(2)} ms  ×${r.dispatches}  ${r.key}`));
      if (values.json) process.stdout.write(JSON.stringify(p, null, 2) + '\n');
      return;
    }
    log(`bench: sizes ${JSON.stringify(options.sizes)} [T, D_a], ${options.heads} heads, ${options.repeats} repeats`);
    const report = await page.evaluate((o) => window.calmBench!(o), options);
    report.cross_attention.forEach((r) =>
      log(`  T ${r.T} D_a ${r.D_a}: fused ${r.fused_fwd_bwd_ms.toFixed(1)} ms, reference ${r.reference_fwd_bwd_ms.toFixed(1)} ms, ${r.fwd_bwd_speedup.toFixed(2)}× (forward only ${r.fwd_speedup.toFixed(2)}×)`),
    );
    report.cross_attention_bias.forEach((r) =>
      log(`  with bias (R ${r.buckets}) T ${r.T} D_a ${r.D_a}: fused ${r.fused_fwd_bwd_ms.toFixed(1)} ms, reference ${r.reference_fwd_bwd_ms.toFixed(1)} ms, ${r.fwd_bwd_speedup.toFixed(2)}× (forward only ${r.fwd_speedup.toFixed(2)}×)`),
    );
    report.linear.forEach((r) => log(`  linear [${r.M}, ${r.K}]·[${r.K}, ${r.N}]: fused ${r.fused_fwd_bwd_ms.toFixed(1)} ms, reference ${r.reference_fwd_bwd_ms.toFixed(1)} ms, ${r.fwd_bwd_speedup.toFixed(2)}×`));
    log(`  train step: webgpu ${report.train_step.webgpu_ms.toFixed(1)} ms, wasm ${report.train_step.wasm_ms.toFixed(1)} ms`);
    const d = report.default_recipe;
    log(`  default recipe train step: our kernels ${d.ours.train_step_ms.toFixed(1)} ms, plain tfjs-webgpu ${d.plain.train_step_ms.toFixed(1)} ms`);
    log(`  default recipe decode: our kernels ${d.ours.decode_tokens_per_s.toFixed(2)} tokens/s, plain tfjs-webgpu ${d.plain.decode_tokens_per_s.toFixed(2)} tokens/s`);
    if (values.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    else {
      const r = report.ratios;
      log(`cross_attention_fused_speedup ${r.cross_attention_fused_speedup.toFixed(2)}×, cross_attention_bias_fused_speedup ${r.cross_attention_bias_fused_speedup.toFixed(2)}×, linear_fused_speedup ${r.linear_fused_speedup.toFixed(2)}×, webgpu_vs_wasm_train_step ${r.webgpu_vs_wasm_train_step.toFixed(3)}×, default_recipe_train_step_ours_vs_plain ${r.default_recipe_train_step_ours_vs_plain.toFixed(2)}×, default_recipe_decode_ours_vs_plain ${r.default_recipe_decode_ours_vs_plain.toFixed(2)}×`);
    }
  } finally {
    await browser.close();
    await server.close();
  }
}

main().catch((e) => {
  process.stderr.write(`bench:browser: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});

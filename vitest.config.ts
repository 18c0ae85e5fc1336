import { defineConfig } from 'vitest/config';
import { playwright } from '@vitest/browser-playwright';

// How Debian's Chromium is launched for WebGPU on SwiftShader (docs/design.md § Tests); scripts/bench-browser.ts
// launches it the same way. Only --enable-unsafe-webgpu is needed for an adapter here (without it
// requestAdapter() gives null); the SwiftShader flags pin the software adapter where a real GPU
// exists too, so that figures stay comparable.
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--enable-unsafe-webgpu',
  '--no-sandbox',
  '--headless=new',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--enable-features=Vulkan',
  '--use-angle=swiftshader',
  '--use-webgpu-adapter=swiftshader',
];

/** COOP/COEP: cross-origin isolation, which WASM threads need (docs/design.md § Tests). */
export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['tests/unit/**/*.test.ts', 'tests/unit/**/*.test.tsx'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 120_000,
          pool: 'forks',
        },
      },
      {
        // WGSL kernels against their references in Debian's Chromium, WebGPU on SwiftShader (docs/design.md § Tests).
        server: { headers: ISOLATION_HEADERS },
        test: {
          name: 'browser',
          include: ['tests/browser/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
          browser: {
            enabled: true,
            headless: true,
            screenshotFailures: false, // the pages have no UI; a screenshot shows nothing
            provider: playwright({
              launchOptions: { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS },
            }),
            instances: [{ browser: 'chromium' }],
          },
        },
      },
      {
        // The built app in Debian's Chromium (docs/design.md § Tests); globalSetup builds dist/ and serves it once.
        test: {
          name: 'e2e',
          include: ['tests/e2e/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['tests/e2e/helpers/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 300_000,
          pool: 'forks',
        },
      },
    ],
  },
});

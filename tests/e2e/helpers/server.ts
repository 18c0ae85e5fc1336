// Builds the app and serves dist/ with Vite's preview server (the same COOP/COEP headers
// as `npm run preview`, from vite.config.ts), on a free port of 127.0.0.1.
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build, preview, type PreviewServer } from 'vite';

export const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** The production build, as `npm run build` makes it. */
export async function buildApp(): Promise<void> {
  // Vitest sets NODE_ENV=test, and Vite keeps a NODE_ENV it finds: the bundle would then carry
  // React's development build (bigger, slower, other warnings) instead of what people get.
  const before = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({ root: ROOT, configFile: `${ROOT}/vite.config.ts`, mode: 'production', logLevel: 'warn', build: { outDir: 'dist', emptyOutDir: true } });
  } finally {
    process.env.NODE_ENV = before;
  }
}

export interface RunningServer {
  /** Ends with '/'. */
  url: string;
  close(): Promise<void>;
}

export async function startPreview(): Promise<RunningServer> {
  const port = await freePort();
  const server: PreviewServer = await preview({
    root: ROOT,
    configFile: `${ROOT}/vite.config.ts`,
    logLevel: 'warn',
    preview: { host: '127.0.0.1', port, strictPort: true, open: false },
  });
  return { url: `http://127.0.0.1:${port}/`, close: () => server.close() };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => (port ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

// Builds the app and serves dist/ with Vite's preview server (the same COOP/COEP headers
// as `npm run preview`, from vite.config.ts), on a free port of 127.0.0.1; and runs
// `npm run dev` itself, the README's first command, for the tests of the dev server.
import { spawn } from 'node:child_process';
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

/**
 * `npm run dev` as a person runs it from a fresh clone: its own process, no cached dependency
 * optimisation (`--force`, as node_modules/.vite is absent there), none of Vitest's environment.
 */
export async function startDevServer(): Promise<RunningServer> {
  const port = await freePort();
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_ENV' && !k.startsWith('VITEST')));
  const child = spawn('npm', ['run', 'dev', '--', '--host', '127.0.0.1', '--port', String(port), '--strictPort', '--force'], {
    cwd: ROOT,
    env,
    detached: true, // its own process group: npm, the shell and vite stop together
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = `http://127.0.0.1:${port}/`;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm run dev did not start in 60 s:\n${output}`)), 60_000);
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      // eslint-disable-next-line no-control-regex
      if (output.replace(/\x1b\[[0-9;]*m/g, '').includes(url)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`npm run dev exited (${code}):\n${output}`));
    });
  });
  return {
    url,
    close: async () => {
      if (child.exitCode !== null || child.pid === undefined) return;
      const exited = new Promise((r) => child.once('exit', r));
      process.kill(-child.pid, 'SIGTERM');
      await exited;
    },
  };
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

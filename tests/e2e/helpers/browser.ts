// Debian's Chromium driven by playwright-core (never `playwright install`; docs/design.md § Tests).
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  // Playwright gives every launch() a fresh temporary profile (user-data-dir).
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--headless=new',
      '--no-sandbox', // CI runs as root
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--enable-unsafe-webgpu', // keeps navigator.gpu (SwiftShader) for later WebGPU paths
    ],
  });
}

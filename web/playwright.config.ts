import { defineConfig } from '@playwright/test';

declare const process: { env: Record<string, string | undefined>; getuid?: () => number };

// Debian's Chromium (apt-get install chromium), never a downloaded browser: @playwright/test is
// pinned to the release whose bundled Chromium matches Debian's (156).
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';

export default defineConfig({
  testDir: './e2e',
  timeout: 90_000,
  expect: { timeout: 20_000 },
  workers: 1,
  retries: 0,
  reporter: [['list']],
  outputDir: 'test-results',
  use: {
    baseURL: process.env.E2E_BASE_URL ?? 'http://127.0.0.1:8000',
    browserName: 'chromium',
    headless: true,
    viewport: { width: 1280, height: 900 },
    trace: 'off',
    launchOptions: {
      executablePath,
      // Chromium's sandbox needs user namespaces a container running as root does not give.
      args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
    },
  },
});

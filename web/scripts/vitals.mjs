// First paint and interactivity of the web app's first page, in Debian's Chromium:
// `node scripts/vitals.mjs <base url>` prints one JSON line per profile (bench/web.py runs it).
//
// Profiles: "mobile" is Lighthouse's default mobile throttling (4x CPU slowdown, 150 ms RTT,
// 1.6 Mbit/s down, 750 kbit/s up), "desktop" no throttling. Each loads the page with an empty
// cache. FCP is the browser's own first-contentful-paint entry. TTI is approximated with
// Lighthouse's rule without its network-quiet condition: the end of the last long task (> 50 ms)
// before a 5 s window without one, and never before DOMContentLoaded or FCP.
import { chromium } from '@playwright/test';

const base = process.argv[2] ?? 'http://127.0.0.1:8000';
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const QUIET_MS = 5000;
const PROFILES = {
  mobile: { cpu: 4, latency: 150, down: (1.6 * 1024 * 1024) / 8, up: (750 * 1024) / 8 },
  desktop: { cpu: 1, latency: 0, down: -1, up: -1 },
};

const browser = await chromium.launch({
  executablePath,
  args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
});
try {
  for (const [name, p] of Object.entries(PROFILES)) {
    const context = await browser.newContext({ viewport: { width: 412, height: 823 } });
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: p.cpu });
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: p.latency,
      downloadThroughput: p.down,
      uploadThroughput: p.up,
    });
    await page.addInitScript(() => {
      window.__longTasks = [];
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) window.__longTasks.push(e.startTime + e.duration);
      }).observe({ type: 'longtask', buffered: true });
    });
    await page.goto(base + '/', { waitUntil: 'load' });
    await page.waitForTimeout(QUIET_MS);
    const result = await page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0];
      const fcp = performance.getEntriesByName('first-contentful-paint')[0];
      const fcpMs = fcp ? fcp.startTime : null;
      const lastLong = Math.max(0, ...window.__longTasks);
      const tti = Math.max(nav.domContentLoadedEventEnd, fcpMs ?? 0, lastLong);
      // Bytes over the wire (compressed), the document and everything it loaded.
      const resources = performance.getEntriesByType('resource');
      const bytes = [nav, ...resources].reduce((sum, e) => sum + (e.transferSize ?? 0), 0);
      return {
        fcp_ms: fcpMs,
        tti_ms: tti,
        load_ms: nav.loadEventEnd,
        long_tasks: window.__longTasks.length,
        bytes,
      };
    });
    console.log(JSON.stringify({ profile: name, ...result }));
    await context.close();
  }
} finally {
  await browser.close();
}

// The orders list with every trade loaded, scrolled top to bottom in Debian's Chromium:
// `node scripts/scroll.mjs <base url> <email> <password>` prints one JSON line (bench/web.py).
// Long tasks (> 50 ms, the browser's own longtask entries) are counted while it scrolls only.
import { chromium } from '@playwright/test';

const [base = 'http://127.0.0.1:8000', email, password] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const STEPS = 200;

const browser = await chromium.launch({ executablePath, args: process.getuid?.() === 0 ? ['--no-sandbox'] : [] });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.addInitScript(() => {
    window.__longTasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__longTasks.push(e.duration);
    }).observe({ type: 'longtask', buffered: true });
  });
  await page.goto(base + '/');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('link', { name: 'Orders' }).click();
  const list = page.getByRole('listbox', { name: 'Trades' });
  await list.waitFor();
  const more = page.getByRole('button', { name: 'Load more' });
  let pages = 1;
  while (await more.isVisible()) {
    await more.click();
    await page.waitForFunction(() => !document.querySelector('button[disabled]'), null, { timeout: 30_000 }).catch(() => {});
    await page.waitForTimeout(20);
    pages += 1;
    if (pages > 1000) break;
  }
  const result = await page.evaluate(async (steps) => {
    const scroller = document.querySelector('[role="listbox"][aria-label="Trades"]');
    const rows = scroller.querySelectorAll('[role="option"]').length;
    const before = window.__longTasks.length;
    const frames = [];
    let last = performance.now();
    const end = scroller.scrollHeight - scroller.clientHeight;
    for (let i = 1; i <= steps; i += 1) {
      scroller.scrollTop = (end * i) / steps;
      await new Promise((resolve) => requestAnimationFrame(resolve));
      const now = performance.now();
      frames.push(now - last);
      last = now;
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    const during = window.__longTasks.slice(before);
    frames.sort((a, b) => a - b);
    return {
      scroll_height_px: scroller.scrollHeight,
      rows_in_dom: rows,
      long_tasks: during.length,
      longest_task_ms: during.length ? Math.max(...during) : 0,
      frame_p50_ms: frames[Math.floor(frames.length / 2)],
      frame_max_ms: frames[frames.length - 1],
    };
  }, STEPS);
  const loaded = await page.evaluate(() => document.querySelector('[role="listbox"][aria-label="Trades"] .virtual-rows')?.style.height);
  console.log(JSON.stringify({ pages, rows_height: loaded, ...result }));
} finally {
  await browser.close();
}

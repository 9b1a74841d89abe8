#!/usr/bin/env node
// bench/render.sh's browser part: loads PAGE (sb-render --html) in Debian's chromium through
// playwright-core, next to a bare page as the baseline, RUNS times each; prints
// "name best_ms median_ms" lines: a bare page's load, the page's load (its first board drawn
// by its script), and one skill click (a board decoded and drawn), on the page's own clock.
// Usage: node bench/render-page.mjs PAGE BARE [RUNS]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const [pageFile, bareFile, runsArg = '5'] = process.argv.slice(2);
const RUNS = Number(runsArg);
const dir = mkdtempSync(path.join(tmpdir(), 'sb-render-bench-'));
const context = await chromium.launchPersistentContext(dir, {
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1280, height: 900 },
  timeout: 120_000,
});
const page = context.pages()[0] ?? (await context.newPage());
page.setDefaultTimeout(120_000);

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return `${s[0].toFixed(1)} ${s[Math.floor(s.length / 2)].toFixed(1)}`;
};
// The page's own clock: navigation start to the end of its load event (an inline script has
// run and drawn by then), so playwright's round trips are not counted.
async function load(file) {
  await page.goto(`file://${file}`, { waitUntil: 'load' });
  return page.evaluate(() => performance.getEntriesByType('navigation')[0].loadEventEnd);
}

const bare = [];
const full = [];
const click = [];
for (let i = 0; i < RUNS; i++) {
  bare.push(await load(bareFile));
  full.push(await load(pageFile));
  // A click's handler decodes the board and draws it before it returns.
  click.push(
    await page.evaluate(() => {
      const t0 = performance.now();
      document.querySelector('#skills a[data-skill="jobs"]').click();
      if (!/Finished jobs/.test(document.getElementById('board-title').textContent)) throw new Error('the click drew nothing');
      return performance.now() - t0;
    }),
  );
}
console.log(`bare ${stats(bare)}`);
console.log(`page ${stats(full)}`);
console.log(`click ${stats(click)}`);
await context.close();
rmSync(dir, { recursive: true, force: true });

// Writes test/cases/render/store: the store sb-render's golden cases and screen tests read.
// Two clusters, six months of rollups (as sb-reduce writes them, with its own writers) for 60
// users, among them names that are hard to show (wide, emoji, ZWJ, flags, markup, control
// characters); then the leaderboards, by the real sb-rank --write.
//   make build && node test/cases/render/make-store.mjs   (then review the golden files' diffs)
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatDaily, formatPeriod } from '../../../dist/core/store/rollup-files.js';
import { addTotals, zeroTotals } from '../../../dist/core/scores/metrics.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, 'store');
const NOW = '2026-11-20T12:00:00Z';
const ASOF = '2026-11-20T12:00:00Z';
const HOUR = 3600;
const GIB = 2n ** 30n;

export const SPECIAL = [
  '王小明',
  '🦊fox',
  '👩‍🔬sci',
  '🇯🇵taro',
  '<img src=x onerror=alert(1)>',
  '</script><script>alert(2)</script>',
  'evil\u001b[31mred',
  'rtl\u202eevil',
  'averyveryveryverylongusernamethatgoesonandon',
  'zoë',
  'Ünal',
  'bob',
];
const users = [...SPECIAL, ...Array.from({ length: 48 }, (_, i) => `user${String(i + 1).padStart(2, '0')}`)];

// mulberry32
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const months = ['2026-06', '2026-07', '2026-08', '2026-09', '2026-10', '2026-11'];
const clusters = ['anvil', 'hammer'];
rmSync(root, { recursive: true, force: true });
clusters.forEach((cluster, ci) => {
  const rand = prng(42 + ci);
  const dir = path.join(root, 'clusters', cluster, 'agg', 'rollups');
  for (const sub of ['monthly', 'daily', 'yearly']) mkdirSync(path.join(dir, sub), { recursive: true });
  const year = new Map();
  for (const month of months) {
    const last = month === '2026-11' ? 20 : new Date(Date.UTC(2026, Number(month.slice(5)), 0)).getUTCDate();
    const bins = new Map();
    users.forEach((u, ui) => {
      // Heavier the earlier in the list; the special names spread over the board.
      const weight = 1 + (users.length - ui) * (0.6 + rand());
      for (let d = 1; d <= last; d += 1 + Math.floor(rand() * 4)) {
        if (rand() < 0.35) continue;
        const jobs = 1 + Math.floor(rand() * 6);
        const cpus = 1 + Math.floor(rand() * 16);
        const secs = Math.round(weight * (600 + rand() * 3 * HOUR));
        const gpus = ui % 3 === 0 ? 1 + Math.floor(rand() * 4) : 0;
        const t = zeroTotals();
        t.jobs = jobs;
        t.failed_jobs = rand() < 0.2 ? 1 : 0;
        t.gpu_jobs = gpus > 0 ? jobs : 0;
        t.elapsed_s = secs * jobs;
        t.cpu_s = secs * jobs * cpus;
        t.gpu_s = secs * jobs * gpus;
        t.gpu_elapsed_s = gpus > 0 ? secs * jobs : 0;
        t.mem_req_byte_s = BigInt(secs * jobs * cpus) * 4n * GIB;
        t.mem_used_byte_s = BigInt(secs * jobs * cpus) * GIB;
        let days = bins.get(u);
        if (days === undefined) bins.set(u, (days = new Map()));
        days.set(String(d).padStart(2, '0'), t);
      }
    });
    const monthTotals = new Map();
    for (const [u, days] of bins) {
      const t = zeroTotals();
      for (const x of days.values()) addTotals(t, x);
      monthTotals.set(u, t);
      let y = year.get(u);
      if (y === undefined) year.set(u, (y = zeroTotals()));
      addTotals(y, t);
    }
    // Daily bins only where sb-rank reads them (the edges of rolling-30d), to keep the fixture small.
    if (month >= '2026-10') writeFileSync(path.join(dir, 'daily', `${month}.json`), formatDaily(cluster, month, bins));
    writeFileSync(path.join(dir, 'monthly', `${month}.json`), formatPeriod(cluster, 'month', month, ASOF, monthTotals));
  }
  writeFileSync(path.join(dir, 'yearly', '2026.json'), formatPeriod(cluster, 'year', '2026', ASOF, year));
});
execFileSync(process.execPath, [path.join(here, '..', '..', '..', 'bin', 'sb-rank'), '--root', root, '--now', NOW, '--write'], {
  env: { ...process.env, TZ: 'UTC', SB_HOME_ROOT: path.join(root, 'no-homes'), NODE_OPTIONS: '' },
  stdio: ['ignore', 'ignore', 'inherit'],
});
console.error(`wrote ${root}`);

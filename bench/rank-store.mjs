#!/usr/bin/env node
// Writes a synthetic store for bench/rank.sh in the format of docs/store.md: per cluster,
// monthly, daily and yearly rollups for YEARS years ending at NOW's day, USERS users each.
// Usage: node bench/rank-store.mjs ROOT [CLUSTERS] [YEARS] [USERS] [NOW]
// Deterministic: the same arguments give the same bytes.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const [root, nClusters = '5', nYears = '10', nUsers = '2000', nowArg = '2025-06-15T12:00:00Z'] = process.argv.slice(2);
if (!root) {
  console.error('usage: rank-store.mjs ROOT [CLUSTERS] [YEARS] [USERS] [NOW]');
  process.exit(2);
}
const CLUSTERS = Number(nClusters);
const YEARS = Number(nYears);
const USERS = Number(nUsers);
const now = new Date(nowArg);
const GIB = 2 ** 30;

// mulberry32: a small seeded PRNG.
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

// Heavy users run most days, medium ones some days of most months, light ones rarely.
const CLASSES = [
  { share: 0.05, activeMonth: 0.95, days: 22, coreHoursDay: 1400, gpu: 0.5 },
  { share: 0.3, activeMonth: 0.6, days: 8, coreHoursDay: 120, gpu: 0.3 },
  { share: 0.65, activeMonth: 0.2, days: 2, coreHoursDay: 15, gpu: 0.1 },
];

const zero = () => ({ jobs: 0, failed_jobs: 0, gpu_jobs: 0, cpu_s: 0, elapsed_s: 0, gpu_s: 0, gpu_elapsed_s: 0, mem_req_byte_s: 0n, mem_used_byte_s: 0n });
function add(a, b) {
  for (const k of Object.keys(a)) a[k] += b[k];
}
const json = (t) => ({ ...t, mem_req_byte_s: t.mem_req_byte_s.toString(), mem_used_byte_s: t.mem_used_byte_s.toString() });
const r6 = (v) => Math.round(v * 1e6) / 1e6;
function gibHours(b) {
  const h = BigInt(GIB) * 3600n;
  return Number(b / h) + Number(b % h) / Number(h);
}
function row(username, t) {
  const ch = r6(t.cpu_s / 3600), eh = r6(t.elapsed_s / 3600), gh = r6(t.gpu_s / 3600), geh = r6(t.gpu_elapsed_s / 3600);
  return {
    username, total_clock_hours: ch, total_elapsed_hours: eh, total_gpu_clock_hours: gh, gpu_elapsed_hours: geh,
    count_gpu_jobs: t.gpu_jobs, count_failed_jobs: t.failed_jobs, clock_hours: ch, elapsed_hours: eh, gpu_clock_hours: gh,
    jobs: t.jobs, gpu_jobs: t.gpu_jobs, failed_jobs: t.failed_jobs,
    mem_req_gb_hours: r6(gibHours(t.mem_req_byte_s)), mem_used_gb_hours: r6(gibHours(t.mem_used_byte_s)), totals: json(t),
  };
}
const users = (m) => [...m.keys()].sort().map((u) => row(u, m.get(u)));

const pad = (n, w = 2) => String(n).padStart(w, '0');
const lastMonth = { y: now.getUTCFullYear(), m: now.getUTCMonth() + 1 };
const months = [];
for (let i = YEARS * 12 - 1; i >= 0; i--) {
  const d = new Date(Date.UTC(lastMonth.y, lastMonth.m - 1 - i, 1));
  months.push({ y: d.getUTCFullYear(), m: d.getUTCMonth() + 1 });
}
const asof = now.toISOString().slice(0, 19) + 'Z';
let files = 0;
let bytes = 0;
function write(file, doc) {
  const text = JSON.stringify(doc);
  writeFileSync(file, text);
  files++;
  bytes += text.length;
}

for (let c = 0; c < CLUSTERS; c++) {
  const cluster = `cluster${c + 1}`;
  const dir = path.join(root, 'clusters', cluster, 'agg', 'rollups');
  for (const sub of ['monthly', 'daily', 'yearly']) mkdirSync(path.join(dir, sub), { recursive: true });
  const rand = prng(1000 + c);
  // Each cluster has USERS users out of a pool a quarter larger, so clusters overlap in part.
  const pool = Math.round(USERS * 1.25);
  const offset = Math.floor((c * pool) / (CLUSTERS * 4));
  const people = Array.from({ length: USERS }, (_, i) => {
    const x = rand();
    const cls = x < CLASSES[0].share ? CLASSES[0] : x < CLASSES[0].share + CLASSES[1].share ? CLASSES[1] : CLASSES[2];
    return { name: `user${pad((i + offset) % pool, 5)}`, cls, scale: 0.3 + rand() * 1.4 };
  });
  let yearly = new Map();
  months.forEach(({ y, m }, mi) => {
    const month = `${y}-${pad(m)}`;
    const daysIn = new Date(Date.UTC(y, m, 0)).getUTCDate();
    const lastDay = y === now.getUTCFullYear() && m === now.getUTCMonth() + 1 ? now.getUTCDate() : daysIn;
    const monthly = new Map();
    const daily = {};
    for (const p of people) {
      if (rand() > p.cls.activeMonth) continue;
      const k = Math.max(1, Math.min(lastDay, Math.round(p.cls.days * (0.5 + rand()))));
      const days = new Set();
      while (days.size < k) days.add(1 + Math.floor(rand() * lastDay));
      const mt = zero();
      const bins = {};
      for (const d of [...days].sort((a, b) => a - b)) {
        const coreH = p.cls.coreHoursDay * p.scale * (0.2 + rand() * 1.6);
        const jobs = 1 + Math.floor(rand() * 30 * p.scale);
        const cpus = 1 + Math.floor(rand() * 32);
        const cpu_s = Math.round(coreH * 3600);
        const elapsed_s = Math.round(cpu_s / cpus);
        const gpu = rand() < p.cls.gpu;
        const gpus = gpu ? 1 + Math.floor(rand() * 4) : 0;
        const t = {
          jobs, failed_jobs: Math.floor(jobs * rand() * 0.2), gpu_jobs: gpu ? Math.max(1, Math.floor(jobs * rand())) : 0,
          cpu_s, elapsed_s, gpu_s: gpus * elapsed_s, gpu_elapsed_s: gpu ? elapsed_s : 0,
          mem_req_byte_s: BigInt(cpu_s) * BigInt(4 * GIB), mem_used_byte_s: BigInt(cpu_s) * BigInt(Math.floor(rand() * 4 * GIB)),
        };
        bins[pad(d)] = json(t);
        add(mt, t);
      }
      daily[p.name] = bins;
      monthly.set(p.name, mt);
      const yt = yearly.get(p.name) ?? yearly.set(p.name, zero()).get(p.name);
      add(yt, mt);
    }
    const sorted = Object.fromEntries(Object.keys(daily).sort().map((u) => [u, daily[u]]));
    write(path.join(dir, 'daily', `${month}.json`), { cluster, month, schema_version: 2, users: sorted });
    write(path.join(dir, 'monthly', `${month}.json`), { asof, cluster, month, schema_version: 2, users: users(monthly) });
    if (m === 12 || mi === months.length - 1) {
      write(path.join(dir, 'yearly', `${y}.json`), { asof, cluster, year: String(y), schema_version: 2, users: users(yearly) });
      yearly = new Map();
    }
  });
}
console.error(`rank-store: ${files} files, ${(bytes / 1e6).toFixed(0)} MB under ${root}`);

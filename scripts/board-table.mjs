// rank records on stdin → OSRS-hiscore-style tables (Rank, Name, Level, XP, value); a stopgap
// until sb-render exists.
import { createInterface } from 'node:readline';

const boards = new Map();
for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const r = JSON.parse(line);
  if (r.kind !== 'rank') continue;
  const key = `${r.window} · ${r.metric} · ${r.cluster}`;
  if (!boards.has(key)) boards.set(key, []);
  boards.get(key).push(r);
}
const fmt = (n) => (Number.isInteger(n) ? n.toLocaleString('en-US') : n.toLocaleString('en-US', { maximumFractionDigits: 1 }));
for (const [title, rows] of boards) {
  console.log(`\n  ${title}`);
  console.log(`  ${'Rank'.padStart(4)}  ${'Name'.padEnd(12)} ${'Level'.padStart(5)} ${'XP'.padStart(13)} ${'Value'.padStart(14)}`);
  for (const r of rows) {
    console.log(`  ${String(r.rank).padStart(4)}  ${r.user.padEnd(12)} ${String(r.level).padStart(5)} ${fmt(r.xp).padStart(13)} ${fmt(r.value).padStart(14)}`);
  }
}

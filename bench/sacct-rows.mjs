#!/usr/bin/env node
// sacct-rows.mjs CLUSTER < sacct.txt > rows.ndjson
// Turns headerless `sacct -p --delimiter=$'\x1f' -o <sb-sacct's fields>` text into sb-sacct's
// `row` records, with a `chunk-done` record after every window of 1000 jobs (as sb-sacct
// prints them), so bench/parse.sh can time sb-parse on its NDJSON input without a cluster.
import { createInterface } from 'node:readline';

const FIELDS = ['DBIndex', 'JobID', 'JobIDRaw', 'Cluster', 'User', 'UID', 'Account', 'Partition', 'QOS', 'State', 'ExitCode',
  'Submit', 'Start', 'End', 'ElapsedRaw', 'Timelimit', 'AllocCPUS', 'NNodes', 'ReqMem', 'MaxRSS', 'AllocTRES'];
const KEYS = FIELDS.map((f) => JSON.stringify(f) + ':');
const cluster = process.argv[2] ?? 'demo';
let window = 0;
let jobs = 0;
let rows = 0;
let out = [];
const chunk = () => `2024-01-01T00:00:00Z/window-${window}`;
let prefix = `{"kind":"row","cluster":${JSON.stringify(cluster)},"chunk":${JSON.stringify(chunk())},"f":{`;
const done = () => `{"kind":"chunk-done","cluster":${JSON.stringify(cluster)},"start":"2024-01-01T00:00:00Z","end":"window-${window}","rows":${rows},"settled":true}`;
const flush = () => {
  if (out.length > 0 && !process.stdout.write(out.join('\n') + '\n')) rl.pause();
  out = [];
};
const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
process.stdout.on('drain', () => rl.resume());
rl.on('line', (line) => {
  const parts = line.split('\x1f');
  if (parts[2] !== undefined && !parts[2].includes('.')) {
    if (jobs > 0 && jobs % 1000 === 0) {
      out.push(done());
      window++;
      rows = 0;
      prefix = `{"kind":"row","cluster":${JSON.stringify(cluster)},"chunk":${JSON.stringify(chunk())},"f":{`;
    }
    jobs++;
  }
  let s = prefix;
  for (let i = 0; i < FIELDS.length; i++) s += (i > 0 ? ',' : '') + KEYS[i] + JSON.stringify(parts[i] ?? '');
  out.push(s + '}}');
  rows++;
  if (out.length >= 2000) flush();
});
rl.on('close', () => {
  if (jobs > 0) out.push(done());
  flush();
});

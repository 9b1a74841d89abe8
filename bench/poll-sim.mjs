// Polls of the synthetic cluster over simulated hours, the clock moved with libfaketime, and what
// they asked of slurmdbd: every sacct call's arguments and answer are kept (a stand-in in front of
// sim/sacct), then counted per poll and per finished job, and the store's totals are compared
// with the cluster's truth. Prints one JSON object. Used by bench/poll.sh and test/poll-polite.test.ts.
//
// node bench/poll-sim.mjs --dir DIR [--hours H] [--every MIN] [--pollers N] [--outage FROM-TO]
//   [--mode pipeline|poll] [--bin DIR] [--late SEC] [--start ISO]
//   --dir DIR       scratch directory (the store is DIR/store)
//   --hours H       hours of polling (default 4); then polls go on, up to the end, until it settles
//   --every MIN     minutes between polls (default 10)
//   --pollers N     polls started at the same time each tick (default 1)
//   --outage A-B    no polls from minute A to minute B of the run
//   --mode          pipeline: the README's sb-chunk todo | sb-sacct | sb-parse | sb-dedupe | sb-reduce
//                   (what each window kept is counted too); poll: sb-poll (default pipeline)
//   --bin DIR       the programs (default: this checkout's bin/)
//   --late SEC      SB_SIM_LATE: records reach slurmdbd up to SEC after their end (default 300)
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const o = { hours: 4, every: 10, pollers: 1, mode: 'pipeline', bin: path.join(HERE, 'bin'), late: 300, start: '2024-01-10T00:00:00Z' };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) o[argv[i].replace(/^--/, '')] = argv[i + 1];
if (!o.dir) throw new Error('give --dir DIR');
const hours = Number(o.hours);
const every = Number(o.every) * 60;
const pollers = Number(o.pollers);
const [outFrom, outTo] = o.outage ? o.outage.split('-').map((m) => Number(m) * 60) : [Infinity, -Infinity];
const T0 = Date.parse(o.start) / 1000;
const T1 = T0 + hours * 3600;
const SINCE = T0 - 3600;
const CLUSTER = 'demo';
const SETTLE = 900;
const SLACK = 900;
const iso = (sec) => new Date(sec * 1000).toISOString().replace('.000', '');
const root = path.join(o.dir, 'store');
const calls = path.join(o.dir, 'calls');
mkdirSync(calls, { recursive: true });
mkdirSync(root, { recursive: true });

// The stand-in: sim/sacct, its arguments and answer kept per call (named by tick and pid).
const wrap = path.join(o.dir, 'sacct');
writeFileSync(wrap, `#!/bin/sh
d="$SB_POLLSIM_CALLS/$SB_POLLSIM_TAG.$$"
printf '%s\\n' "$@" > "$d.argv"
"$SB_POLLSIM_SIM" "$@" > "$d.out"; s=$?
cat "$d.out"; exit $s
`);
chmodSync(wrap, 0o755);

const env = {
  ...process.env,
  TZ: 'UTC',
  PATH: `${o.bin}:${process.env.PATH}`,
  XDG_RUNTIME_DIR: o.dir,
  SB_POLLSIM_CALLS: calls,
  SB_POLLSIM_SIM: path.join(HERE, 'sim', 'sacct'),
  // a window without jobs makes sb-sacct ask whether the cluster exists: the synthetic one's
  SB_SACCTMGR: path.join(HERE, 'sim', 'sacctmgr'),
  SB_SIM_LATE: String(o.late),
};
delete env.SB_SIM_NOW;
delete env.NODE_OPTIONS;
delete env.SACCT_FORMAT;
delete env.SLURM_TIME_FORMAT;

function run(tag, tick, k) {
  const until = iso(Math.min(tick, T1));
  const range = `-s ${iso(SINCE)} -e ${until}`;
  const cmd =
    o.mode === 'poll'
      ? `sb-poll -c ${CLUSTER} --root '${root}' --sacct '${wrap}' --rate 0 --retries 0 ${range} --step 1`
      : `sb-chunk todo -c ${CLUSTER} --root '${root}' ${range} --step 1 | sb-sacct --root '${root}' --sacct '${wrap}' --rate 0 --retries 0 | tee -a '${path.join(o.dir, `kept.${k}.ndjson`)}' | sb-parse | sb-dedupe --root '${root}' | sb-reduce --root '${root}' --wait 120 > /dev/null`;
  const faked = new Date(tick * 1000).toISOString().slice(0, 19).replace('T', ' ');
  return new Promise((resolve) => {
    const child = spawn('faketime', ['-f', `@${faked}`, 'bash', '-o', 'pipefail', '-c', cmd], { env: { ...env, SB_POLLSIM_TAG: tag }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b) => (err += b));
    child.on('close', (status) => resolve({ status, err }));
  });
}

// Ticks every --every from T0 + every until everything up to T1 has settled: its last tile asks
// up to a slack past T1, once that can settle (T1 + settle + 2 slacks; sb-chunk todo).
const ticks = [];
for (let t = T0 + every; t <= T1 + SETTLE + 2 * SLACK + Number(o.late) + every; t += every) if (!(t - T0 >= outFrom && t - T0 <= outTo)) ticks.push(t);
const statuses = [];
for (let i = 0; i < ticks.length; i++) {
  const tag = String(i).padStart(4, '0');
  const rs = await Promise.all(Array.from({ length: pollers }, (_, k) => run(tag, ticks[i], k)));
  for (const r of rs) statuses.push(r.status);
  const bad = rs.find((r) => r.status !== 0 && r.status !== 3);
  if (bad) {
    process.stdout.write(JSON.stringify({ error: `tick ${i} (${iso(ticks[i])}): exit ${bad.status}: ${bad.err}` }) + '\n');
    process.exit(1);
  }
}

// Every sacct call: its poll, its rows, the job records in it (a job line's JobIDRaw has no dot).
// A window's query (-S/-E) and the query by job id (-j) sb-sacct makes after it for the steps of
// the window's jobs that started before its -S are counted apart.
const perPoll = new Map();
const stepsPerPoll = new Map();
const seen = new Map();
const seenSteps = new Map();
let rows = 0;
let stepRows = 0;
let callCount = 0;
let stepCallCount = 0;
for (const f of readdirSync(calls).filter((n) => n.endsWith('.out'))) {
  const argv = readFileSync(path.join(calls, f.replace(/\.out$/, '.argv')), 'utf8').split('\n');
  const byId = argv.includes('-j');
  // a query by job id shows every task of an array asked for by the array's id: what was asked
  // for is the ids given
  const asked = byId ? new Set(argv[argv.indexOf('-j') + 1].split(',')) : undefined;
  const tag = f.split('.')[0];
  const counts = byId ? stepsPerPoll : perPoll;
  const where = byId ? seenSteps : seen;
  if (byId) stepCallCount++;
  else callCount++;
  counts.set(tag, (counts.get(tag) ?? 0) + 1);
  const jobs = new Set();
  for (const line of readFileSync(path.join(calls, f), 'utf8').split('\n')) {
    if (line === '') continue;
    if (byId) stepRows++;
    else rows++;
    const v = line.split('\x1f');
    if (!v[2].includes('.') && (asked === undefined || asked.has(v[2]))) jobs.add(`${v[0]}/${v[2]}`);
  }
  for (const j of jobs) where.set(j, (where.get(j) ?? 0) + 1);
}
for (let i = 0; i < ticks.length; i++) {
  const tag = String(i).padStart(4, '0');
  perPoll.set(tag, perPoll.get(tag) ?? 0);
  stepsPerPoll.set(tag, stepsPerPoll.get(tag) ?? 0);
}

// What each window kept (pipeline mode): the windows a job record was handed down in.
const kept = new Map();
for (let k = 0; k < pollers; k++) {
  const file = path.join(o.dir, `kept.${k}.ndjson`);
  if (!existsSync(file)) continue;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.startsWith('{"kind":"rows"')) continue;
    const rec = JSON.parse(line);
    for (const l of rec.lines) {
      const v = l.split(rec.delimiter);
      if (v[2].includes('.')) continue;
      const key = `${v[0]}/${v[2]}`;
      kept.set(key, (kept.get(key) ?? 0) + 1);
    }
  }
}

// The truth of [SINCE, T1] and the store's totals of it, user by user.
const simEnv = { ...env, SB_SIM_NOW: iso(T1 + 86400) };
const sim = (args) => spawnSync(path.join(HERE, 'sim', 'sacct'), args, { env: simEnv, encoding: 'utf8', maxBuffer: 1 << 28 }).stdout;
const S = iso(SINCE).slice(0, 19);
const E = iso(T1).slice(0, 19);
const truthJobs = sim(['--sim-truth-jobs', '-S', S, '-E', E, '-M', CLUSTER]).split('\n').filter(Boolean).map((l) => JSON.parse(l));
const names = { jobs: 'jobs', failed_jobs: 'failed_jobs', gpu_jobs: 'gpu_jobs', cpu_seconds: 'cpu_s', elapsed_seconds: 'elapsed_s', gpu_seconds: 'gpu_s', gpu_elapsed_seconds: 'gpu_elapsed_s', mem_req_byte_seconds: 'mem_req_byte_s', mem_used_byte_seconds: 'mem_used_byte_s' };
const truth = new Map(sim(['--sim-truth', '-S', S, '-E', E, '-M', CLUSTER]).split('\n').filter(Boolean).map((l) => JSON.parse(l)).map((u) => [u.user, u]));
const monthly = JSON.parse(readFileSync(path.join(root, 'clusters', CLUSTER, 'agg', 'rollups', 'monthly', `${o.start.slice(0, 7)}.json`), 'utf8'));
const got = new Map(monthly.users.map((u) => [u.username, u.totals]));
const diffs = [];
for (const u of new Set([...truth.keys(), ...got.keys()])) {
  for (const [from, to] of Object.entries(names)) {
    const w = truth.get(u)?.[from];
    const g = got.get(u)?.[to];
    if (String(w) !== String(g)) diffs.push(`${u} ${to}: store ${g}, truth ${w}`);
  }
}

// Fetches per finished job: the sacct answers its job line was in (0 for a job never shown).
const fetches = truthJobs.map((j) => seen.get(`${j.dbindex}/${j.jobidraw}`) ?? 0);
const stepFetches = truthJobs.map((j) => seenSteps.get(`${j.dbindex}/${j.jobidraw}`) ?? 0);
const keptOf = truthJobs.map((j) => kept.get(`${j.dbindex}/${j.jobidraw}`) ?? 0);
const polls = [...perPoll.values()];
const stepPolls = [...stepsPerPoll.values()];
const mean = (a) => (a.length === 0 ? 0 : a.reduce((x, y) => x + y, 0) / a.length);
const hist = (a) => a.reduce((h, x) => ((h[x] = (h[x] ?? 0) + 1), h), {});
process.stdout.write(
  JSON.stringify({
    jobs: truthJobs.length,
    ticks: ticks.length,
    runs: statuses.length,
    locked: statuses.filter((s) => s === 3).length,
    calls: callCount,
    calls_per_poll: { mean: mean(polls), max: Math.max(...polls) },
    fetches: { mean: mean(fetches), max: Math.max(...fetches), min: Math.min(...fetches), hist: hist(fetches) },
    step_calls: stepCallCount,
    step_calls_per_poll: { mean: mean(stepPolls), max: Math.max(...stepPolls) },
    step_fetches: { mean: mean(stepFetches), max: Math.max(...stepFetches) },
    step_rows_per_job: stepRows / Math.max(1, truthJobs.length),
    kept: o.mode === 'pipeline' ? { mean: mean(keptOf), max: Math.max(...keptOf), min: Math.min(...keptOf), hist: hist(keptOf) } : null,
    rows_per_job: rows / Math.max(1, truthJobs.length),
    exact: diffs.length === 0,
    diffs: diffs.slice(0, 10),
  }) + '\n',
);

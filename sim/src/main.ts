// The stand-in sacct: sacct's options and output, answered from the synthetic cluster.
import * as fs from 'node:fs';
import { buildCluster } from './cluster-model.js';
import { ConfigError, readConfig, type SimConfig } from './config.js';
import { chooseFault, FaultConfigError, FROZEN, hang, logLine, REFUSED, sleep, STREAM_DIED } from './faults.js';
import { Generator, HOUR, type Job } from './generate.js';
import { stateNumber } from './job-state.js';
import { Output, ReaderGone, writeAll } from './output.js';
import { getopt, UsageError } from './parse-args.js';
import { parseSlurmTime, TimeError } from './parse-time.js';
import { type Plan, Renderer } from './render.js';
import {
  BRIEF_FIELDS, DEFAULT_FIELDS, FieldError, FIELDS, header, Helpers, LONG_FIELDS, type Mode, resolveFields, Units,
} from './row-format.js';
import { LocalZone, makeTimeFormatter } from './time-format.js';
import { TruthTable, truthJobLine } from './truth.js';

export const USAGE = `sacct [<OPTION>]    (synthetic cluster: see docs/sim.md)
    Valid <OPTION> values are:
     -a, --allusers         all users (always the case here)
     -A, --accounts LIST    only these accounts
     -b, --brief            --format=jobstep,state,error
     -D, --duplicates       show every record of a job id (always the case here)
         --delimiter CHARS  field separator with -p/-P (default '|')
     -e, --helpformat       list the fields -o accepts
     -E, --endtime TIME     jobs ending before TIME (default now)
     -h, --help             this text
     -j, --jobs LIST        only these job ids
     -l, --long             a long field list
     -L, --allclusters      every cluster in SB_SIM_CLUSTERS
     -M, --clusters LIST    these clusters ('all' for every one)
     -n, --noheader         no header line
         --noconvert        print memory in its stored unit (bytes, MB)
     -o, --format LIST      fields to print (else SACCT_FORMAT, else a default)
     -p, --parsable         '|'-separated, with a '|' after the last field
     -P, --parsable2        '|'-separated, no trailing '|'
     -q, --qos LIST         only these QOS
     -r, --partition LIST   only these partitions
     -s, --state LIST       only jobs in these states (CD,F,CA,TO,OOM,NF,PR,BF,DL,RQ or names)
     -S, --starttime TIME   jobs ending after TIME (default midnight, or now with -s)
     -u, --user LIST        only these users (names or uids)
         --units=[KMGTP]    print memory in this unit
     -V, --version          print the version
     -X, --allocations      no step rows
         --sim-truth        NDJSON: true per-user totals for jobs ending in [-S, -E]
         --sim-truth-jobs   NDJSON: one line per job record ending in [-S, -E]
         --sim-truth-accounts  NDJSON: true totals per (account, user) for jobs ending in [-S, -E]
     Times: YYYY-MM-DD[THH:MM[:SS]], MM/DD[/YY][-HH:MM[:SS]], MMDD[YY], HH:MM[:SS],
            now[{+|-}N[seconds|minutes|hours|days|weeks]], today, midnight, noon, tomorrow
`;

interface Query {
  start: number | null;
  end: number | null;
  clusters: string[] | null;
  allClusters: boolean;
  states: boolean[] | null;
  fields: string;
  brief: boolean;
  long: boolean;
  mode: Mode;
  delimiter: string;
  noHeader: boolean;
  noSteps: boolean;
  noconvert: boolean;
  units: number;
  users: Set<string> | null;
  accounts: Set<string> | null;
  partitions: Set<string> | null;
  qos: Set<string> | null;
  jobs: Set<string> | null;
  help: string;
  truth: '' | 'totals' | 'jobs' | 'accounts';
  rest: string[];
}

function list(v: string): string[] {
  return v.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

function addAll(set: Set<string> | null, v: string, lower = false): Set<string> {
  const s = set ?? new Set<string>();
  for (const x of list(v)) s.add(lower ? x.toLowerCase() : x);
  return s;
}

class Exit extends Error {
  constructor(readonly code: number, readonly text = '') {
    super(text);
  }
}

function parseQuery(argv: readonly string[], zone: LocalZone, now: number): Query {
  const { opts, rest } = getopt(argv);
  const q: Query = {
    start: null, end: null, clusters: null, allClusters: false, states: null, fields: '', brief: false,
    long: false, mode: 'fixed', delimiter: '|', noHeader: false, noSteps: false, noconvert: false, units: -1,
    users: null, accounts: null, partitions: null, qos: null, jobs: null, help: '', truth: '', rest,
  };
  for (const [k, v] of opts) {
    switch (k) {
      case 'S':
        q.start = parseSlurmTime(v, zone, now);
        break;
      case 'E':
        q.end = parseSlurmTime(v, zone, now);
        break;
      case 'M':
        if (v.toLowerCase() === 'all' || v === '-1') {
          q.allClusters = true;
          q.clusters = null;
        } else {
          q.allClusters = false;
          q.clusters = [...(q.clusters ?? []), ...list(v)];
        }
        break;
      case 'L':
        q.allClusters = true;
        break;
      case 's': {
        const names = list(v);
        q.states ??= new Array<boolean>(16).fill(false);
        names.forEach((name, i) => {
          const n = stateNumber(name);
          if (n === undefined) {
            throw new Exit(1, `sacct: fatal: unrecognized job state value ${i === names.length - 1 ? `'${name}'` : name}`);
          }
          q.states![n] = true;
        });
        break;
      }
      case 'o':
        q.fields += v + ',';
        break;
      case 'b':
        q.brief = true;
        break;
      case 'l':
        q.long = true;
        break;
      case 'p':
        q.mode = 'parsable';
        break;
      case 'P':
        q.mode = 'parsable2';
        break;
      case 'delimiter':
        q.delimiter = v;
        break;
      case 'n':
        q.noHeader = true;
        break;
      case 'X':
        q.noSteps = true;
        break;
      case 'noconvert':
        q.noconvert = true;
        break;
      case 'units': {
        const u = 'KMGTP'.indexOf((v[0] ?? '').toUpperCase());
        if (u < 0) throw new Exit(1, 'sacct: fatal: Invalid unit type');
        q.units = u + 1;
        break;
      }
      case 'u':
        if (v !== '-1') q.users = addAll(q.users, v);
        break;
      case 'A':
        q.accounts = addAll(q.accounts, v, true);
        break;
      case 'r':
        q.partitions = addAll(q.partitions, v, true);
        break;
      case 'q':
        q.qos = addAll(q.qos, v, true);
        break;
      case 'j':
        q.jobs = addAll(q.jobs, v);
        break;
      case 'h':
        q.help = q.help || 'help';
        break;
      case 'e':
        q.help = q.help || 'fields';
        break;
      case 'U':
        q.help = q.help || 'usage';
        break;
      case 'V':
        throw new Exit(0, 'slurm 22.05.11');
      case 'sim-truth':
        q.truth = 'totals';
        break;
      case 'sim-truth-jobs':
        q.truth = 'jobs';
        break;
      case 'sim-truth-accounts':
        q.truth = 'accounts';
        break;
      default:
        // Accepted and ignored: -a -D -T -v -c --local --federation and filters this cluster lacks.
        break;
    }
  }
  return q;
}

function helpText(kind: string): string {
  if (kind === 'usage') return 'Usage: sacct [options]\n\tUse --help for help\n';
  if (kind === 'fields') {
    let s = '';
    FIELDS.forEach((f, i) => {
      if (i & 3) s += ' ';
      else if (i) s += '\n';
      s += f.name.padEnd(19);
    });
    return s + '\n';
  }
  return USAGE;
}

// The clusters a query covers, as configured names; names not configured are dropped, as a real
// slurmdbd answers nothing for a cluster it does not know.
function clustersOf(q: Query, cfg: SimConfig): string[] {
  const wanted = q.allClusters ? cfg.clusters : q.clusters ?? [cfg.localCluster];
  const out: string[] = [];
  for (const w of wanted) {
    const c = cfg.clusters.find((x) => x.toLowerCase() === w.toLowerCase());
    if (c !== undefined && !out.includes(c)) out.push(c);
  }
  return out;
}

function truth(q: Query, cfg: SimConfig, out: (s: string) => void): void {
  if (q.start === null || q.end === null) throw new Exit(2, 'sacct(sim): --sim-truth needs -S and -E');
  const clusters = clustersOf(q, cfg);
  const table = new TruthTable(q.truth === 'accounts');
  const H = new Helpers(() => '', new Units(true, -1));
  const last = Math.min(q.end, cfg.now);
  const from = q.start;
  const each = (j: Job): void => {
    if (j.end < from || j.end > last) return;
    if (q.truth === 'jobs') out(truthJobLine(j, H.jobId(j)));
    else table.add(j);
  };
  for (const name of clusters) {
    const gen = new Generator(buildCluster(cfg.seed, name, cfg.users), cfg);
    for (let b = Math.floor(from / HOUR); b <= Math.floor(last / HOUR); b++) gen.bucket(b, each);
  }
  if (q.truth !== 'jobs') out(table.lines(clusters));
}

export interface Io {
  env: NodeJS.ProcessEnv;
  stdoutFd: number;
  stderr: (s: string) => void;
}

const defaultIo: Io = {
  env: process.env,
  stdoutFd: 1,
  stderr: (s) => {
    try {
      fs.writeSync(2, s);
    } catch {
      // stderr gone: nothing left to tell.
    }
  },
};

export async function main(argv: readonly string[], io: Io = defaultIo): Promise<number> {
  let cfg: SimConfig;
  try {
    cfg = readConfig(io.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      io.stderr(`sacct(sim): ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  logLine(cfg.log, {
    ms: Date.now(), pid: process.pid, argv, tz: io.env['TZ'] ?? null,
    sacct_format: io.env['SACCT_FORMAT'] ?? null, slurm_time_format: io.env['SLURM_TIME_FORMAT'] ?? null,
  });
  try {
    return await run(argv, cfg, io);
  } catch (e) {
    if (e instanceof ReaderGone) return 0;
    if (e instanceof Exit) {
      if (e.text !== '') (e.code === 0 ? (s: string) => writeAll(io.stdoutFd, s) : io.stderr)(e.text + '\n');
      return e.code;
    }
    if (e instanceof UsageError || e instanceof TimeError || e instanceof FieldError) {
      io.stderr(e.message + '\n');
      return 1;
    }
    if (e instanceof FaultConfigError) {
      io.stderr(e.message + '\n');
      return 2;
    }
    throw e;
  }
}

async function run(argv: readonly string[], cfg: SimConfig, io: Io): Promise<number> {
  const zone = new LocalZone();
  const q = parseQuery(argv, zone, cfg.now);
  if (q.help !== '') {
    writeAll(io.stdoutFd, helpText(q.help));
    return 0;
  }
  if (q.truth !== '') {
    let buf = '';
    truth(q, cfg, (s) => {
      buf += s;
      if (buf.length > 1 << 20) {
        writeAll(io.stdoutFd, buf);
        buf = '';
      }
    });
    writeAll(io.stdoutFd, buf);
    return 0;
  }

  // Connecting to slurmdbd: where a sick one makes itself felt.
  const { fault } = chooseFault(cfg);
  if (fault === 'refused') throw new Exit(1, REFUSED.join('\n'));
  if (fault === 'hang') return hang(cfg);
  if (fault === 'frozen') {
    await sleep(cfg.frozenSeconds);
    throw new Exit(1, FROZEN.join('\n'));
  }

  const fieldList = q.fields || (q.brief ? BRIEF_FIELDS : q.long ? LONG_FIELDS : io.env['SACCT_FORMAT'] || DEFAULT_FIELDS);
  const fields = resolveFields(q.brief && q.fields ? q.fields + BRIEF_FIELDS : fieldList);
  if (q.rest.length > 0) throw new Exit(1, ['sacct: error: Unknown arguments:', ...q.rest.map((a) => `sacct: error:  ${a}`)].join('\n'));

  const now = cfg.now;
  let start = q.start;
  const end = q.end ?? now;
  if (start === null) {
    if (q.jobs) start = now - 30 * 86400;
    else if (q.states) start = now;
    else start = zone.toEpoch(...todayParts(zone, now), 0, 0, 0);
  }
  const { fmt: T, warning } = makeTimeFormatter(zone, io.env['SLURM_TIME_FORMAT'], now);
  if (warning !== '') io.stderr(warning + '\n');
  if (start > end) {
    throw new Exit(1, `sacct: error: Start time (${T(start)}) requested is after end time (${T(end)}).`);
  }
  if (cfg.delay > 0) await sleep(cfg.delay);

  const plan: Plan = {
    fields, mode: q.mode, delimiter: q.delimiter, noSteps: q.noSteps, noconvert: q.noconvert, units: q.units,
    start, end, states: q.states, users: arr(q.users), accounts: arr(q.accounts), partitions: arr(q.partitions),
    qos: arr(q.qos), jobs: arr(q.jobs), timeSpec: io.env['SLURM_TIME_FORMAT'],
  };
  const out = new Output(io.stdoutFd, cfg.garble, fault === 'truncate', q.delimiter);
  if (!q.noHeader) out.raw(header(fields, q.mode, q.delimiter));
  const renderer = new Renderer(plan, cfg, out);
  for (const cluster of clustersOf(q, cfg)) renderer.cluster(cluster);
  if (fault === 'truncate') {
    out.flushHalf();
    throw new Exit(1, STREAM_DIED);
  }
  out.flush();
  return 0;
}

function arr(s: Set<string> | null): string[] | null {
  return s ? [...s] : null;
}

function todayParts(zone: LocalZone, now: number): [number, number, number] {
  const d = new Date((now + zone.offset(now)) * 1000);
  return [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()];
}

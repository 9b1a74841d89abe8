// The synthetic cluster itself: job records generated per hour of End time from a hash of
// (seed, cluster, hour), so any window is cheap to produce and prints the same jobs whatever
// window is asked for. Requeued jobs (two records, the second ending hours later) come from a
// small side stream per hour that later hours look back into.
import type { SimConfig } from './config.js';
import type { ClusterModel, Partition, User } from './cluster-model.js';
import { Rng, combine, cumulate, pickWeighted } from './prng.js';
import * as S from './job-state.js';

export const HOUR = 3600;
// Nothing ran before 2000-01-01 (DBIndex counts from there); job ids count from 2020-01-01.
const B0 = 946684800 / HOUR;
const B1 = 1577836800 / HOUR;
// How many hours a requeued job's second record may end after its first.
const LOOKBACK = 30;

// Timelimit sentinels, printed as sacct does.
export const UNLIMITED = -1;
export const PARTITION_LIMIT = -2;

export const STEP_BATCH = -5;
export const STEP_EXTERN = -4;

export class Step {
  id = '';
  name = '';
  kind = 0;
  state = 0;
  requid = -1;
  exitCode = '0:0';
  start = 0;
  end = 0;
  cpus = 0;
  nodes = 1;
  memMB = 0;
  gpus = 0;
  rssKB = 0;
}

export class Job {
  cluster = '';
  dbIndex = 0;
  rawId = 0;
  arrayId = 0;
  arrayTask = 0;
  user!: User;
  account = '';
  part!: Partition;
  qos = 'normal';
  state = 0;
  requid = -1;
  exitCode = '0:0';
  allocated = true;
  placeholder = false;
  submit = 0;
  start = 0;
  end = 0;
  elapsed = 0;
  timelimit = 60;
  cpus = 1;
  nodes = 1;
  gpus = 0;
  gpuForm = 0;
  reqMemMB = 0;
  memForm = 0;
  memUnitMB = 0;
  firstNode = 1;
  nameIdx = 0;
  interactive = false;
  drift = 0;
  late = 0;
  maxRssBytes = 0;
  steps: Step[] = [];
  // Strings computed once per job and shared by its step rows (see row-format.ts).
  sJobId = '';
  sSubmit = '';
  sStart = '';
  sEnd = '';
  sTres = '';
  sNodes = '';
  sDb = '';
  sRaw = '';
  sElapsed = '';
}

export const JOB_NAMES = [
  'train.sh', 'run_md', 'analysis', 'preprocess', 'jupyter', 'bash', 'interactive', 'sim_%d',
  'vasp_relax', 'gromacs', 'lammps_npt', 'wrf_d01', 'cp2k', 'blast_chunk', 'snakejob.align',
  'nf-FASTQC_(1)', 'hyperopt', 'sweep|lr=0.01', 'a|b test', 'pipe|stage2', 'eval', 'cryo_ref',
  'R_job', 'matlab_batch', 'namd', 'openfoam', 'bwa mem', 'spark-worker', 'ray_head', 'quick',
];
const STEP_IDS = ['0', '1', '2', '3', '4', '5', '6', '7'];
const STEP_NAMES = ['python', 'pw.x', 'lmp', 'gmx_mpi', 'orted', 'hydra_bstrap_proxy', 'julia', 'Rscript', 'bash'];

const QOS = ['normal', 'low', 'high'];
const QOS_CUM = cumulate([0.8, 0.12, 0.08]);
const STATES = [S.COMPLETED, S.FAILED, S.CANCELLED, S.TIMEOUT, S.OUT_OF_MEMORY, S.NODE_FAIL, S.PREEMPTED, S.BOOT_FAIL, S.DEADLINE];
const STATE_CUM = cumulate([0.71, 0.09, 0.085, 0.05, 0.03, 0.006, 0.012, 0.003, 0.004]);
const RETRY_STATES = [S.COMPLETED, S.FAILED, S.TIMEOUT, S.CANCELLED];
const RETRY_CUM = cumulate([0.8, 0.1, 0.05, 0.05]);
const FAIL_CODES = ['1:0', '1:0', '1:0', '1:0', '1:0', '1:0', '2:0', '127:0', '0:9', '0:11', '0:6'];
const CPU_CHOICES = [1, 1, 1, 2, 4, 4, 8, 8, 16, 24, 32, 48];
const GPN_CHOICES = [1, 1, 1, 2, 2, 4];
const PER_CPU_MB = [1000, 2000, 3900, 4000, 4096, 8000];
const PER_NODE_MB = [1024, 2048, 4000, 4096, 8192, 16000, 16384, 32768, 64000, 65536, 128000, 190000];
const BIGMEM_MB = [256000, 512000, 768000, 1000000];
const STEP_COUNT_CUM = cumulate([0.45, 0.3, 0.15, 0.05, 0.05]);

export interface RequeuePair {
  first: Job;
  second: Job;
  secondBucket: number;
}

// One cluster's generator: knows the id and DBIndex layout and caches requeue side streams.
export class Generator {
  readonly capMain: number;
  readonly rqCap: number;
  readonly idBlock: number;
  readonly dbBlock: number;
  private readonly rqCache = new Map<number, RequeuePair[]>();

  constructor(readonly model: ClusterModel, readonly cfg: SimConfig) {
    this.capMain = Math.ceil(2 * cfg.rate) + 16;
    this.rqCap = Math.ceil(cfg.rate * cfg.requeue) + 1;
    this.idBlock = this.capMain + this.rqCap + 1;
    this.dbBlock = this.capMain + 2 * this.rqCap + 1;
  }

  jobId(b: number, slot: number): number {
    const m = this.cfg.maxJobId;
    return ((((b - B1) * this.idBlock + slot) % m) + m) % m + 1;
  }

  dbIndex(b: number, slot: number): number {
    return (b - B0) * this.dbBlock + slot + 1;
  }

  // Every job record whose End falls in hour b, in a fixed order, handed to `each` one at a time
  // (nothing is kept, so a job's objects die young).
  bucket(b: number, each: (j: Job) => void): void {
    if (b < B0) return;
    this.mainJobs(b, each);
    for (let o = b - LOOKBACK; o <= b; o++) {
      const pairs = this.requeues(o);
      for (const p of pairs) {
        if (o === b) each(p.first);
        if (p.secondBucket === b) each(p.second);
      }
    }
    this.rqCache.delete(b - LOOKBACK);
  }

  private mainJobs(b: number, each: (j: Job) => void): void {
    const { cfg, model } = this;
    const rng = new Rng(combine(combine(model.hash, b), 0x3a1));
    const hour = ((b % 24) + 24) % 24;
    const dow = (Math.floor(b / 24) + 4) % 7;
    const diurnal = (1 + 0.4 * Math.sin((2 * Math.PI * (hour - 10)) / 24)) * (dow === 0 || dow === 6 ? 0.7 : 1.08);
    const n = Math.min(this.capMain, Math.floor(cfg.rate * diurnal * (0.85 + 0.3 * rng.float()) + rng.float()));
    const t0 = b * HOUR;
    let k = 0;
    const tasks: Job[] = [];
    while (k < n) {
      const count = n - k >= 2 && rng.chance(0.06) ? Math.min(n - k, rng.logUniform(2, 60)) : 1;
      const proto = new Job();
      proto.cluster = model.name;
      this.pickShape(proto, rng);
      if (count === 1) {
        proto.dbIndex = this.dbIndex(b, k);
        proto.rawId = this.jobId(b, k);
        this.pickOutcome(proto, rng, -1);
        this.placeTimes(proto, rng, t0 + rng.int(HOUR));
        this.makeSteps(proto, rng);
        each(proto);
        k++;
        continue;
      }
      // An array: the last task to run keeps the array's own id, the others got later ones;
      // all share the array's submit time.
      const arrayId = this.jobId(b, k);
      const taskBase = rng.int(2);
      tasks.length = 0;
      let first = Infinity;
      for (let t = 0; t < count; t++) {
        const job = t === 0 ? proto : copyShape(proto);
        if (t > 0) job.firstNode = 1 + rng.int(job.part.nodeCount - job.nodes + 1);
        job.dbIndex = this.dbIndex(b, k + t);
        job.rawId = t === count - 1 ? arrayId : this.jobId(b, k + t + 1);
        job.arrayId = arrayId;
        job.arrayTask = taskBase + t;
        this.pickOutcome(job, rng, -1);
        job.end = t0 + rng.int(HOUR);
        job.start = job.end - job.elapsed;
        if (job.start < first) first = job.start;
        tasks.push(job);
      }
      const submit = first - (rng.chance(0.3) ? rng.int(60) : rng.logUniform(0, 172800));
      for (const job of tasks) {
        job.submit = submit;
        this.makeSteps(job, rng);
        each(job);
      }
      k += count;
    }
  }

  // The requeue side stream of hour o: jobs REQUEUED in o, each with the record of its next run.
  requeues(o: number): RequeuePair[] {
    let pairs = this.rqCache.get(o);
    if (pairs) return pairs;
    pairs = [];
    if (o >= B0 && this.cfg.requeue > 0) {
      const { model, cfg } = this;
      const rng = new Rng(combine(combine(model.hash, o), 0x7271));
      const r = Math.min(this.rqCap - 1, Math.floor(cfg.rate * cfg.requeue + rng.float()));
      for (let j = 0; j < r; j++) {
        const first = new Job();
        first.cluster = model.name;
        this.pickShape(first, rng);
        if (first.timelimit < 0 || first.timelimit > 1440) first.timelimit = 1440;
        first.dbIndex = this.dbIndex(o, this.capMain + j);
        first.rawId = this.jobId(o, this.capMain + j);
        this.pickOutcome(first, rng, S.REQUEUED);
        this.placeTimes(first, rng, o * HOUR + rng.int(HOUR));
        this.makeSteps(first, rng);
        const second = copyShape(first);
        second.dbIndex = this.dbIndex(o, this.capMain + this.rqCap + j);
        second.rawId = first.rawId;
        this.pickOutcome(second, rng, RETRY_STATES[pickWeighted(rng, RETRY_CUM)]!);
        second.submit = first.end + rng.int(90);
        second.start = second.submit + (rng.chance(0.4) ? rng.int(30) : rng.logUniform(0, 7200));
        second.end = second.start + second.elapsed;
        this.makeSteps(second, rng);
        const ext = second.steps.find((x) => x.kind === STEP_EXTERN);
        if (ext && rng.chance(0.5)) {
          ext.state = S.CANCELLED;
          ext.exitCode = '';
          ext.rssKB = -1;
          second.maxRssBytes = peakRss(second.steps);
        }
        pairs.push({ first, second, secondBucket: Math.floor(second.end / HOUR) });
      }
    }
    this.rqCache.set(o, pairs);
    return pairs;
  }

  // The row slurmdbd shows for a few seconds after a job is submitted: not a finished job.
  placeholder(b: number): Job | null {
    if (b < B0) return null;
    const rng = new Rng(combine(combine(this.model.hash, b), 0x91ace));
    if (!rng.chance(0.25)) return null;
    const job = new Job();
    job.cluster = this.model.name;
    job.placeholder = true;
    job.user = ROOT;
    job.account = '';
    job.part = this.model.cpuParts[0]!;
    job.state = S.PENDING;
    job.allocated = false;
    job.cpus = 0;
    job.reqMemMB = 16;
    job.dbIndex = this.dbIndex(b, this.capMain + 2 * this.rqCap);
    job.rawId = this.jobId(b, this.capMain + this.rqCap);
    job.submit = b * HOUR + rng.int(HOUR);
    job.end = job.submit;
    job.nameIdx = rng.int(JOB_NAMES.length);
    return job;
  }

  private pickShape(job: Job, rng: Rng): void {
    const { model, cfg } = this;
    const user = model.users[model.userAlias.sample(rng)]!;
    job.user = user;
    job.account = rng.chance(0.85) ? user.account : user.account2;
    const gpu = rng.chance(user.gpuAffinity);
    const part = gpu ? model.gpuParts[pickWeighted(rng, model.gpuPartCum)]! : model.cpuParts[pickWeighted(rng, model.cpuPartCum)]!;
    job.part = part;
    job.qos = part.name === 'debug' ? 'debug' : QOS[pickWeighted(rng, QOS_CUM)]!;
    const r = rng.float();
    job.nodes = Math.min(part.maxNodes, r < 0.88 ? 1 : r < 0.94 ? 2 : r < 0.97 ? 4 : r < 0.99 ? 8 : 16);
    let cpn: number;
    if (gpu) {
      const gpn = Math.min(part.nodeGpus, rng.pick(GPN_CHOICES));
      job.gpus = gpn * job.nodes;
      cpn = Math.min(part.nodeCpus, gpn * rng.pick([4, 8, 8, 16]));
      const g = rng.float();
      job.gpuForm = g < 0.87 ? 0 : g < 0.97 ? 1 : 2;
    } else {
      cpn = job.nodes > 1 ? part.nodeCpus : Math.min(part.nodeCpus, rng.pick(CPU_CHOICES));
    }
    job.cpus = cpn * job.nodes;
    const legacy = rng.float() < cfg.legacyReqMem;
    if (rng.chance(0.4)) {
      let perCpu = rng.pick(PER_CPU_MB);
      if (perCpu * cpn > part.nodeMemMB) perCpu = Math.floor(part.nodeMemMB / cpn);
      job.memUnitMB = perCpu;
      job.reqMemMB = perCpu * job.cpus;
      job.memForm = legacy ? 1 : 0;
    } else {
      let perNode = part.name === 'bigmem' ? rng.pick(BIGMEM_MB) : job.nodes > 1 && rng.chance(0.5) ? part.nodeMemMB : rng.pick(PER_NODE_MB);
      if (perNode > part.nodeMemMB) perNode = part.nodeMemMB;
      job.memUnitMB = perNode;
      job.reqMemMB = perNode * job.nodes;
      job.memForm = legacy ? 2 : 0;
    }
    job.timelimit = part.name === 'long' && rng.chance(0.2) ? UNLIMITED : rng.pick(part.limitsMin);
    job.nameIdx = rng.int(JOB_NAMES.length);
    job.interactive = rng.chance(0.08);
    job.firstNode = 1 + rng.int(part.nodeCount - job.nodes + 1);
  }

  // State, exit code, who cancelled, run time; forced is a state number or -1 to draw one.
  private pickOutcome(job: Job, rng: Rng, forced: number): void {
    let state = forced >= 0 ? forced : STATES[pickWeighted(rng, STATE_CUM)]!;
    if (state === S.TIMEOUT && job.timelimit < 0) state = S.COMPLETED;
    job.state = state;
    const limit = job.timelimit > 0 ? job.timelimit * 60 : 7 * 86400;
    let started = true;
    let elapsed: number;
    switch (state) {
      case S.DEADLINE:
        started = false;
        elapsed = 0;
        break;
      case S.CANCELLED:
        started = !rng.chance(0.3);
        elapsed = started ? rng.logUniform(3, limit) : 0;
        break;
      case S.BOOT_FAIL:
        elapsed = 0;
        break;
      case S.TIMEOUT:
        elapsed = limit + rng.int(120);
        break;
      case S.OUT_OF_MEMORY:
        elapsed = rng.logUniform(30, limit);
        break;
      default:
        elapsed = rng.logUniform(3, limit);
    }
    job.allocated = started;
    job.elapsed = elapsed;
    // A job that never started and asked for no time limit shows the partition's.
    if (!started && job.timelimit === UNLIMITED) job.timelimit = PARTITION_LIMIT;
    else if (!started && rng.chance(0.3)) job.timelimit = PARTITION_LIMIT;
    if (state === S.CANCELLED) {
      const c = rng.float();
      job.requid = c < 0.85 ? job.user.uid : c < 0.95 ? 0 : 1234;
    } else {
      job.requid = -1;
    }
    job.exitCode = state === S.FAILED ? rng.pick(FAIL_CODES) : state === S.OUT_OF_MEMORY ? '0:125' : '0:0';
    // Drawn whatever the knobs say, so SB_SIM_DRIFT and SB_SIM_LATE change what shows, not the jobs.
    const drifts = rng.float() < 0.35;
    const drift = rng.float();
    const late = rng.float();
    job.drift = drifts && this.cfg.drift > 0 ? 1 + Math.floor(drift * this.cfg.drift) : 0;
    job.late = Math.floor(late * (this.cfg.late + 1));
  }

  private placeTimes(job: Job, rng: Rng, end: number): void {
    job.end = end;
    job.start = end - job.elapsed;
    job.submit = job.start - (rng.chance(0.3) ? rng.int(60) : rng.logUniform(0, 172800));
  }

  private makeSteps(job: Job, rng: Rng): void {
    const steps: Step[] = [];
    job.steps = steps;
    job.maxRssBytes = 0;
    if (!job.allocated || job.elapsed === 0) return;
    const cpn = job.cpus / job.nodes;
    const mpn = job.reqMemMB / job.nodes;
    const gpn = job.gpus / job.nodes;
    const memKB = mpn * 1024;
    const oom = job.state === S.OUT_OF_MEMORY;
    const u = rng.float();
    const use = oom ? 0.97 + 0.03 * u : 0.02 + 0.9 * u * u;
    const numbered = job.interactive ? 1 + rng.int(2) : pickWeighted(rng, STEP_COUNT_CUM);
    const endState = stepEndState(job.state);
    // A job killed by a signal shows FAILED 0:N; the step the signal hit shows CANCELLED 0:N.
    const signalled = job.state === S.FAILED && job.exitCode.startsWith('0:');
    const endExit = job.state === S.FAILED ? job.exitCode : oom ? '0:125' : endState === S.NODE_FAIL ? '0:0' : '0:15';
    if (!job.interactive) {
      const s = new Step();
      s.id = 'batch';
      s.name = 'batch';
      s.kind = STEP_BATCH;
      s.start = job.start;
      // slurmd may record the batch step ending a second after its job.
      s.end = rng.chance(0.05) ? job.end + 1 : job.end;
      s.cpus = cpn;
      s.nodes = 1;
      s.memMB = mpn;
      s.gpus = gpn;
      s.rssKB = pages(numbered > 0 ? Math.min(memKB, 388 + rng.int(60000)) : memKB * use);
      if (endState !== S.COMPLETED) {
        s.state = signalled ? S.CANCELLED : endState;
        s.exitCode = endExit;
      }
      steps.push(s);
    }
    const ext = new Step();
    ext.id = 'extern';
    ext.name = 'extern';
    ext.kind = STEP_EXTERN;
    ext.start = job.start;
    ext.end = job.end;
    ext.cpus = job.cpus;
    ext.nodes = job.nodes;
    ext.memMB = job.reqMemMB;
    ext.gpus = job.gpus;
    ext.rssKB = rng.chance(0.4) ? 0 : pages(96 + rng.int(24));
    steps.push(ext);
    if (numbered > 0) {
      const t = job.start + Math.min(job.elapsed, rng.int(20));
      const span = job.end - t;
      const name = STEP_NAMES[rng.int(STEP_NAMES.length)]!;
      // Now and then a step of a job that still completed died of a segfault.
      const segv = numbered >= 2 && job.state === S.COMPLETED && rng.chance(0.05) ? rng.int(numbered - 1) : -1;
      for (let i = 0; i < numbered; i++) {
        const s = new Step();
        s.id = STEP_IDS[i] ?? String(i);
        s.name = job.interactive ? 'interactive' : name;
        s.kind = i;
        const a = t + Math.floor((span * i) / numbered);
        const e = t + Math.floor((span * (i + 1)) / numbered);
        s.start = i > 0 && e > a ? a + 1 : a;
        s.end = e;
        s.cpus = rng.chance(0.2) && job.cpus > 1 ? job.cpus >> 1 : job.cpus;
        s.nodes = job.nodes;
        s.memMB = job.reqMemMB;
        s.gpus = job.gpus;
        const last = i === numbered - 1;
        s.rssKB = pages(memKB * (last && oom ? use : use * (0.6 + 0.4 * rng.float())));
        if (last && endState !== S.COMPLETED) {
          s.state = signalled ? S.CANCELLED : endState;
          s.requid = job.state === S.CANCELLED ? job.requid : -1;
          s.exitCode = endExit;
        } else if (i === segv) {
          s.state = S.CANCELLED;
          s.exitCode = '0:11';
        }
        steps.push(s);
      }
    }
    job.maxRssBytes = peakRss(steps);
  }
}

// A job's peak memory: the largest MaxRSS over its steps (an empty one counts as none).
function peakRss(steps: readonly Step[]): number {
  let max = 0;
  for (const s of steps) if (s.rssKB > max) max = s.rssKB;
  return max * 1024;
}

// MaxRSS is counted in pages: whole multiples of 4 KiB.
function pages(kb: number): number {
  return Math.max(0, Math.floor(kb / 4) * 4);
}

// What the last step of a job that ended in `state` shows.
function stepEndState(state: number): number {
  switch (state) {
    case S.COMPLETED:
      return S.COMPLETED;
    case S.FAILED:
      return S.FAILED;
    case S.OUT_OF_MEMORY:
      return S.OUT_OF_MEMORY;
    case S.NODE_FAIL:
      return S.NODE_FAIL;
    default:
      return S.CANCELLED;
  }
}

const ROOT: User = { name: 'root', uid: 0, uidStr: '0', group: 'root', account: '', account2: '', gpuAffinity: 0 };

function copyShape(p: Job): Job {
  const j = new Job();
  j.cluster = p.cluster;
  j.user = p.user;
  j.account = p.account;
  j.part = p.part;
  j.qos = p.qos;
  j.timelimit = p.timelimit;
  j.cpus = p.cpus;
  j.nodes = p.nodes;
  j.gpus = p.gpus;
  j.gpuForm = p.gpuForm;
  j.reqMemMB = p.reqMemMB;
  j.memForm = p.memForm;
  j.memUnitMB = p.memUnitMB;
  j.firstNode = p.firstNode;
  j.nameIdx = p.nameIdx;
  j.interactive = p.interactive;
  return j;
}

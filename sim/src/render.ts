// Rendering a query's rows, bucket by bucket, into an Output. Plain data in (a Plan), so the
// same renderer runs in the main thread and in a worker thread.
import { buildCluster } from './cluster-model.js';
import type { SimConfig } from './config.js';
import { Generator, HOUR, type Job } from './generate.js';
import type { Output } from './output.js';
import { ByteWriter, compileByteRow, rowBound, type ByteRow, type ByteStepRow } from './row-bytes.js';
import { compileRow, type Field, Helpers, type Mode, type RowFormatter, Units } from './row-format.js';
import { LocalZone, makeTimeFormatter } from './time-format.js';

export interface Plan {
  fields: Field[];
  mode: Mode;
  delimiter: string;
  noSteps: boolean;
  noconvert: boolean;
  units: number;
  start: number;
  end: number;
  states: boolean[] | null;
  users: string[] | null;
  accounts: string[] | null;
  partitions: string[] | null;
  qos: string[] | null;
  jobs: string[] | null;
  timeSpec: string | undefined;
}

export interface Segment {
  cluster: string;
  from: number;
  to: number;
}

function jobFilter(p: Plan): ((j: Job) => boolean) | null {
  if (!p.users && !p.accounts && !p.partitions && !p.qos && !p.jobs) return null;
  const set = (xs: string[] | null): Set<string> | null => (xs ? new Set(xs) : null);
  const users = set(p.users);
  const accounts = set(p.accounts);
  const partitions = set(p.partitions);
  const qos = set(p.qos);
  const jobs = set(p.jobs);
  return (j) =>
    (!users || users.has(j.user.name) || users.has(j.user.uidStr)) &&
    (!accounts || accounts.has(j.account)) &&
    (!partitions || partitions.has(j.part.name)) &&
    (!qos || qos.has(j.qos)) &&
    (!jobs || jobs.has(String(j.rawId)) || jobs.has(String(j.arrayId)) || jobs.has(`${j.arrayId}_${j.arrayTask}`));
}

export class Renderer {
  readonly helpers: Helpers;
  private readonly row: RowFormatter;
  private readonly brow: { job: ByteRow; step: ByteStepRow };
  private readonly bound: number;
  private readonly bytePath: boolean;
  private readonly perRow: boolean;
  private readonly filter: ((j: Job) => boolean) | null;
  private readonly generators = new Map<string, Generator>();
  private readonly each: (j: Job) => void;

  constructor(
    private readonly plan: Plan,
    private readonly cfg: SimConfig,
    public out: Output,
  ) {
    const zone = new LocalZone();
    const { fmt } = makeTimeFormatter(zone, plan.timeSpec, cfg.now);
    this.helpers = new Helpers(fmt, new Units(plan.noconvert, plan.units));
    const H = this.helpers;
    this.row = compileRow(plan.fields, plan.mode, plan.delimiter, H);
    const W = new ByteWriter(zone, H, plan.noconvert && plan.units < 0);
    this.brow = compileByteRow(plan.fields, plan.mode === 'parsable', plan.delimiter, W, H);
    this.bound = rowBound(plan.fields, plan.delimiter);
    // Garbling counts lines, so rows then go out one at a time; otherwise a job's rows go together.
    this.perRow = cfg.garble > 0;
    const ts = plan.timeSpec;
    this.bytePath = !this.perRow && plan.mode !== 'fixed' && (ts === undefined || ts === '' || ts === 'standard');
    this.filter = jobFilter(plan);
    this.each = (j) => this.job(j);
  }

  generator(cluster: string): Generator {
    let g = this.generators.get(cluster);
    if (!g) {
      g = new Generator(buildCluster(this.cfg.seed, cluster, this.cfg.users), this.cfg);
      this.generators.set(cluster, g);
    }
    return g;
  }

  // The hours whose jobs can show in this query: End within the window widened by the drift.
  buckets(): { from: number; to: number } {
    const { start, end } = this.plan;
    return {
      from: Math.floor((start - this.cfg.drift) / HOUR),
      to: Math.floor(Math.min(end + this.cfg.drift, this.cfg.now) / HOUR),
    };
  }

  segment(seg: Segment): void {
    const gen = this.generator(seg.cluster);
    for (let b = seg.from; b <= seg.to; b++) {
      gen.bucket(b, this.each);
      if (this.cfg.placeholder) {
        const p = gen.placeholder(b);
        const { start, end } = this.plan;
        const d = this.cfg.drift;
        if (p !== null && p.submit >= start - d && p.submit <= end + d && p.submit <= this.cfg.now) this.out.row(this.row.job(p));
      }
    }
  }

  private job(j: Job): void {
    const { plan, out } = this;
    if (j.end < plan.start - j.drift || j.end > plan.end + j.drift || j.end + j.late > this.cfg.now) return;
    if (plan.states !== null && !plan.states[j.state]) return;
    if (this.filter !== null && !this.filter(j)) return;
    const n = plan.noSteps ? 0 : j.steps.length;
    if (this.bytePath) {
      out.reserve(this.bound * (n + 1));
      const b = out.buf;
      let o = this.brow.job(b, out.off, j);
      for (let i = 0; i < n; i++) o = this.brow.step(b, o, j, j.steps[i]!);
      if (o > b.length) throw new Error('sacct(sim): internal error: a row overflowed its buffer');
      out.off = o;
      return;
    }
    if (this.perRow) {
      out.row(this.row.job(j));
      for (let i = 0; i < n; i++) out.row(this.row.step(j, j.steps[i]!));
      return;
    }
    let text = this.row.job(j);
    for (let i = 0; i < n; i++) text += this.row.step(j, j.steps[i]!);
    out.raw(text);
  }
}

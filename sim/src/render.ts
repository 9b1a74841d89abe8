// Rendering a query's rows, bucket by bucket, into an Output.
import { buildCluster } from './cluster-model.js';
import type { SimConfig } from './config.js';
import { Generator, HOUR, type Job } from './generate.js';
import type { Output } from './output.js';
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
  private readonly row: RowFormatter;
  private readonly perRow: boolean;
  private readonly filter: ((j: Job) => boolean) | null;
  private readonly each: (j: Job) => void;

  constructor(
    private readonly plan: Plan,
    private readonly cfg: SimConfig,
    private readonly out: Output,
  ) {
    const { fmt } = makeTimeFormatter(new LocalZone(), plan.timeSpec, cfg.now);
    this.row = compileRow(plan.fields, plan.mode, plan.delimiter, new Helpers(fmt, new Units(plan.noconvert, plan.units)));
    // Garbling counts lines, so rows then go out one at a time; otherwise a job's rows go together.
    this.perRow = cfg.garble > 0;
    this.filter = jobFilter(plan);
    this.each = (j) => this.job(j);
  }

  // One cluster's rows: the hours whose jobs can show in this query, End within the window
  // widened by the drift.
  cluster(name: string): void {
    const { start, end } = this.plan;
    const d = this.cfg.drift;
    const gen = new Generator(buildCluster(this.cfg.seed, name, this.cfg.users), this.cfg);
    const last = Math.floor(Math.min(end + d, this.cfg.now) / HOUR);
    for (let b = Math.floor((start - d) / HOUR); b <= last; b++) {
      gen.bucket(b, this.each);
      if (this.cfg.placeholder) {
        const p = gen.placeholder(b);
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

// sb-dedupe's work, loaded only once the command line asks for more than --help or --version.
import { type Context, maxOperands, optString } from '../../core/cli/run.js';
import { UsageError } from '../../core/cli/errors.js';
import { forEachRecord } from '../../core/cli/input.js';
import { JobLineReader } from '../../core/records/job-line.js';
import { jobIdentity, JobIdentityReader, KeyBatch, SeenSet, type KeyCode } from '../../core/store/seen.js';
import { ClusterStore, storeRoot } from '../../core/store/store.js';


// How many cluster-months sb-dedupe keeps in memory; a stream is ordered by time, so older months
// rarely come back (and if one does, a repeat may pass: sb-reduce drops it).
const MONTHS_KEPT = 8;
// In-stream keys move from a Set into the sorted typed arrays in batches of this many.
const FOLD_AT = 65_536;

interface Month {
  stored: SeenSet;
  stream: SeenSet;
  recent: KeyBatch;
}

export interface Counts {
  read: number;
  passed: number;
  stored: number;
  repeated: number;
}

// The dedupe decision for a stream of job records, over a store reader; no I/O of its own.
export class Deduper {
  readonly counts: Counts = { read: 0, passed: 0, stored: 0, repeated: 0 };
  private months = new Map<string, Month>();
  // the month of the last job: a stream is ordered by time, so most jobs are of the same one
  private last: { cluster: string; month: string; m: Month } | undefined;

  constructor(private readonly readSeen: (cluster: string, month: string) => SeenSet) {}

  // Does this job pass (true), or has it been counted or seen already (false)?
  pass(cluster: string, month: string, code: KeyCode): boolean {
    if (code.kind === 'db') return this.passDb(cluster, month, code.n);
    this.counts.read++;
    const m = this.at(cluster, month);
    if (m.stored.has(code)) {
      this.counts.stored++;
      return false;
    }
    if (m.recent.has(code) || m.stream.has(code)) {
      this.counts.repeated++;
      return false;
    }
    m.recent.add(code);
    this.added(m);
    return true;
  }

  // pass() of the job whose key is `<cluster>/db/<n>`.
  passDb(cluster: string, month: string, n: number): boolean {
    this.counts.read++;
    const m = this.at(cluster, month);
    if (m.stored.hasDb(n)) {
      this.counts.stored++;
      return false;
    }
    if (m.recent.db.has(n) || m.stream.hasDb(n)) {
      this.counts.repeated++;
      return false;
    }
    m.recent.db.add(n);
    this.added(m);
    return true;
  }

  private at(cluster: string, month: string): Month {
    const last = this.last;
    return last !== undefined && last.month === month && last.cluster === cluster ? last.m : this.month(cluster, month);
  }

  private added(m: Month): void {
    if (m.recent.size >= FOLD_AT) {
      m.stream = m.stream.with(m.recent);
      m.recent = new KeyBatch();
    }
    this.counts.passed++;
  }

  // A cluster-month's keys, read once and kept while it is one of the MONTHS_KEPT used last.
  private month(cluster: string, month: string): Month {
    const id = `${cluster}\u0000${month}`;
    let m = this.months.get(id);
    if (m === undefined) {
      m = { stored: this.readSeen(cluster, month), stream: new SeenSet(), recent: new KeyBatch() };
      if (this.months.size >= MONTHS_KEPT) this.months.delete(this.months.keys().next().value as string);
    } else this.months.delete(id);
    this.months.set(id, m);
    this.last = { cluster, month, m };
    return m;
  }
}

export async function main({ args, io, report, out, input }: Context): Promise<void> {
  maxOperands(args, 1);
  const root = storeRoot(optString(args, 'root'), io.env);
  if (root === undefined) throw new UsageError('no store: give --root DIR or set SB_ROOT');
  const stores = new Map<string, ClusterStore>();
  const deduper = new Deduper((cluster, month) => {
    let s = stores.get(cluster);
    if (s === undefined) stores.set(cluster, (s = new ClusterStore(root, cluster)));
    return s.readSeen(month);
  });
  const line = new JobLineReader();
  const identity = new JobIdentityReader();
  await forEachRecord(await input(args._[0]), out, report, {
    job: (rec) => {
      const { cluster, month, code } = jobIdentity(rec);
      if (deduper.pass(cluster, month, code)) out.record(rec);
    },
  }, undefined, {
    // a line in sb-parse's exact form is the record as JSON.stringify prints it: its bytes pass as
    // they came, never decoded
    bytes: (b, start, limit) => {
      const end = line.readTo(b, start, limit);
      if (end < 0) return -1;
      const n = identity.dbIndex(line, b);
      let pass: boolean;
      if (n >= 0) pass = deduper.passDb(identity.cluster, identity.month, n);
      else {
        const { cluster, month, code } = identity.read(line, b);
        pass = deduper.pass(cluster, month, code);
      }
      if (pass) out.bytes(b, start, end);
      return end;
    },
  });
  if (args['verbose'] === true) {
    const c = deduper.counts;
    report.info(`${c.read} jobs read, ${c.passed} passed, ${c.stored} already in the store, ${c.repeated} repeated in the stream${report.bad > 0 ? `, ${report.bad} bad lines` : ''}`);
  }
}

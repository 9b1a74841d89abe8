// The jobs sb-reduce holds until their transaction.
import type { KeyCode } from '../../core/store/seen.js';
import type { JobLineReader } from '../../core/records/job-line.js';

// What sb-reduce keeps of one job until its transaction: its numbers, not its Totals (a
// duplicate never needs them, and a new job is added to its day's bin straight from them).
export interface PendingJob {
  code: KeyCode;
  month: string;
  day: string;
  user: string;
  // the Slurm account the job was charged to ('' for none)
  account: string;
  elapsed: number;
  cpus: number;
  gpus: number;
  // requested and peak used bytes, rounded to whole bytes (jobTotals rounds them the same)
  req: number;
  used: number;
  failed: boolean;
}

// Strings held as small numbers: a cluster's user, account and month names, each kept once.
export class Names {
  private readonly ids = new Map<string, number>();
  readonly list: string[] = [];

  // idAt's table: a hash of a name's bytes → its id, and each id's bytes (once idAt met it)
  private readonly byHash = new Map<number, number>();
  private readonly bytes: Array<Uint8Array | undefined> = [];

  id(name: string): number {
    let id = this.ids.get(name);
    if (id === undefined) {
      id = this.list.length;
      this.ids.set(name, id);
      this.list.push(name);
    }
    return id;
  }

  // id() of a string field of the line the reader last read, from its bytes: the string is made
  // only the first time. (The reader's strings have no escapes and are valid UTF-8: the bytes are
  // the name's UTF-8.) A hash shared by two names keeps the last one met; the other is decoded.
  idAt(r: JobLineReader, b: Buffer, field: number): number {
    const s = r.at[2 * field] as number;
    const e = r.at[2 * field + 1] as number;
    const h = r.hash(b, field);
    const known = this.byHash.get(h);
    if (known !== undefined && r.equals(b, field, this.bytes[known] as Uint8Array)) return known;
    const id = this.id(b.toString('utf8', s, e));
    this.bytes[id] ??= new Uint8Array(b.subarray(s, e));
    this.byHash.set(h, id);
    return id;
  }
}

// A segment's jobs in columns of typed arrays. Held as objects, a group's 50,000 jobs (and
// their names and keys) survived every young-generation collection until the commit, and
// copying them was most of the collector's time; numbers in typed arrays are never copied.
export class HeldJobs {
  length = 0;
  // the key: its kind (0 db, 1 id, 2 other), the DBIndex of a db key, the 64 bits of an id key
  // (JobIDRaw and Submit), and the rare other keys by index
  private kind: Uint8Array;
  private db: Float64Array;
  private id: BigUint64Array;
  private readonly others = new Map<number, KeyCode>();
  private month: Int32Array;
  private user: Int32Array;
  private account: Int32Array;
  private day: Uint8Array;
  private failed: Uint8Array;
  private nums: Float64Array;
  // the month of the last job pushed, and its id: a segment's jobs are mostly of one
  private lastMonth = '';
  private lastMonthId = -1;
  // what job(i) hands out: one object, filled again for each job
  private readonly view: PendingJob = { code: { kind: 'db', n: 0 }, month: '', day: '', user: '', account: '', elapsed: 0, cpus: 0, gpus: 0, req: 0, used: 0, failed: false };
  private readonly dbKey = { kind: 'db' as const, n: 0 };
  private readonly idKey = { kind: 'id' as const, v: 0n };

  // `size`: the jobs expected (room is made for them at once; a window's are about as many as
  // the window's before it), not a limit.
  constructor(
    private readonly names: Names,
    size = 64,
  ) {
    const n = Math.max(64, size);
    this.kind = new Uint8Array(n);
    this.db = new Float64Array(n);
    this.id = new BigUint64Array(n);
    this.month = new Int32Array(n);
    this.user = new Int32Array(n);
    this.account = new Int32Array(n);
    this.day = new Uint8Array(n);
    this.failed = new Uint8Array(n);
    this.nums = new Float64Array(5 * n);
  }

  push(j: PendingJob): void {
    const i = this.length;
    if (i === this.kind.length) this.grow();
    const code = j.code;
    if (code.kind === 'db') {
      this.kind[i] = 0;
      this.db[i] = code.n;
    } else if (code.kind === 'id') {
      this.kind[i] = 1;
      this.id[i] = code.v;
    } else {
      this.kind[i] = 2;
      this.others.set(i, code);
    }
    this.month[i] = this.monthId(j.month);
    this.user[i] = this.names.id(j.user);
    this.account[i] = this.names.id(j.account);
    this.day[i] = (j.day.charCodeAt(0) - 48) * 10 + j.day.charCodeAt(1) - 48;
    this.failed[i] = j.failed ? 1 : 0;
    const n = this.nums;
    n[5 * i] = j.elapsed;
    n[5 * i + 1] = j.cpus;
    n[5 * i + 2] = j.gpus;
    n[5 * i + 3] = j.req;
    n[5 * i + 4] = j.used;
    this.length = i + 1;
  }

  // push() of a plain job line with a db key (see plainJob), from its bytes and ids: no
  // PendingJob made, no name decoded but the first time.
  pushDb(n: number, month: string, user: number, account: number, day: number, failed: boolean, r: JobLineReader, b: Uint8Array, f: LineFields): void {
    const i = this.length;
    if (i === this.kind.length) this.grow();
    this.kind[i] = 0;
    this.db[i] = n;
    this.month[i] = this.monthId(month);
    this.user[i] = user;
    this.account[i] = account;
    this.day[i] = day;
    this.failed[i] = failed ? 1 : 0;
    const v = this.nums;
    v[5 * i] = r.number(b, f.elapsed) as number;
    v[5 * i + 1] = r.number(b, f.cpus) as number;
    v[5 * i + 2] = r.number(b, f.gpus) as number;
    v[5 * i + 3] = r.number(b, f.req) as number;
    v[5 * i + 4] = r.number(b, f.rss) ?? 0;
    this.length = i + 1;
  }

  // The id of a job's month: that of the job before, mostly.
  private monthId(month: string): number {
    if (month !== this.lastMonth) {
      this.lastMonth = month;
      this.lastMonthId = this.names.id(month);
    }
    return this.lastMonthId;
  }

  // Job i, in an object that the next call fills again (copy what must outlive it).
  job(i: number): PendingJob {
    const v = this.view;
    v.code = this.key(i);
    v.month = this.names.list[this.month[i] as number] as string;
    v.user = this.names.list[this.user[i] as number] as string;
    v.account = this.names.list[this.account[i] as number] as string;
    v.day = DAYS[this.day[i] as number] as string;
    v.failed = this.failed[i] === 1;
    const n = this.nums;
    v.elapsed = n[5 * i] as number;
    v.cpus = n[5 * i + 1] as number;
    v.gpus = n[5 * i + 2] as number;
    v.req = n[5 * i + 3] as number;
    v.used = n[5 * i + 4] as number;
    return v;
  }

  // Job i's month and key (the key valid until the next call).
  monthOf(i: number): string {
    return this.names.list[this.month[i] as number] as string;
  }

  key(i: number): KeyCode {
    const kind = this.kind[i];
    if (kind === 0) {
      this.dbKey.n = this.db[i] as number;
      return this.dbKey;
    }
    if (kind === 1) {
      this.idKey.v = this.id[i] as bigint;
      return this.idKey;
    }
    return this.others.get(i) as KeyCode;
  }

  private grow(): void {
    const cap = this.kind.length * 2;
    const more = <T extends Float64Array | BigUint64Array | Int32Array | Uint8Array>(a: T, k = 1): T => {
      const b = new (a.constructor as new (n: number) => T)(cap * k);
      (b as unknown as { set(x: T): void }).set(a);
      return b;
    };
    this.kind = more(this.kind);
    this.db = more(this.db);
    this.id = more(this.id);
    this.month = more(this.month);
    this.user = more(this.user);
    this.account = more(this.account);
    this.day = more(this.day);
    this.failed = more(this.failed);
    this.nums = more(this.nums, 5);
  }
}

// Where pushDb finds the numbers of a job line (fieldIndex of each).
export interface LineFields {
  elapsed: number;
  cpus: number;
  gpus: number;
  req: number;
  rss: number;
}

// '00' to '31' (a day of a month, as PendingJob keeps it)
export const DAYS: readonly string[] = Array.from({ length: 32 }, (_, d) => String(d).padStart(2, '0'));

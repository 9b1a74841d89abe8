// Daily bins of named entries (a month's users, or one account's users) as numbers in columns.
// Kept between commits as a Totals object and two BigInts a user's and an account's day, they
// were most of what each young-generation collection still copied; numbers in typed arrays are
// never copied, and a day's text is written from them without a string (writeDay).
import { zeroTotals, type Totals } from '../../core/scores/metrics.js';
import type { DailyBins } from '../../core/store/rollup-files.js';
import type { PendingJob } from './held.js';

// A day's nine totals in the order of their text: jobs, failed_jobs, gpu_jobs, cpu_s,
// elapsed_s, gpu_s, gpu_elapsed_s, mem_req_byte_s, mem_used_byte_s.
const F = 9;
const REQ = 7;
const USED = 8;
const EXACT = 2 ** 53;

export class DayBins {
  // name → entry, and back
  readonly index = new Map<string, number>();
  readonly names: string[] = [];
  // entry e's days: bit d (1..31) set when it has day d
  mask = new Int32Array(16);
  // entry e, day d → its slot + 1 (0: none)
  private slot = new Int32Array(16 * 32);
  // slot s's totals at v[F s ..]; byte-seconds as doubles while exact, with the part past that
  // in `big` (key 2 s for mem_req_byte_s, 2 s + 1 for mem_used_byte_s): value = big + v
  v = new Float64Array(F * 64);
  readonly big = new Map<number, bigint>();
  private slots = 0;

  get size(): number {
    return this.names.length;
  }

  // The entry of a name, made (with no days) on first use.
  entry(name: string): number {
    let e = this.index.get(name);
    if (e === undefined) {
      e = this.names.length;
      if (e === this.mask.length) {
        this.mask = grown(this.mask, 2 * e);
        this.slot = grown(this.slot, 64 * e);
      }
      this.index.set(name, e);
      this.names.push(name);
    }
    return e;
  }

  // The slot of entry e's day d, made empty on first use.
  at(e: number, d: number): number {
    const k = 32 * e + d;
    const s = this.slot[k] as number;
    if (s > 0) return s - 1;
    const n = this.slots++;
    if (F * this.slots > this.v.length) this.v = grown(this.v, 2 * this.v.length);
    this.slot[k] = n + 1;
    this.mask[e] = (this.mask[e] as number) | (1 << d);
    return n;
  }

  // The slot of entry e's day d, or -1.
  find(e: number, d: number): number {
    return (this.slot[32 * e + d] as number) - 1;
  }

  // One job into entry e's day d.
  addJob(e: number, d: number, j: PendingJob): void {
    const s = F * this.at(e, d);
    const v = this.v;
    const t = j.elapsed;
    v[s] = (v[s] as number) + 1;
    if (j.failed) v[s + 1] = (v[s + 1] as number) + 1;
    if (j.gpus > 0) {
      v[s + 2] = (v[s + 2] as number) + 1;
      v[s + 6] = (v[s + 6] as number) + t;
    }
    v[s + 3] = (v[s + 3] as number) + j.cpus * t;
    v[s + 4] = (v[s + 4] as number) + t;
    v[s + 5] = (v[s + 5] as number) + j.gpus * t;
    const req = j.req * t;
    if (req < EXACT && (v[s + REQ] as number) + req < EXACT) v[s + REQ] = (v[s + REQ] as number) + req;
    else this.addBig(s / F, REQ, BigInt(j.req) * BigInt(t));
    const used = j.used * t;
    if (used < EXACT && (v[s + USED] as number) + used < EXACT) v[s + USED] = (v[s + USED] as number) + used;
    else this.addBig(s / F, USED, BigInt(j.used) * BigInt(t));
  }

  // Slot `from` of `src` into entry e's day d.
  addFrom(e: number, d: number, src: DayBins, from: number): void {
    const s = F * this.at(e, d);
    const f = F * from;
    const v = this.v;
    const w = src.v;
    for (let k = 0; k < REQ; k++) v[s + k] = (v[s + k] as number) + (w[f + k] as number);
    for (let k = REQ; k < F; k++) {
      const big = src.big.get(2 * from + k - REQ);
      const x = w[f + k] as number;
      if (big === undefined && (v[s + k] as number) + x < EXACT) v[s + k] = (v[s + k] as number) + x;
      else this.addBig(s / F, k, (big ?? 0n) + BigInt(x));
    }
  }

  // Totals into entry e's day d.
  addTotals(e: number, d: number, t: Totals): void {
    const s = F * this.at(e, d);
    const v = this.v;
    v[s] = (v[s] as number) + t.jobs;
    v[s + 1] = (v[s + 1] as number) + t.failed_jobs;
    v[s + 2] = (v[s + 2] as number) + t.gpu_jobs;
    v[s + 3] = (v[s + 3] as number) + t.cpu_s;
    v[s + 4] = (v[s + 4] as number) + t.elapsed_s;
    v[s + 5] = (v[s + 5] as number) + t.gpu_s;
    v[s + 6] = (v[s + 6] as number) + t.gpu_elapsed_s;
    this.addBig(s / F, REQ, t.mem_req_byte_s);
    this.addBig(s / F, USED, t.mem_used_byte_s);
  }

  // Slot s's field k (REQ or USED) gains x: as a double while the sum stays exact.
  private addBig(s: number, k: number, x: bigint): void {
    const i = F * s + k;
    const key = 2 * s + k - REQ;
    const big = this.big.get(key);
    if (big === undefined && x < EXACT_BIG) {
      const sum = (this.v[i] as number) + Number(x);
      if (sum < EXACT) {
        this.v[i] = sum;
        return;
      }
    }
    this.big.set(key, (big ?? 0n) + BigInt(this.v[i] as number) + x);
    this.v[i] = 0;
  }

  // Slot s's totals, added to t.
  sumInto(s: number, t: Totals): void {
    const f = F * s;
    const v = this.v;
    t.jobs += v[f] as number;
    t.failed_jobs += v[f + 1] as number;
    t.gpu_jobs += v[f + 2] as number;
    t.cpu_s += v[f + 3] as number;
    t.elapsed_s += v[f + 4] as number;
    t.gpu_s += v[f + 5] as number;
    t.gpu_elapsed_s += v[f + 6] as number;
    t.mem_req_byte_s += this.exact(s, REQ);
    t.mem_used_byte_s += this.exact(s, USED);
  }

  // Slot s's field k (REQ or USED) as a BigInt.
  private exact(s: number, k: number): bigint {
    const big = this.big.get(2 * s + k - REQ);
    const x = BigInt(this.v[F * s + k] as number);
    return big === undefined ? x : big + x;
  }

  // The totals of a name's day (undefined if it has none): for tests and readers, not the
  // commit's path.
  get(name: string, d: number): Totals | undefined {
    const e = this.index.get(name);
    const s = e === undefined ? -1 : this.find(e, d);
    if (s < 0) return undefined;
    const t = zeroTotals();
    this.sumInto(s, t);
    return t;
  }

  // Each entry's sum over its days (a month's per-user totals).
  sums(): Map<string, Totals> {
    const out = new Map<string, Totals>();
    for (let e = 0; e < this.names.length; e++) {
      const t = zeroTotals();
      forDays(this.mask[e] as number, (d) => this.sumInto(this.find(e, d), t));
      out.set(this.names[e] as string, t);
    }
    return out;
  }

  // Bins read from a daily file.
  static of(bins: DailyBins): DayBins {
    const out = new DayBins();
    for (const [name, days] of bins) {
      const e = out.entry(name);
      for (const [day, t] of days) out.addTotals(e, (day.charCodeAt(0) - 48) * 10 + day.charCodeAt(1) - 48, t);
    }
    return out;
  }

  // `"dd":{"jobs":..,"mem_used_byte_s":".."}` of slot s (day d) into o at p, as totalsText
  // writes it (lib/core/store/rollup-files.ts); returns where it ends. o must have room for
  // dayRoom(s) bytes.
  writeDay(o: Uint8Array, p: number, d: number, s: number): number {
    o[p] = 34;
    o[p + 1] = 48 + ((d / 10) | 0);
    o[p + 2] = 48 + (d % 10);
    o[p + 3] = 34;
    o[p + 4] = 58;
    p += 5;
    const v = this.v;
    const f = F * s;
    for (let k = 0; k < REQ; k++) {
      p = put(o, p, HEADS[k] as Uint8Array);
      p = digits(o, p, v[f + k] as number);
    }
    for (let k = REQ; k < F; k++) {
      p = put(o, p, HEADS[k] as Uint8Array);
      const big = this.big.get(2 * s + k - REQ);
      p = big === undefined ? digits(o, p, v[f + k] as number) : ascii(o, p, String(big + BigInt(v[f + k] as number)));
    }
    o[p] = 34;
    o[p + 1] = 125;
    return p + 2;
  }

  // The most bytes writeDay writes for slot s.
  dayRoom(s: number): number {
    if (this.big.size === 0 || (!this.big.has(2 * s) && !this.big.has(2 * s + 1))) return DAY_ROOM;
    return DAY_ROOM + String(this.big.get(2 * s) ?? 0n).length + String(this.big.get(2 * s + 1) ?? 0n).length;
  }
}

// Calls f for each day (1..31) set in mask, in order.
export function forDays(mask: number, f: (d: number) => void): void {
  for (let m = mask >>> 1, d = 1; m !== 0; m >>>= 1, d++) if ((m & 1) !== 0) f(d);
}

// Number of days set in mask.
export function dayCount(mask: number): number {
  let n = 0;
  for (let m = mask >>> 0; m !== 0; m &= m - 1) n++;
  return n;
}

const EXACT_BIG = BigInt(EXACT);

// What totalsText writes before each value.
const HEADS = ['{"jobs":', ',"failed_jobs":', ',"gpu_jobs":', ',"cpu_s":', ',"elapsed_s":', ',"gpu_s":', ',"gpu_elapsed_s":', ',"mem_req_byte_s":"', '","mem_used_byte_s":"'].map(
  (h) => Buffer.from(h, 'latin1'),
);
// the day, its heads, nine numbers of up to 22 characters (String of a double), the end
const DAY_ROOM = 5 + HEADS.reduce((n, h) => n + h.length, 0) + 9 * 24 + 2;

function put(o: Uint8Array, p: number, b: Uint8Array): number {
  for (let i = 0; i < b.length; i++) o[p + i] = b[i] as number;
  return p + b.length;
}

function ascii(o: Uint8Array, p: number, s: string): number {
  for (let i = 0; i < s.length; i++) o[p + i] = s.charCodeAt(i);
  return p + s.length;
}

// The decimal digits of x as String(x) (and JSON) writes them: by hand for a whole number
// below 2^53, else through String.
function digits(o: Uint8Array, p: number, x: number): number {
  if (x < 2 ** 31 && x >= 0 && (x | 0) === x) return small(o, p, x);
  if (x >= 0 && x < EXACT && Math.floor(x) === x) {
    const hi = Math.floor(x / 1e9);
    let lo = x - hi * 1e9;
    p = hi < 2 ** 31 ? small(o, p, hi) : ascii(o, p, String(hi));
    for (let i = p + 8; i >= p; i--) {
      o[i] = 48 + (lo % 10);
      lo = (lo / 10) | 0;
    }
    return p + 9;
  }
  return ascii(o, p, String(x));
}

// digits of a whole number in 0..2^31
function small(o: Uint8Array, p: number, x: number): number {
  let n = 1;
  for (let y = x; y >= 10; y = (y / 10) | 0) n++;
  for (let i = p + n - 1; i >= p; i--) {
    o[i] = 48 + (x % 10);
    x = (x / 10) | 0;
  }
  return p + n;
}

function grown<T extends Int32Array | Float64Array>(a: T, n: number): T {
  const b = new (a.constructor as new (n: number) => T)(n);
  b.set(a);
  return b;
}

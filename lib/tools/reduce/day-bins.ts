// Daily bins of named entries (a month's users, or one account's users) as numbers in columns.
// Kept between commits as a Totals object and two BigInts a user's and an account's day, they
// were most of what each young-generation collection still copied; numbers in typed arrays are
// never copied, and a day's text is written from them without a string (writeDay).
import { zeroTotals, type Totals } from '../../core/scores/metrics.js';
import type { DailyBins } from '../../core/store/rollup-files.js';
import type { PendingJob } from './held.js';

// A day's totals: jobs, failed_jobs, gpu_jobs, cpu_s, elapsed_s, gpu_s, gpu_elapsed_s (the
// order of their text), then mem_req_byte_s and mem_used_byte_s each as two doubles, hi and
// lo: the value is hi·10^15 + lo (lo < 10^15, hi < 2^53), exact far past 2^53 without a BigInt,
// and its digits are hi's then lo's. What is past even that goes to `big`.
const F = 11;
const REQ = 7;
const USED = 9;
const EXACT = 2 ** 53;
const B = 1e15;
const BN = 10n ** 15n;

export class DayBins {
  // name → entry, and back
  readonly index = new Map<string, number>();
  readonly names: string[] = [];
  // entry e's days: bit d (1..31) set when it has day d
  mask = new Int32Array(16);
  // entry e, day d → its slot + 1 (0: none)
  private slot = new Int32Array(16 * 32);
  // slot s's totals at v[F s ..]
  v = new Float64Array(F * 64);
  // byte-seconds past 2^53·10^15 (key 2 s for mem_req_byte_s, 2 s + 1 for mem_used_byte_s),
  // added to hi and lo: for the exactness of any input, never seen in practice
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
    const n = this.at(e, d);
    const s = F * n;
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
    this.addProduct(n, REQ, j.req, t);
    this.addProduct(n, USED, j.used, t);
  }

  // Slot n's byte-seconds field k gains a·t (whole numbers).
  private addProduct(n: number, k: number, a: number, t: number): void {
    const p = a * t;
    if (p < B) this.addParts(n, k, 0, p);
    else if (p < EXACT) {
      // (exact: below 2^53, p / 10^15 is at least 10^-15 from the next whole number, more than
      // half a double's step there, so the floor is never rounded up)
      const hi = Math.floor(p / B);
      this.addParts(n, k, hi, p - hi * B);
    } else this.addExact(n, k, BigInt(a) * BigInt(t));
  }

  // Slot n's field k gains hi·10^15 + lo (hi < 2^53, lo < 10^15).
  private addParts(n: number, k: number, hi: number, lo: number): void {
    const v = this.v;
    const i = F * n + k;
    let h = (v[i] as number) + hi;
    let l = (v[i + 1] as number) + lo;
    if (l >= B) {
      l -= B;
      h++;
    }
    // (exact: a sum that is not is at least 2^53 - 1)
    if (h >= EXACT - 1) {
      const key = 2 * n + (k - REQ) / 2;
      this.big.set(key, (this.big.get(key) ?? 0n) + (BigInt(v[i] as number) + BigInt(hi)) * BN + BigInt(v[i + 1] as number) + BigInt(lo));
      h = l = 0;
    }
    v[i] = h;
    v[i + 1] = l;
  }

  // Slot n's field k gains x.
  private addExact(n: number, k: number, x: bigint): void {
    const hi = x / BN;
    if (hi < EXACT_BIG) this.addParts(n, k, Number(hi), Number(x % BN));
    else {
      const key = 2 * n + (k - REQ) / 2;
      this.big.set(key, (this.big.get(key) ?? 0n) + x);
    }
  }

  // Slot `from` of `src` into entry e's day d.
  addFrom(e: number, d: number, src: DayBins, from: number): void {
    const n = this.at(e, d);
    const s = F * n;
    const f = F * from;
    const v = this.v;
    const w = src.v;
    for (let k = 0; k < REQ; k++) v[s + k] = (v[s + k] as number) + (w[f + k] as number);
    this.addParts(n, REQ, w[f + REQ] as number, w[f + REQ + 1] as number);
    this.addParts(n, USED, w[f + USED] as number, w[f + USED + 1] as number);
    if (src.big.size > 0) {
      const req = src.big.get(2 * from);
      if (req !== undefined) this.addExact(n, REQ, req);
      const used = src.big.get(2 * from + 1);
      if (used !== undefined) this.addExact(n, USED, used);
    }
  }

  // Totals into entry e's day d.
  addTotals(e: number, d: number, t: Totals): void {
    const n = this.at(e, d);
    const s = F * n;
    const v = this.v;
    v[s] = (v[s] as number) + t.jobs;
    v[s + 1] = (v[s + 1] as number) + t.failed_jobs;
    v[s + 2] = (v[s + 2] as number) + t.gpu_jobs;
    v[s + 3] = (v[s + 3] as number) + t.cpu_s;
    v[s + 4] = (v[s + 4] as number) + t.elapsed_s;
    v[s + 5] = (v[s + 5] as number) + t.gpu_s;
    v[s + 6] = (v[s + 6] as number) + t.gpu_elapsed_s;
    this.addExact(n, REQ, t.mem_req_byte_s);
    this.addExact(n, USED, t.mem_used_byte_s);
  }

  // Entry e's totals summed over its days (its month), as exact Totals.
  entryTotals(e: number): Totals {
    const v = this.v;
    let jobs = 0;
    let failed = 0;
    let gpuJobs = 0;
    let cpu = 0;
    let elapsed = 0;
    let gpu = 0;
    let gpuElapsed = 0;
    let rh = 0;
    let rl = 0;
    let uh = 0;
    let ul = 0;
    let req = 0n;
    let used = 0n;
    for (let m = (this.mask[e] as number) >>> 1, d = 1; m !== 0; m >>>= 1, d++) {
      if ((m & 1) === 0) continue;
      const n = this.find(e, d);
      const s = F * n;
      jobs += v[s] as number;
      failed += v[s + 1] as number;
      gpuJobs += v[s + 2] as number;
      cpu += v[s + 3] as number;
      elapsed += v[s + 4] as number;
      gpu += v[s + 5] as number;
      gpuElapsed += v[s + 6] as number;
      // hi summed as a double while the sum stays below 2^52, then moved into the BigInt
      const h = v[s + REQ] as number;
      if (rh + h < 2 ** 52) rh += h;
      else {
        req += BigInt(rh) * BN;
        rh = h;
      }
      const g = v[s + USED] as number;
      if (uh + g < 2 ** 52) uh += g;
      else {
        used += BigInt(uh) * BN;
        uh = g;
      }
      rl += v[s + REQ + 1] as number;
      ul += v[s + USED + 1] as number;
      if (rl >= B) {
        rl -= B;
        rh++;
      }
      if (ul >= B) {
        ul -= B;
        uh++;
      }
      if (this.big.size > 0) {
        req += this.big.get(2 * n) ?? 0n;
        used += this.big.get(2 * n + 1) ?? 0n;
      }
    }
    return {
      jobs,
      failed_jobs: failed,
      gpu_jobs: gpuJobs,
      cpu_s: cpu,
      elapsed_s: elapsed,
      gpu_s: gpu,
      gpu_elapsed_s: gpuElapsed,
      mem_req_byte_s: req + BigInt(rh) * BN + BigInt(rl),
      mem_used_byte_s: used + BigInt(uh) * BN + BigInt(ul),
    };
  }

  // Slot n's totals, added to t.
  sumInto(n: number, t: Totals): void {
    const f = F * n;
    const v = this.v;
    t.jobs += v[f] as number;
    t.failed_jobs += v[f + 1] as number;
    t.gpu_jobs += v[f + 2] as number;
    t.cpu_s += v[f + 3] as number;
    t.elapsed_s += v[f + 4] as number;
    t.gpu_s += v[f + 5] as number;
    t.gpu_elapsed_s += v[f + 6] as number;
    t.mem_req_byte_s += this.exact(n, REQ);
    t.mem_used_byte_s += this.exact(n, USED);
  }

  // Slot n's field k as a BigInt.
  private exact(n: number, k: number): bigint {
    const x = BigInt(this.v[F * n + k] as number) * BN + BigInt(this.v[F * n + k + 1] as number);
    return x + (this.big.get(2 * n + (k - REQ) / 2) ?? 0n);
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
    for (let e = 0; e < this.names.length; e++) out.set(this.names[e] as string, this.entryTotals(e));
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

  // `"dd":{"jobs":..,"mem_used_byte_s":".."}` of slot n (day d) into o at p, as totalsText
  // writes it (lib/core/store/rollup-files.ts); returns where it ends. o must have room for
  // dayRoom(n) bytes.
  writeDay(o: Uint8Array, p: number, d: number, n: number): number {
    o[p] = 34;
    o[p + 1] = 48 + ((d / 10) | 0);
    o[p + 2] = 48 + (d % 10);
    o[p + 3] = 34;
    o[p + 4] = 58;
    p += 5;
    const v = this.v;
    const f = F * n;
    for (let k = 0; k < REQ; k++) {
      p = put(o, p, HEADS[k] as Uint8Array);
      p = digits(o, p, v[f + k] as number);
    }
    p = this.byteSeconds(o, put(o, p, HEADS[7] as Uint8Array), n, REQ);
    p = this.byteSeconds(o, put(o, p, HEADS[8] as Uint8Array), n, USED);
    o[p] = 34;
    o[p + 1] = 125;
    return p + 2;
  }

  // The digits of slot n's field k (REQ or USED).
  private byteSeconds(o: Uint8Array, p: number, n: number, k: number): number {
    const hi = this.v[F * n + k] as number;
    const lo = this.v[F * n + k + 1] as number;
    if (this.big.size > 0 && this.big.has(k === REQ ? 2 * n : 2 * n + 1)) return ascii(o, p, String(this.exact(n, k)));
    return hi === 0 ? digits(o, p, lo) : fifteen(o, digits(o, p, hi), lo);
  }

  // The most bytes writeDay writes for slot n.
  dayRoom(n: number): number {
    if (this.big.size === 0 || (!this.big.has(2 * n) && !this.big.has(2 * n + 1))) return DAY_ROOM;
    return DAY_ROOM + String(this.exact(n, REQ)).length + String(this.exact(n, USED)).length;
  }
}

const EXACT_BIG = BigInt(EXACT);

// What totalsText writes before each value.
const HEADS = ['{"jobs":', ',"failed_jobs":', ',"gpu_jobs":', ',"cpu_s":', ',"elapsed_s":', ',"gpu_s":', ',"gpu_elapsed_s":', ',"mem_req_byte_s":"', '","mem_used_byte_s":"'].map(
  (h) => Buffer.from(h, 'latin1'),
);
// the day, its heads, seven numbers of up to 22 characters (String of a double), two
// byte-seconds of up to 16 + 15 digits (hi and lo), the end
const DAY_ROOM = 5 + HEADS.reduce((n, h) => n + h.length, 0) + 7 * 22 + 2 * 31 + 2;

function put(o: Uint8Array, p: number, b: Uint8Array): number {
  o.set(b, p);
  return p + b.length;
}

function ascii(o: Uint8Array, p: number, s: string): number {
  for (let i = 0; i < s.length; i++) o[p + i] = s.charCodeAt(i);
  return p + s.length;
}

// The decimal digits of x as String(x) (and JSON) writes them: by hand for a whole number
// below 2^53, else through String. (In 32-bit integers: % of a double is a call.)
function digits(o: Uint8Array, p: number, x: number): number {
  if (x >= 0 && x < 2 ** 31 && (x | 0) === x) return small(o, p, x);
  if (x >= 0 && x < EXACT && Math.floor(x) === x) {
    const hi = Math.floor(x / 1e9);
    p = hi < 2 ** 31 ? small(o, p, hi) : ascii(o, p, String(hi));
    return nine(o, p, x - hi * 1e9);
  }
  return ascii(o, p, String(x));
}

// x (below 10^9) as nine digits, zeros first
function nine(o: Uint8Array, p: number, x: number): number {
  let y = x | 0;
  for (let i = p + 8; i >= p; i--) {
    const q = (y / 10) | 0;
    o[i] = 48 + y - q * 10;
    y = q;
  }
  return p + 9;
}

// lo (below 10^15) as fifteen digits, zeros first
function fifteen(o: Uint8Array, p: number, lo: number): number {
  const hi = Math.floor(lo / 1e9);
  let y = hi | 0;
  for (let i = p + 5; i >= p; i--) {
    const q = (y / 10) | 0;
    o[i] = 48 + y - q * 10;
    y = q;
  }
  return nine(o, p + 6, lo - hi * 1e9);
}

// the digits of a whole number in 0..2^31
function small(o: Uint8Array, p: number, x: number): number {
  let y = x | 0;
  const n = y < 10 ? 1 : y < 100 ? 2 : y < 1e3 ? 3 : y < 1e4 ? 4 : y < 1e5 ? 5 : y < 1e6 ? 6 : y < 1e7 ? 7 : y < 1e8 ? 8 : y < 1e9 ? 9 : 10;
  for (let i = p + n - 1; i >= p; i--) {
    const q = (y / 10) | 0;
    o[i] = 48 + y - q * 10;
    y = q;
  }
  return p + n;
}

function grown<T extends Int32Array | Float64Array>(a: T, n: number): T {
  const b = new (a.constructor as new (n: number) => T)(n);
  b.set(a);
  return b;
}

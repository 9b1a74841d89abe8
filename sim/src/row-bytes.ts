// The fast path for -p/-P output: rows written byte by byte into the output buffer (digits,
// times and TRES lists without building strings), which is what makes millions of rows a second
// possible. Anything without a byte writer goes through its string form.
import type { Job, Step } from './generate.js';
import { STATE_NAMES } from './job-state.js';
import { EXPR, type Field, type Helpers } from './row-format.js';
import { civil, type LocalZone } from './time-format.js';

export type ByteRow = (b: Buffer, o: number, j: Job) => number;
export type ByteStepRow = (b: Buffer, o: number, j: Job, s: Step) => number;

// A number of a job printed on each of its rows: its digits made once for the job, then copied.
class JobDigits {
  private job: Job | null = null;
  private readonly digits = Buffer.alloc(24);
  private len = 0;

  copy(w: ByteWriter, b: Buffer, o: number, j: Job, n: number): number {
    if (j !== this.job) {
      this.job = j;
      this.len = w.uint(this.digits, 0, n);
    }
    const d = this.digits;
    const len = this.len;
    for (let i = 0; i < len; i++) b[o + i] = d[i]!;
    return o + len;
  }
}

export class ByteWriter {
  private day = NaN;
  private ymd = new Uint8Array(11);
  private readonly db = new JobDigits();
  private readonly raw = new JobDigits();
  private day2 = NaN;
  private ymd2 = new Uint8Array(11);
  private t1 = NaN;
  private t2 = NaN;
  private m1: Uint8Array = new Uint8Array(19);
  private m2: Uint8Array = new Uint8Array(19);

  constructor(
    private readonly zone: LocalZone,
    private readonly H: Helpers,
    private readonly rawRss: boolean,
  ) {}

  str(b: Buffer, o: number, s: string): number {
    const n = s.length;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c > 127) return o + i + b.write(s.slice(i), o + i);
      b[o + i] = c;
    }
    return o + n;
  }

  uint(b: Buffer, o: number, n: number): number {
    if (n < 2147483648) {
      let x = n | 0;
      if (x < 10) {
        b[o] = 48 + x;
        return o + 1;
      }
      const len = x < 100 ? 2 : x < 1000 ? 3 : x < 10000 ? 4 : x < 100000 ? 5 : x < 1000000 ? 6 : x < 10000000 ? 7 : x < 100000000 ? 8 : x < 1000000000 ? 9 : 10;
      let p = o + len - 1;
      while (x >= 10) {
        const q = (x / 10) | 0;
        b[p--] = 48 + x - q * 10;
        x = q;
      }
      b[p] = 48 + x;
      return o + len;
    }
    // Beyond 31 bits: the high part, then the low nine digits zero-padded.
    const hi = Math.floor(n / 1e9);
    let x = n - hi * 1e9;
    o = this.uint(b, o, hi);
    for (let p = o + 8; p >= o; p--) {
      const q = (x / 10) | 0;
      b[p] = 48 + x - q * 10;
      x = q;
    }
    return o + 9;
  }

  // A job's DBIndex and JobIDRaw are printed on each of its rows: digits made once, then copied.
  dbIndex(b: Buffer, o: number, j: Job): number {
    return this.db.copy(this, b, o, j, j.dbIndex);
  }

  rawId(b: Buffer, o: number, j: Job): number {
    return this.raw.copy(this, b, o, j, j.rawId);
  }

  private two(b: Buffer, o: number, n: number): void {
    const t = (n / 10) | 0;
    b[o] = 48 + t;
    b[o + 1] = 48 + (n - t * 10);
  }

  // YYYY-MM-DDTHH:MM:SS in local time ("Unknown" for 0). A job's rows repeat its times, so the
  // last two are kept ready to copy.
  time(b: Buffer, o: number, t: number): number {
    let m: Uint8Array;
    if (t === this.t1) m = this.m1;
    else if (t === this.t2) m = this.m2;
    else {
      if (t === 0) return this.str(b, o, 'Unknown');
      m = this.m2;
      this.m2 = this.m1;
      this.t2 = this.t1;
      this.m1 = m;
      this.t1 = t;
      if (!this.render(m, t)) {
        this.t1 = NaN;
        return this.str(b, o, this.H.T(t));
      }
    }
    for (let i = 0; i < 19; i++) b[o + i] = m[i]!;
    return o + 19;
  }

  private render(m: Uint8Array, t: number): boolean {
    const lt = t + this.zone.offset(t);
    const day = Math.floor(lt / 86400);
    if (day === this.day2) {
      // Swap the two cached dates (a job's Submit is often days before its End).
      const d = this.day;
      this.day = this.day2;
      this.day2 = d;
      const y = this.ymd;
      this.ymd = this.ymd2;
      this.ymd2 = y;
    } else if (day !== this.day) {
      const [y, mo, d] = civil(day);
      if (y < 1000 || y > 9999) return false;
      this.day2 = this.day;
      const spare = this.ymd2;
      this.ymd2 = this.ymd;
      this.ymd = spare;
      this.day = day;
      const ymd = this.ymd;
      const yh = (y / 100) | 0;
      this.twoInto(ymd, 0, yh);
      this.twoInto(ymd, 2, y - yh * 100);
      ymd[4] = 45;
      this.twoInto(ymd, 5, mo);
      ymd[7] = 45;
      this.twoInto(ymd, 8, d);
      ymd[10] = 84;
    }
    for (let i = 0; i < 11; i++) m[i] = this.ymd[i]!;
    const s = lt - day * 86400;
    const h = (s / 3600) | 0;
    const mi = ((s - h * 3600) / 60) | 0;
    this.twoInto(m, 11, h);
    m[13] = 58;
    this.twoInto(m, 14, mi);
    m[16] = 58;
    this.twoInto(m, 17, s - h * 3600 - mi * 60);
    return true;
  }

  private twoInto(a: Uint8Array, o: number, n: number): void {
    const t = (n / 10) | 0;
    a[o] = 48 + t;
    a[o + 1] = 48 + (n - t * 10);
  }

  // [D-]HH:MM:SS
  dur(b: Buffer, o: number, secs: number): number {
    if (secs < 0) return this.str(b, o, 'INVALID');
    const days = Math.floor(secs / 86400);
    let r = secs - days * 86400;
    if (days > 0) {
      o = this.uint(b, o, days);
      b[o++] = 45;
    }
    const h = (r / 3600) | 0;
    r -= h * 3600;
    const m = (r / 60) | 0;
    this.two(b, o, h);
    b[o + 2] = 58;
    this.two(b, o + 3, m);
    b[o + 5] = 58;
    this.two(b, o + 6, r - m * 60);
    return o + 8;
  }

  jobStart(b: Buffer, o: number, j: Job): number {
    if (j.placeholder) return this.str(b, o, 'Unknown');
    return j.allocated ? this.time(b, o, j.start) : this.str(b, o, 'None');
  }

  timelimit(b: Buffer, o: number, j: Job): number {
    return j.timelimit > 0 ? this.dur(b, o, j.timelimit * 60) : this.str(b, o, this.H.timelimit(j));
  }

  state(b: Buffer, o: number, state: number, requid: number): number {
    o = this.str(b, o, STATE_NAMES[state] ?? 'UNKNOWN');
    if (requid < 0) return o;
    o = this.str(b, o, ' by ');
    return this.uint(b, o, requid);
  }

  jobId(b: Buffer, o: number, j: Job): number {
    if (j.arrayId === 0) return this.rawId(b, o, j);
    o = this.uint(b, o, j.arrayId);
    b[o++] = 95;
    return this.uint(b, o, j.arrayTask);
  }

  stepId(b: Buffer, o: number, s: Step): number {
    b[o++] = 46;
    return this.str(b, o, s.id);
  }

  rss(b: Buffer, o: number, kb: number): number {
    if (kb < 0) return o;
    return this.rawRss ? this.uint(b, o, kb * 1024) : this.str(b, o, this.H.rss(kb));
  }

  // billing=..,cpu=..,[gres..,]mem=..,node=.. (billing < 0: left out, as on step rows)
  tres(b: Buffer, o: number, j: Job, billing: number, cpus: number, gpus: number, memMB: number, nodes: number): number {
    if (billing >= 0) {
      o = this.str(b, o, 'billing=');
      o = this.uint(b, o, billing);
      b[o++] = 44;
    }
    o = this.str(b, o, 'cpu=');
    o = this.uint(b, o, cpus);
    b[o++] = 44;
    if (gpus > 0) {
      if (j.gpuForm !== 1) {
        o = this.str(b, o, 'gres/gpu:');
        o = this.str(b, o, j.part.gpuType);
        b[o++] = 61;
        o = this.uint(b, o, gpus);
        b[o++] = 44;
      }
      if (j.gpuForm !== 2) {
        o = this.str(b, o, 'gres/gpu=');
        o = this.uint(b, o, gpus);
        b[o++] = 44;
      }
    }
    o = this.str(b, o, 'mem=');
    o = this.str(b, o, this.H.U.mb(memMB));
    o = this.str(b, o, ',node=');
    return this.uint(b, o, nodes);
  }

  allocTres(b: Buffer, o: number, j: Job): number {
    if (!j.allocated) return o;
    return this.tres(b, o, j, j.cpus + 8 * j.gpus, j.cpus, j.gpus, j.reqMemMB, j.nodes);
  }

  stepTres(b: Buffer, o: number, j: Job, s: Step): number {
    if (s.id === 'extern') return this.allocTres(b, o, j);
    return this.tres(b, o, j, -1, s.cpus, s.gpus, s.memMB, s.nodes);
  }
}

// Byte writers for the fields that have one: [job row, step row] as code over b, o, j, s, W.
const FAST: Record<string, [string, string]> = {
  Account: ['o=W.str(b,o,j.account)', 'o=W.str(b,o,j.account)'],
  AllocCPUS: ['o=W.uint(b,o,j.cpus)', 'o=W.uint(b,o,s.cpus)'],
  AllocTRES: ['o=W.allocTres(b,o,j)', 'o=W.stepTres(b,o,j,s)'],
  Cluster: ['o=W.str(b,o,j.cluster)', 'o=W.str(b,o,j.cluster)'],
  DBIndex: ['o=W.dbIndex(b,o,j)', 'o=W.dbIndex(b,o,j)'],
  Elapsed: ['o=W.dur(b,o,j.elapsed)', 'o=W.dur(b,o,s.end-s.start)'],
  ElapsedRaw: ['o=W.uint(b,o,j.elapsed)', 'o=W.uint(b,o,s.end-s.start)'],
  Eligible: ['o=W.time(b,o,j.submit)', 'o=W.time(b,o,s.start)'],
  End: ['o=W.time(b,o,j.placeholder?0:j.end)', 'o=W.time(b,o,s.end)'],
  ExitCode: ['o=W.str(b,o,j.exitCode)', 'o=W.str(b,o,s.exitCode)'],
  Group: ['o=W.str(b,o,j.user.group)', ''],
  JobID: ['o=W.jobId(b,o,j)', 'o=W.jobId(b,o,j);o=W.stepId(b,o,s)'],
  JobIDRaw: ['o=W.rawId(b,o,j)', 'o=W.rawId(b,o,j);o=W.stepId(b,o,s)'],
  MaxRSS: ['', 'o=W.rss(b,o,s.rssKB)'],
  NCPUS: ['o=W.uint(b,o,j.cpus)', 'o=W.uint(b,o,s.cpus)'],
  NNodes: ['o=W.uint(b,o,j.nodes)', 'o=W.uint(b,o,s.nodes)'],
  Partition: ['o=W.str(b,o,j.part.name)', ''],
  QOS: ['o=W.str(b,o,j.qos)', ''],
  Start: ['o=W.jobStart(b,o,j)', 'o=W.time(b,o,s.start)'],
  State: ['o=W.state(b,o,j.state,j.requid)', 'o=W.state(b,o,s.state,s.requid)'],
  Submit: ['o=W.time(b,o,j.submit)', 'o=W.time(b,o,s.start)'],
  Timelimit: ['o=W.timelimit(b,o,j)', ''],
  UID: ['o=W.str(b,o,j.user.uidStr)', ''],
  User: ['o=W.str(b,o,j.user.name)', ''],
};

// Whether the byte path can print this layout: parsable output with standard times.
export function byteRowsApply(standardTime: boolean, parsable: boolean): boolean {
  return standardTime && parsable;
}

// The most one row can take: generous per field, checked after every job (see main.ts).
export function rowBound(fields: readonly Field[], delimiter: string): number {
  return 64 + fields.length * (512 + Buffer.byteLength(delimiter));
}

export function compileByteRow(
  fields: readonly Field[],
  trailing: boolean,
  delimiter: string,
  W: ByteWriter,
  H: Helpers,
): { job: ByteRow; step: ByteStepRow } {
  const bytes = [...Buffer.from(delimiter, 'utf8')];
  const delim = bytes.map((c) => `b[o++]=${c};`).join('');
  const body = (which: 0 | 1): string => {
    const code = fields.map((f, i) => {
      const fast = FAST[f.name];
      let c: string;
      if (fast !== undefined) c = fast[which];
      else {
        const e = EXPR[f.name]?.[which];
        c = e === undefined || e === "''" ? '' : `o=W.str(b,o,''+${e})`;
      }
      const last = i === fields.length - 1;
      return (c === '' ? '' : c + ';') + (last && !trailing ? '' : delim);
    });
    return code.join('') + 'b[o++]=10;return o;';
  };
  const make = new Function('W', 'H', `return {job:function(b,o,j){${body(0)}},step:function(b,o,j,s){${body(1)}}};`);
  return make(W, H) as { job: ByteRow; step: ByteStepRow };
}

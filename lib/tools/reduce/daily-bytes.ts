// A month's daily file kept between commits as the bytes last written, with where each user's
// entry and each of its days is: a commit copies the days it did not change and formats only
// those it did. The text of each day kept as a string (~30,000 a month, most of what a commit
// left alive) was copied by every young-generation collection until it was old; bytes in a
// Buffer are never copied by the collector.
import { ROLLUP_SCHEMA } from '../../core/store/rollup-files.js';
import type { DayBins } from './day-bins.js';

// Where a user's entry `"<user>":{"<dd>":<Totals JSON>,...}` is in the bytes last written, and
// each of its days (at[2d], at[2d + 1]; -1 before it is written); `days`: the days it has
// (bit d); `dirty`: the days changed since.
interface Entry {
  start: number;
  end: number;
  days: number;
  at: Int32Array;
  dirty: number;
}

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export class DailyBytes {
  private buf: Buffer = Buffer.alloc(0);
  private readonly users = new Map<string, Entry>();
  private readonly accounts = new Map<string, Map<string, Entry>>();
  // where the next bytes go, while formatting
  private out: Buffer = Buffer.alloc(0);
  private pos = 0;

  // The user's day (1..31) changed: format it again.
  changed(user: string, day: number): void {
    mark(this.users.get(user), day);
  }

  // The same, of the user's day in an account.
  changedIn(account: string, user: string, day: number): void {
    mark(this.accounts.get(account)?.get(user), day);
  }

  // formatDaily (lib/core/store/rollup-files.ts) of the month, the same bytes, with the days
  // not marked changed copied from the bytes last written. The caller must not change them.
  format(cluster: string, month: string, bins: DayBins, accounts?: Map<string, DayBins>): Buffer {
    const old = this.buf;
    this.out = Buffer.allocUnsafe(Math.max(4096, old.length + (old.length >> 2)));
    this.pos = 0;
    this.text(JSON.stringify({ cluster, month, schema_version: ROLLUP_SCHEMA }).slice(0, -1) + ',"users":{');
    if (bins.size > 0) {
      this.text('\n');
      this.entries(old, bins, this.users, ',\n');
      this.text('\n');
    }
    this.text('}');
    if (accounts !== undefined) {
      this.text(',"accounts":{');
      let first = true;
      for (const a of [...accounts.keys()].sort(byName)) {
        let entries = this.accounts.get(a);
        if (entries === undefined) this.accounts.set(a, (entries = new Map()));
        this.text(`${first ? '\n' : ',\n'}${JSON.stringify(a)}:{`);
        this.entries(old, accounts.get(a) as DayBins, entries, ',');
        this.text('}');
        first = false;
      }
      this.text(first ? '}' : '\n}');
    }
    this.text('}\n');
    this.buf = this.out.subarray(0, this.pos);
    this.out = Buffer.alloc(0);
    return this.buf;
  }

  // Each entry, sorted by name, `sep` between them.
  private entries(old: Buffer, bins: DayBins, entries: Map<string, Entry>, sep: string): void {
    let firstUser = true;
    for (const u of [...bins.index.keys()].sort(byName)) {
      const ei = bins.index.get(u) as number;
      const mask = bins.mask[ei] as number;
      if (!firstUser) this.text(sep);
      firstUser = false;
      let e = entries.get(u);
      if (e === undefined) entries.set(u, (e = { start: -1, end: -1, days: 0, at: new Int32Array(64).fill(-1), dirty: 0 }));
      const start = this.pos;
      if (e.start >= 0 && e.dirty === 0 && e.days === mask) {
        // not changed: the whole entry as it was, its days moved with it
        this.bytes(old, e.start, e.end);
        const shift = start - e.start;
        for (let i = 0; i < 64; i++) if ((e.at[i] as number) >= 0) e.at[i] = (e.at[i] as number) + shift;
      } else {
        // Days not changed that were next to each other are copied at once; a changed day's
        // text is written from its numbers. Pending at any time: a run of old bytes (runS < runE).
        const at = new Int32Array(64).fill(-1);
        this.text(`${JSON.stringify(u)}:{`);
        let runS = 0;
        let runE = 0;
        let firstDay = true;
        for (let m = mask >>> 1, n = 1; m !== 0; m >>>= 1, n++) {
          if ((m & 1) === 0) continue;
          const was = e.at[2 * n] as number;
          if (was >= 0 && (e.dirty & (1 << n)) === 0) {
            const end = e.at[2 * n + 1] as number;
            // right after the run, the ',' between them in the old bytes
            if (runS < runE && was === runE + 1 && !firstDay) runE = end;
            else {
              this.run(old, runS, runE);
              if (!firstDay) this.byte(44);
              runS = was;
              runE = end;
            }
            at[2 * n] = this.pos + was - runS;
            at[2 * n + 1] = this.pos + end - runS;
          } else {
            this.run(old, runS, runE);
            runS = runE = 0;
            if (!firstDay) this.byte(44);
            const s = bins.find(ei, n);
            this.room(bins.dayRoom(s));
            at[2 * n] = this.pos;
            this.pos = bins.writeDay(this.out, this.pos, n, s);
            at[2 * n + 1] = this.pos;
          }
          firstDay = false;
        }
        this.run(old, runS, runE);
        this.byte(125);
        e.at = at;
        e.days = mask;
        e.dirty = 0;
      }
      e.start = start;
      e.end = this.pos;
    }
  }

  private text(s: string): void {
    this.room(s.length * 3);
    this.pos += this.out.write(s, this.pos, 'utf8');
  }

  private byte(c: number): void {
    this.room(1);
    this.out[this.pos++] = c;
  }

  private run(b: Buffer, s: number, e: number): void {
    if (s < e) this.bytes(b, s, e);
  }

  private bytes(b: Buffer, s: number, e: number): void {
    this.room(e - s);
    this.pos += b.copy(this.out, this.pos, s, e);
  }

  private room(n: number): void {
    if (this.pos + n <= this.out.length) return;
    const more = Buffer.allocUnsafe(Math.max(2 * this.out.length, this.pos + n));
    this.out.copy(more, 0, 0, this.pos);
    this.out = more;
  }
}

function mark(e: Entry | undefined, day: number): void {
  if (e !== undefined) e.dirty |= 1 << day;
}

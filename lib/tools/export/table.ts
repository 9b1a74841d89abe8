import { SbError } from '../../core/cli/errors.js';
import { TOTAL_FIELDS, addTotals, zeroTotals, type Totals } from '../../core/scores/metrics.js';
import type { DailyFile } from '../../core/store/rollup-files.js';
import { subtractIntervals, type Interval } from '../../core/store/chunk-ledger.js';

// One row of the long table: a user's (or the opted-out users') total of one metric on one
// day and account, in the store's base units. `user` null: opted-out users, summed and never
// named; `account` null: counted before the store kept accounts.
export interface Row {
  cluster: string;
  day: string;
  user: string | null;
  account: string | null;
  metric: (typeof TOTAL_FIELDS)[number];
  value: bigint;
}

// What a month's daily file says about accounts: every day's usage is split by account,
// some of it is, or none (a file written before the store kept accounts).
export type AccountCover = 'complete' | 'partial' | 'absent';

export interface MonthTable {
  rows: Row[];
  accounts: AccountCover;
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

// left − right field by field; undefined when some field of right exceeds left's.
function minus(left: Totals, right: Totals): Totals | undefined {
  const out = zeroTotals();
  for (const f of TOTAL_FIELDS) {
    if (f === 'mem_req_byte_s' || f === 'mem_used_byte_s') out[f] = left[f] - right[f];
    else out[f] = left[f] - right[f];
    if (out[f] < 0) return undefined;
  }
  return out;
}

// The long table of one cluster-month: per day, user and account the non-zero totals, one row
// a metric, sorted (day, user, account, metric in TOTAL_FIELDS order; null user and account
// last). Usage not split by account (counted before accounts were kept) is a row with account
// null, so a user's rows always sum to the user's totals. Users in `hidden` (opted out) are
// summed into user null.
export function monthTable(cluster: string, month: string, doc: DailyFile, hidden: ReadonlySet<string>, file: string): MonthTable {
  const cells = new Map<string, { day: string; user: string | null; account: string | null; t: Totals }>();
  const add = (day: string, user: string, account: string | null, t: Totals): void => {
    const who = hidden.has(user) ? null : user;
    const key = `${day}\0${who === null ? '1' : '0' + who}\0${account === null ? '1' : '0' + account}`;
    let c = cells.get(key);
    if (c === undefined) cells.set(key, (c = { day, user: who, account, t: zeroTotals() }));
    addTotals(c.t, t);
  };
  let split = 0;
  let unsplit = 0;
  for (const [user, byDay] of doc.users) {
    for (const [dd, total] of byDay) {
      let rest = total;
      if (doc.accounts !== undefined) {
        for (const [account, byUser] of doc.accounts) {
          const t = byUser.get(user)?.get(dd);
          if (t === undefined) continue;
          const left = minus(rest, t);
          if (left === undefined) throw new SbError(`${file}: accounts of user '${user}' on day ${dd} add up to more than users.${user}.${dd}`);
          rest = left;
          add(`${month}-${dd}`, user, account, t);
        }
      }
      if (TOTAL_FIELDS.some((f) => rest[f] !== 0 && rest[f] !== 0n)) {
        unsplit++;
        add(`${month}-${dd}`, user, null, rest);
      } else split++;
    }
  }
  if (doc.accounts !== undefined) {
    for (const [account, byUser] of doc.accounts) {
      for (const [user, byDay] of byUser) {
        for (const dd of byDay.keys()) {
          if (!doc.users.get(user)?.has(dd)) throw new SbError(`${file}: accounts.${account}.${user}.${dd} has no users.${user}.${dd}`);
        }
      }
    }
  }
  const order = (x: string | null, y: string | null): number => (x === y ? 0 : x === null ? 1 : y === null ? -1 : cmp(x, y));
  const sorted = [...cells.values()].sort((a, b) => cmp(a.day, b.day) || order(a.user, b.user) || order(a.account, b.account));
  const rows: Row[] = [];
  for (const c of sorted) {
    for (const metric of TOTAL_FIELDS) {
      const v = c.t[metric];
      if (v === 0 || v === 0n) continue;
      rows.push({ cluster, day: c.day, user: c.user, account: c.account, metric, value: BigInt(v) });
    }
  }
  const accounts: AccountCover = doc.accounts === undefined ? 'absent' : unsplit === 0 ? 'complete' : split === 0 ? 'absent' : 'partial';
  return { rows, accounts };
}

// The months ('YYYY-MM') every second of which the chunk ledger holds as done, in order.
export function settledMonths(done: readonly Interval[]): string[] {
  const out: string[] = [];
  for (const [s, e] of done) {
    const first = new Date(s * 1000);
    for (let y = first.getUTCFullYear(), m = first.getUTCMonth(); ; m++) {
      const start = Date.UTC(y, m, 1) / 1000;
      const end = Date.UTC(y, m + 1, 1) / 1000 - 1;
      if (end > e) break;
      if (start >= s && subtractIntervals([start, end], done).length === 0) out.push(new Date(start * 1000).toISOString().slice(0, 7));
    }
  }
  return out;
}

// The last second of the run of consecutive settled months that starts with the first one:
// everything from that first month up to it is final. Undefined without a settled month.
export function watermark(months: readonly string[]): string | undefined {
  let last: string | undefined;
  for (const m of months) {
    if (last !== undefined && m !== nextMonth(last)) break;
    last = m;
  }
  if (last === undefined) return undefined;
  const [y, mo] = last.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(y, mo, 1) - 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function nextMonth(m: string): string {
  const [y, mo] = m.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(y, mo, 1)).toISOString().slice(0, 7);
}

import t from 'tap';
import { addTotals, zeroTotals, type Totals } from '../lib/core/scores/metrics.js';
import { formatDaily, parseDailyFile, type AccountBins, type DailyBins } from '../lib/core/store/rollup-files.js';
import { DailyBytes } from '../lib/tools/reduce/daily-bytes.js';
import { DayBins } from '../lib/tools/reduce/day-bins.js';
import { random } from './helpers/random.js';

const USERS = ['alice', 'bob', 'b', 'bob2', 'zoë', 'ж', '山田', 'a"quote', 'back\\slash', '😀x', 'u-1', 'u.2'];
const ACCOUNTS = ['', 'physics', 'chem', 'ünï', 'a b'];
const DAYS = Array.from({ length: 31 }, (_, d) => String(d + 1).padStart(2, '0'));

function totals(rnd: () => number): Totals {
  const t = zeroTotals();
  t.jobs = 1 + Math.floor(rnd() * 9);
  t.failed_jobs = Math.floor(rnd() * t.jobs);
  // numbers of 1 to 16 digits, some with zeros inside (10^9 + 3), written by hand below 2^53
  t.cpu_s = Math.floor(rnd() * (rnd() < 0.5 ? 1e9 : 1e15));
  t.elapsed_s = rnd() < 0.2 ? 1e9 + Math.floor(rnd() * 10) : Math.floor(rnd() * 1e7);
  t.gpu_s = rnd() < 0.3 ? 0 : Math.floor(rnd() * 2 ** 40);
  // byte-seconds below 2^53 (doubles in the columns) and past it (BigInts)
  t.mem_req_byte_s = rnd() < 0.5 ? BigInt(Math.floor(rnd() * 2 ** 51)) : BigInt(Math.floor(rnd() * 2 ** 53)) * BigInt(1 + Math.floor(rnd() * 5000));
  t.mem_used_byte_s = BigInt(Math.floor(rnd() * 1e12));
  return t;
}

// t into both forms of a month's bins: the Totals formatDaily writes, the columns DailyBytes does
function add(bins: DailyBins, columns: DayBins, user: string, day: string, t: Totals): void {
  let days = bins.get(user);
  if (days === undefined) bins.set(user, (days = new Map()));
  const cur = days.get(day);
  if (cur === undefined) days.set(day, { ...t });
  else addTotals(cur, t);
  columns.addTotals(columns.entry(user), Number(day), t);
}

// Commits of a month as sb-reduce makes them: days added and days added to, in time order or
// not, users and accounts new or seen, byte-seconds past 2^53 and back under it in other days;
// each commit's bytes must be formatDaily's.
t.test('DailyBytes: each commit the bytes formatDaily writes, days not changed copied', async (t) => {
  for (const [seed, ordered, withAccounts] of [[1, true, true], [2, false, true], [3, true, false], [4, false, false], [5, false, true]] as const) {
    const rnd = random(seed);
    const users: DailyBins = new Map();
    const accounts: AccountBins = new Map();
    const columns = new DayBins();
    const accountColumns = new Map<string, DayBins>();
    const bytes = new DailyBytes();
    let day = 0;
    let same = 0;
    for (let commit = 0; commit < 40; commit++) {
      const n = Math.floor(rnd() * 30);
      for (let k = 0; k < n; k++) {
        if (ordered && rnd() < 0.3 && day < 30) day++;
        const d = DAYS[ordered ? day : Math.floor(rnd() * 31)] as string;
        const u = USERS[Math.floor(rnd() * USERS.length)] as string;
        const a = ACCOUNTS[Math.floor(rnd() * ACCOUNTS.length)] as string;
        const tt = totals(rnd);
        add(users, columns, u, d, tt);
        bytes.changed(u, Number(d));
        if (withAccounts) {
          let ab = accounts.get(a);
          if (ab === undefined) accounts.set(a, (ab = new Map()));
          let ac = accountColumns.get(a);
          if (ac === undefined) accountColumns.set(a, (ac = new DayBins()));
          add(ab, ac, u, d, tt);
          bytes.changedIn(a, u, Number(d));
        }
      }
      const got = bytes.format('c', '2024-03', columns, withAccounts ? accountColumns : undefined).toString('utf8');
      const want = formatDaily('c', '2024-03', users, withAccounts ? accounts : undefined);
      if (got === want) same++;
      else {
        // where they part (not the whole text: a diff of two months is too long to read)
        let i = 0;
        while (got[i] === want[i]) i++;
        t.equal(got.slice(Math.max(0, i - 40), i + 80), want.slice(Math.max(0, i - 40), i + 80), `seed ${seed}, commit ${commit}: at ${i}`);
        break;
      }
    }
    t.equal(same, 40, `seed ${seed}: 40 commits alike`);
  }
});

t.test('DailyBytes: a month read from its file goes on from there', async (t) => {
  const users: DailyBins = new Map([['alice', new Map([['01', { ...zeroTotals(), jobs: 1 }]])]]);
  const accounts: AccountBins = new Map([['a', new Map([['alice', new Map([['01', { ...zeroTotals(), jobs: 1 }]])]])]]);
  const text = formatDaily('c', '2024-03', users, accounts);
  const file = parseDailyFile(text, 'x');
  const columns = DayBins.of(file.users);
  const accountColumns = new Map([...(file.accounts ?? [])].map(([a, b]) => [a, DayBins.of(b)]));
  const bytes = new DailyBytes();
  t.equal(bytes.format('c', '2024-03', columns, accountColumns).toString('utf8'), text);
  const four = { ...zeroTotals(), jobs: 4 };
  add(file.users, columns, 'alice', '01', four);
  add(file.accounts?.get('a') as DailyBins, accountColumns.get('a') as DayBins, 'alice', '01', four);
  bytes.changed('alice', 1);
  bytes.changedIn('a', 'alice', 1);
  const out = bytes.format('c', '2024-03', columns, accountColumns).toString('utf8');
  t.equal(out, formatDaily('c', '2024-03', file.users, file.accounts));
  t.match(out, /"alice":\{"01":\{"jobs":5,/);
  t.equal(new DailyBytes().format('c', '2024-04', new DayBins(), new Map()).toString('utf8'), formatDaily('c', '2024-04', new Map(), new Map()));
  t.equal(new DailyBytes().format('c', '2024-04', new DayBins()).toString('utf8'), formatDaily('c', '2024-04', new Map()));
});

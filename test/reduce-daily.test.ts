import t from 'tap';
import { addTotals, totalsToJson, zeroTotals, type Totals } from '../lib/core/scores/metrics.js';
import { formatDaily, parseDailyFile, totalsText, type AccountBins, type DailyBins } from '../lib/core/store/rollup-files.js';
import { DailyBytes } from '../lib/tools/reduce/daily-bytes.js';
import { DayBins } from '../lib/tools/reduce/day-bins.js';
import { pendingTotals } from '../lib/tools/reduce/main.js';
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
  // byte-seconds below 2^53 and past it
  t.mem_req_byte_s = rnd() < 0.5 ? BigInt(Math.floor(rnd() * 2 ** 51)) : BigInt(Math.floor(rnd() * 2 ** 53)) * BigInt(1 + Math.floor(rnd() * 5000));
  // and, rarely, past what two doubles hold (2^53 · 10^15)
  t.mem_used_byte_s = rnd() < 0.05 ? 10n ** 31n * BigInt(1 + Math.floor(rnd() * 100)) + 7n : BigInt(Math.floor(rnd() * 1e12));
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

// Jobs of every size into a day, one by one and bins into bins (as a commit adds its delta to
// the month): the totals are those of BigInt sums, and the text is totalsText's.
t.test('DayBins: byte-seconds exact at any size, the text as totalsText writes it', async (t) => {
  const rnd = random(9);
  const sizes = [0, 1, 999, 2 ** 31, 1e9 + 3, 2 ** 40, 1e15 - 1, 1e15, 2 ** 53 - 1, 2 ** 53];
  let bad = 0;
  for (let round = 0; round < 200; round++) {
    const day = new DayBins();
    const sum = new DayBins();
    // the same jobs over the month's days: its sum over them is the same
    const spread = new DayBins();
    const want = zeroTotals();
    const n = 1 + Math.floor(rnd() * 40);
    for (let k = 0; k < n; k++) {
      const req = sizes[Math.floor(rnd() * sizes.length)] as number;
      const used = Math.floor(rnd() * 2 ** 40);
      const elapsed = rnd() < 0.3 ? 2 ** 32 : Math.floor(rnd() * 1e6);
      const j = { code: { kind: 'db' as const, n: k }, month: '2024-03', day: '05', user: 'u', account: '', elapsed, cpus: 1 + k, gpus: k % 3, req, used, failed: k % 2 === 0 };
      day.addJob(day.entry('u'), 5, j);
      spread.addJob(spread.entry('u'), 1 + (k % 31), j);
      addTotals(want, pendingTotals(j));
    }
    // past 2^53 · 10^15 at once, or by a sum, once in a while
    if (round % 10 === 0) {
      const huge = { ...zeroTotals(), jobs: 1, mem_req_byte_s: 10n ** 32n + 1n, mem_used_byte_s: 2n ** 110n };
      day.addTotals(day.entry('u'), 5, huge);
      spread.addTotals(spread.entry('u'), 1, huge);
      addTotals(want, huge);
    } else if (round % 10 === 5) {
      const most = { ...zeroTotals(), jobs: 1, mem_req_byte_s: (2n ** 53n - 3n) * 10n ** 15n + 999n, mem_used_byte_s: 1n };
      for (let k = 0; k < 2; k++) {
        day.addTotals(day.entry('u'), 5, most);
        spread.addTotals(spread.entry('u'), 31 - k, most);
        addTotals(want, most);
      }
    }
    sum.addFrom(sum.entry('x'), 5, day, day.find(day.entry('u'), 5));
    sum.addFrom(sum.entry('x'), 5, day, day.find(day.entry('u'), 5));
    const twice = zeroTotals();
    addTotals(twice, want);
    addTotals(twice, want);
    const o = Buffer.alloc(4096);
    const s = day.find(0, 5);
    const text = o.toString('latin1', 0, day.writeDay(o, 0, 5, s));
    if (text !== totalsText(want, '"05":') || JSON.stringify(totalsToJson(day.entryTotals(0))) !== JSON.stringify(totalsToJson(want)) ||
      JSON.stringify(totalsToJson(spread.entryTotals(0))) !== JSON.stringify(totalsToJson(want)) ||
      JSON.stringify(totalsToJson(sum.get('x', 5) as Totals)) !== JSON.stringify(totalsToJson(twice)) || JSON.stringify(totalsToJson(sum.entryTotals(0))) !== JSON.stringify(totalsToJson(twice))) {
      bad++;
      if (bad === 1) t.equal(text, totalsText(want, '"05":'), `round ${round}`);
    }
  }
  t.equal(bad, 0, 'every round exact');
});

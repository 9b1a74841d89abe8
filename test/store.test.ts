import { crc32 } from 'node:zlib';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { addInterval, emptyLedger, formatLedger, parseLedger, recordChunk, subtractIntervals, type Interval } from '../lib/core/store/chunk-ledger.js';
import { acquireLock, LockHeld } from '../lib/core/store/lock.js';
import { jobKey } from '../lib/core/records/job.js';
import { totalsToJson, zeroTotals } from '../lib/core/scores/metrics.js';
import { formatDaily, formatPeriod, formatUserFile, parseDaily, parsePeriod, parseUserFile, periodText, totalsText, userFileName } from '../lib/core/store/rollup-files.js';
import { CorruptState, decodeSeen, encodeKey, encodeSeen, jobIdentity, JobIdentityReader, KeyBatch, SeenSet } from '../lib/core/store/seen.js';
import { JobLineReader } from '../lib/core/records/job-line.js';
import { ClusterStore } from '../lib/core/store/store.js';

const tmp = (): string => mkdtempSync(path.join(tmpdir(), 'sb-store-'));

function setOf(codes: string[], cluster = 'c'): SeenSet {
  const b = new KeyBatch();
  for (const k of codes) b.add(encodeKey(k, cluster) as NonNullable<ReturnType<typeof encodeKey>>);
  return new SeenSet().with(b);
}

t.test('encodeKey: db, id and other keys, exact', async (t) => {
  t.same(encodeKey('c/db/42', 'c'), { kind: 'db', n: 42 });
  t.same(encodeKey(jobKey('c', null, '4242', 1700000000), 'c'), { kind: 'id', v: (4242n << 32n) | 1700000000n });
  t.same(encodeKey('c/id/4242/unknown', 'c'), { kind: 'other', s: 'id/4242/unknown' });
  t.throws(() => encodeKey('c/db/007', 'c'), { message: "key 'c/db/007' is not canonical (expected c/db/DBINDEX or c/id/JOBIDRAW/SUBMIT, numbers without leading zeros)" }, 'a non-canonical number is bad input: c/db/007 and c/db/7 are one job');
  for (const k of ['c/db/', 'c/db/1/2', 'c/id/0042/1700000000', 'c/id/42/01700000000', 'c/id/42', 'c/job/42', 'c/db/+7', 'c/db/7 ']) t.throws(() => encodeKey(k, 'c'), `'${k}' is rejected`);
  t.same(encodeKey('c/db/99999999999999999', 'c'), { kind: 'other', s: 'db/99999999999999999' }, 'beyond 2^53 stays text');
  t.equal(encodeKey('other/db/1', 'c'), undefined, 'another cluster');
  t.equal(encodeKey('cc/db/1', 'c'), undefined, 'a cluster whose name starts with ours');
  t.equal(encodeKey('c', 'c'), undefined);
});

t.test('SeenSet: membership is exact; requeued and recycled ids are different keys', async (t) => {
  const s = setOf(['c/db/2', 'c/db/19', 'c/id/4242/1700000000', 'c/id/4242/1700099999', 'c/id/4242/unknown']);
  t.ok(s.has({ kind: 'db', n: 2 }));
  t.ok(s.has({ kind: 'db', n: 19 }));
  t.notOk(s.has({ kind: 'db', n: 3 }));
  t.ok(s.has(encodeKey('c/id/4242/1700000000', 'c')!));
  t.notOk(s.has(encodeKey('c/id/4242/1700000001', 'c')!), 'the same job id submitted at another time is another job');
  t.ok(s.has({ kind: 'other', s: 'id/4242/unknown' }));
  t.equal(s.size, 5);
  const more = new KeyBatch();
  more.add({ kind: 'db', n: 3 });
  more.add({ kind: 'db', n: 2 });
  const s2 = s.with(more);
  t.equal(s2.size, 6, 'merging a key already there keeps one');
  t.equal(s.size, 5, 'with() leaves the original alone');
});

t.test('seen sets: with() is the sorted union, keys before, among and after the set\'s own', async (t) => {
  let x = 5;
  const rnd = (): number => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648;
  let wrong = 0;
  for (let round = 0; round < 2000; round++) {
    const span = 1 + Math.floor(rnd() * 100);
    const own = new Set<number>();
    const added = new KeyBatch();
    for (let i = Math.floor(rnd() * 50); i > 0; i--) own.add(Math.floor(rnd() * span));
    // the batch overlaps the set's start, its middle or its end, or lies wholly outside
    const off = Math.floor(rnd() * 2 * span) - span;
    for (let i = Math.floor(rnd() * 20); i > 0; i--) {
      const n = Math.max(0, Math.floor(rnd() * span) + off);
      added.add({ kind: 'db', n });
      added.add({ kind: 'id', v: BigInt(n) << 32n });
    }
    const sorted = [...own].sort((a, b) => a - b);
    const union = [...new Set([...own, ...added.db])].sort((a, b) => a - b);
    const merged = new SeenSet(Float64Array.from(sorted), BigUint64Array.from(sorted.map((n) => BigInt(n) << 32n))).with(added);
    if ([...merged.db].join() !== union.join() || [...merged.id].join() !== union.map((n) => BigInt(n) << 32n).join()) wrong++;
  }
  t.equal(wrong, 0, '2000 random merges');
});

t.test('SeenSet.hasDb: what a Set says, keys looked up in order (from where the last was found), backwards and at random', async (t) => {
  const keys = new KeyBatch();
  let x = 99;
  const rnd = (n: number): number => (x = (x * 1103515245 + 12345) % 2147483648) % n;
  for (let n = 10; keys.size < 5000; n += 1 + (rnd(4) === 0 ? rnd(5) : 0)) keys.add({ kind: 'db', n });
  const set = new SeenSet().with(keys);
  const probes: number[] = [];
  for (let n = 0; n < 20_100; n++) probes.push(n); // in order: found, not found, past the last
  for (let n = 20_100; n >= 0; n -= 3) probes.push(n);
  for (let i = 0; i < 20_000; i++) probes.push(rnd(20_100), set.db[rnd(set.db.length)] as number);
  let wrong = 0;
  for (const n of probes) if (set.hasDb(n) !== keys.db.has(n) || set.has({ kind: 'db', n }) !== keys.db.has(n)) wrong++;
  t.equal(wrong, 0, `${probes.length} look-ups`);
  t.notOk(new SeenSet().hasDb(0), 'an empty set');
});

t.test('JobIdentityReader: the identity jobIdentity gives of the decoded line, or the same error; dbIndex only for the usual line', async (t) => {
  const base = {
    kind: 'job', cluster: 'hammer', key: 'hammer/db/100', job_id: '4242', job_id_raw: '4242', db_index: 100, user: 'alice', uid: 1001, account: 'phys',
    partition: 'gpu', qos: 'normal', state: 'COMPLETED', exit_code: '0:0', failed: false, submit: null, start: null, end: '2024-03-05T11:00:00Z',
    elapsed_s: 3600, timelimit_s: null, cpus: 4, nodes: 1, gpus: 0, req_mem_bytes: 0, max_rss_bytes: null, steps: 1,
  };
  const cases: Array<Record<string, unknown>> = [
    {}, { key: 'hammer/db/0' }, { key: 'hammer/db/999999999999999' }, { key: 'hammer/db/1000000000000000' }, { key: 'hammer/db/0100' },
    { key: 'hammer/db/' }, { key: 'hammer/db' }, { key: 'hammer/' }, { key: 'hammer' }, { key: 'h' }, { key: 'hammer/db/1x' }, { key: 'hammer/db/1/2' },
    { key: 'hammer/dB/1' }, { key: 'hammer/id/4242/1709629200' }, { key: 'hammer/id/4242/unknown' }, { key: 'hammer/id/99999999999/1' },
    { key: 'hammers/db/1' }, { key: 'hamme/db/1' }, { key: 'anvil/db/1' }, { cluster: 'anvil', key: 'anvil/db/7' }, { cluster: 'anvil', key: 'hammer/db/7' },
    { cluster: 'hammer', key: 'hammer/db/8' }, { end: '2024-02-30T11:00:00Z' }, { end: '2024-03-05T24:00:00Z' }, { end: '2024-03-05 11:00:00Z' },
    { end: '2024-04-01T00:00:00Z' }, { end: '2023-12-31T23:59:59Z', key: 'hammer/db/5' }, { cluster: 'Bad Name', key: 'Bad Name/db/1' }, {},
    // the day of the line before, a bad time of day
    { end: '2024-03-05T23:60:00Z' }, { end: '2024-03-05T11:00:60Z' }, { end: '2024-03-05T1a:00:00Z' }, { end: '2024-03-05T11:0a:00Z' }, { end: '2024-03-05T11:00:-1Z' }, { end: '2024-03-05T11:00:00z' }, { end: '2024-03-05T11:00:0' }, {},
  ];
  const lines = new JobLineReader();
  const identity = new JobIdentityReader();
  const fast: number[] = [];
  const answer = (f: () => unknown): unknown => {
    try {
      return f();
    } catch (err) {
      return `${(err as Error).name}: ${(err as Error).message}`;
    }
  };
  cases.forEach((over, i) => {
    const rec = { ...base, ...over };
    const b = Buffer.from(JSON.stringify(rec) + '\n');
    t.ok(lines.read(b, 0, b.length - 1), `case ${i}: in the exact form`);
    const want = answer(() => jobIdentity(rec));
    t.same(answer(() => identity.read(lines, b)), want, `case ${i}: read()`);
    const n = identity.dbIndex(lines, b);
    if (n < 0) return;
    t.same({ cluster: identity.cluster, month: identity.month, code: { kind: 'db', n } }, want, `case ${i}: dbIndex()`);
    fast.push(i);
  });
  // (read() comes first on each line: it learns the line's cluster)
  t.same(fast, [0, 1, 2, 19, 21, 25, 26, 28, 36], 'dbIndex() answers for the usual db keys (of 15 digits at most: case 3 is left to read()), and for nothing else');
});

t.test('seen files: round trip, and no false positives over a million random keys', async (t) => {
  const b = new KeyBatch();
  let x = 12345;
  const rnd = (): number => (x = (x * 1103515245 + 12345) % 2147483648);
  for (let i = 0; i < 20_000; i++) b.add({ kind: 'db', n: 1_000_000 + rnd() % 400_000 });
  for (let i = 0; i < 2_000; i++) b.add({ kind: 'id', v: (BigInt(rnd() % 67_000_000) << 32n) | BigInt(1_700_000_000 + (rnd() % 3_000_000)) });
  b.add({ kind: 'db', n: 2 ** 53 - 1 });
  b.add({ kind: 'id', v: (2n ** 32n - 1n) << 32n });
  b.add({ kind: 'other', s: 'id/1/unknown' });
  b.add({ kind: 'other', s: 'ünïcode' });
  const set = new SeenSet().with(b);
  const back = decodeSeen(encodeSeen(set, 'c/2024-03'));
  t.same([...back.db], [...set.db]);
  t.same([...back.id], [...set.id]);
  t.same(back.other, set.other);
  let falsePositives = 0;
  for (let i = 0; i < 1_000_000; i++) {
    const n = 1_000_000 + (rnd() % 400_000);
    if (back.has({ kind: 'db', n }) !== b.db.has(n)) falsePositives++;
  }
  t.equal(falsePositives, 0);
});

t.test('seen files: the keys are the LEB128 varints of their differences, whatever their size', async (t) => {
  // a reference writer in BigInt arithmetic, independent of the one in lib/
  const leb = (v: bigint): number[] => {
    const out: number[] = [];
    while (v >= 128n) {
      out.push(Number(v & 127n) | 128);
      v >>= 7n;
    }
    out.push(Number(v));
    return out;
  };
  let x = 99;
  const rnd = (): number => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648;
  const big = (): bigint => (BigInt(Math.floor(rnd() * 2 ** 32)) << 32n) | BigInt(Math.floor(rnd() * 2 ** 32));
  for (let round = 0; round < 40; round++) {
    const ids = new Set<bigint>();
    const dbs = new Set<number>();
    // small steps, steps of a job id (2^32 and more), huge jumps, keys near 2^64 and 2^53
    for (let i = 0; i < 300; i++) {
      const kind = (round + i) % 5;
      ids.add(kind === 0 ? big() : kind === 1 ? (2n ** 64n - 1n) - BigInt(Math.floor(rnd() * 1e6)) : kind === 2 ? BigInt(Math.floor(rnd() * 1e9)) : (BigInt(3e7 + Math.floor(rnd() * 1e4)) << 32n) | BigInt(17e8 + Math.floor(rnd() * 1e6)));
      dbs.add(kind === 0 ? Math.floor(rnd() * 2 ** 53) : kind === 1 ? 2 ** 53 - 1 - Math.floor(rnd() * 1e6) : Math.floor(rnd() * 2 ** (8 * kind)));
    }
    const id = [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const db = [...dbs].sort((a, b) => a - b);
    const set = new SeenSet(Float64Array.from(db), BigUint64Array.from(id));
    const file = encodeSeen(set, 'c/2024-03');
    const want = [9, ...Buffer.from('c/2024-03')];
    db.forEach((v, i) => want.push(...leb(BigInt(i === 0 ? v : v - (db[i - 1] as number)))));
    id.forEach((v, i) => want.push(...leb(i === 0 ? v : v - (id[i - 1] as bigint))));
    t.same([...file.subarray(32)], want, `round ${round}: the payload`);
    const back = decodeSeen(file, 'c/2024-03');
    t.same([...back.id], id, `round ${round}: id keys back`);
    t.same([...back.db], db, `round ${round}: db keys back`);
  }
  // a difference that takes a key past 2^64 is refused, short or long
  for (const d of [1n, 2n ** 40n, 2n ** 60n]) {
    const payload = Buffer.from([9, ...Buffer.from('c/2024-03'), ...leb(2n ** 64n - 1n), ...leb(d)]);
    const head = Buffer.alloc(32);
    Buffer.from('SBSEEN\x00\x02', 'latin1').copy(head);
    head.writeUInt32LE(2, 12);
    head.writeUInt32LE(payload.length, 20);
    head.writeUInt32LE(crc32(payload), 24);
    head.writeUInt32LE(crc32(head.subarray(0, 28)), 28);
    t.throws(() => decodeSeen(Buffer.concat([head, payload])), { message: 'key out of range' }, `2^64 - 1 + ${d}`);
  }
});

t.test('seen files: at most 8 bytes a job (DBIndex, and JobIDRaw+Submit keys); an empty month has no file', async (t) => {
  const month = new KeyBatch();
  // A busy month: 1M records, DBIndex mostly consecutive with gaps (other months' jobs, requeues).
  let db = 50_000_000;
  for (let i = 0; i < 1_000_000; i++) month.add({ kind: 'db', n: (db += 1 + (i % 7 === 0 ? 5 : 0)) });
  const dbBytes = encodeSeen(new SeenSet().with(month), 'c/2024-03').length / 1_000_000;
  t.ok(dbBytes <= 8, `DBIndex keys: ${dbBytes.toFixed(2)} bytes a job`);
  const ids = new KeyBatch();
  for (let i = 0; i < 100_000; i++) ids.add({ kind: 'id', v: (BigInt(1_000_000 + i * 3) << 32n) | BigInt(1_709_251_200 + i * 26) });
  const idBytes = encodeSeen(new SeenSet().with(ids), 'c/2024-03').length / 100_000;
  t.ok(idBytes <= 8, `JobIDRaw+Submit keys: ${idBytes.toFixed(2)} bytes a job`);
});

t.test('seen files: corruption and truncation are detected, never read as fewer keys', async (t) => {
  const good = encodeSeen(setOf(['c/db/1', 'c/db/5', 'c/db/900', 'c/id/7/1700000000']), 'c/2024-03');
  t.doesNotThrow(() => decodeSeen(good));
  const cases: Array<[string, Buffer]> = [
    ['empty', Buffer.alloc(0)],
    ['truncated header', good.subarray(0, 20)],
    ['truncated payload', good.subarray(0, good.length - 1)],
    ['trailing bytes', Buffer.concat([good, Buffer.from([0])])],
    ['bad magic', Buffer.concat([Buffer.from('XBSEEN\x00\x01', 'latin1'), good.subarray(8)])],
  ];
  for (let i = 0; i < good.length; i++) {
    const flipped = Buffer.from(good);
    flipped[i] = (flipped[i] as number) ^ 0x10;
    cases.push([`bit flip at byte ${i}`, flipped]);
  }
  for (const [name, buf] of cases) t.throws(() => decodeSeen(buf), CorruptState, name);
});

t.test('seen files name their cluster-month: a moved or swapped file is refused; old files still read', async (t) => {
  const set = setOf(['c/db/1', 'c/db/5']);
  const file = encodeSeen(set, 'c/2024-03');
  t.same(decodeSeen(file, 'c/2024-03').db, set.db);
  t.throws(() => decodeSeen(file, 'c/2024-04'), { message: 'it holds the keys of c/2024-03, not of c/2024-04 (a file moved or swapped)' });
  t.throws(() => decodeSeen(file, 'd/2024-03'), CorruptState);
  // version 1: no owner in the payload
  const owner = 1 + 'c/2024-03'.length;
  const payload = file.subarray(32 + owner);
  const head = Buffer.from(file.subarray(0, 32));
  head[7] = 1;
  head.writeUInt32LE(payload.length, 20);
  head.writeUInt32LE(crc32(payload), 24);
  head.writeUInt32LE(crc32(head.subarray(0, 28)), 28);
  t.same(decodeSeen(Buffer.concat([head, payload]), 'c/2024-04').db, set.db, 'a version 1 file names no owner and is read as it is');
});

t.test('chunk ledger intervals: merge touching, subtract, record', async (t) => {
  const cases: Array<[Interval[], Interval, Interval[]]> = [
    [[], [10, 19], [[10, 19]]],
    [[[10, 19]], [20, 29], [[10, 29]]],
    [[[10, 19]], [21, 29], [[10, 19], [21, 29]]],
    [[[10, 19], [30, 39]], [20, 29], [[10, 39]]],
    [[[10, 19], [30, 39]], [0, 5], [[0, 5], [10, 19], [30, 39]]],
    [[[10, 19], [30, 39]], [50, 60], [[10, 19], [30, 39], [50, 60]]],
    [[[10, 19], [30, 39]], [15, 32], [[10, 39]]],
    [[[10, 19]], [12, 14], [[10, 19]]],
  ];
  for (const [list, iv, want] of cases) t.same(addInterval(list, iv), want, `${JSON.stringify(list)} + ${JSON.stringify(iv)}`);
  const sub: Array<[Interval, Interval[], Interval[]]> = [
    [[0, 99], [], [[0, 99]]],
    [[0, 99], [[0, 99]], []],
    [[0, 99], [[10, 19], [50, 59]], [[0, 9], [20, 49], [60, 99]]],
    [[0, 99], [[-10, 5], [95, 200]], [[6, 94]]],
    [[20, 30], [[0, 10], [40, 50]], [[20, 30]]],
  ];
  for (const [iv, list, want] of sub) t.same(subtractIntervals(iv, list), want, `${JSON.stringify(iv)} - ${JSON.stringify(list)}`);
  let l = emptyLedger();
  l = recordChunk(l, [0, 9], false) ?? t.fail('unsettled is news') ?? l;
  t.same(l, { done: [], unsettled: [[0, 9]], queried: [] });
  t.equal(recordChunk(l, [0, 9], false), undefined, 'the same unsettled window again changes nothing');
  l = recordChunk(l, [0, 9], true) ?? l;
  t.same(l, { done: [[0, 9]], unsettled: [], queried: [] }, 'settling removes it from unsettled');
  t.equal(recordChunk(l, [0, 9], true), undefined);
  t.equal(recordChunk(l, [2, 5], false), undefined, 'an unsettled window inside done ones is nothing new');
  l = recordChunk(l, [5, 15], false) ?? l;
  t.same(l.unsettled, [[10, 15]], 'only the part not done is unsettled');
  t.same(parseLedger(formatLedger('c', l), 'x'), l, 'round trip');
  t.throws(() => parseLedger('{"schema_version":1,"cluster":"c","done":[["2024-01-01T00:00:00Z"', 'f'), /corrupt or truncated/);
});

t.test('rollup files: round trips; users sorted; user file names are safe', async (t) => {
  const a = { ...zeroTotals(), jobs: 2, cpu_s: 7200, elapsed_s: 3600, mem_req_byte_s: 2n ** 62n };
  const b = { ...zeroTotals(), jobs: 1, failed_jobs: 1 };
  const users = new Map([['zed', b], ['alice', a]]);
  const text = formatPeriod('c', 'month', '2024-03', '2024-04-01T00:00:00Z', users);
  const doc = JSON.parse(text) as { users: Array<{ username: string; clock_hours: number; totals: unknown }>; cluster_totals: Record<string, unknown> };
  t.same(doc.users.map((u) => u.username), ['alice', 'zed']);
  t.equal(doc.users[0]?.clock_hours, 2);
  t.equal(doc.cluster_totals['jobs'], 3);
  t.same(parsePeriod(text, 'f').users, users);
  const empty = formatPeriod('c', 'year', '2024', 'x', new Map());
  t.same(JSON.parse(empty).users, []);
  const bins = new Map([['alice', new Map([['05', a], ['17', b]])]]);
  t.same(parseDaily(formatDaily('c', '2024-03', bins), 'f'), bins);
  t.same(parseUserFile(formatUserFile('alice', 'c', 'x', a), 'f', 'c'), a);
  t.same(totalsToJson(parseUserFile(formatUserFile('alice', 'c', 'x', a), 'f', 'c')), totalsToJson(a));
  const big = { ...a, failed_jobs: 3, gpu_jobs: 2, gpu_s: 5, gpu_elapsed_s: 7, mem_used_byte_s: 12345678901234567890n };
  t.equal(totalsText(big), JSON.stringify(totalsToJson(big)), 'totalsText is JSON.stringify(totalsToJson(t))');
  const rows = periodText();
  t.equal(formatPeriod('c', 'month', '2024-03', 'x', users, undefined, rows), text.replace('"asof":"2024-04-01T00:00:00Z"', '"asof":"x"'), 'the row cache changes nothing');
  t.equal(formatPeriod('c', 'month', '2024-03', 'y', users, undefined, rows), text.replace('"asof":"2024-04-01T00:00:00Z"', '"asof":"y"'), 'nor when warm: asof is not in a row');
  const accounts = new Map([['proj', new Map([['zed', b], ['alice', a]])], ['', new Map([['alice', b]])]]);
  const withAccounts = formatPeriod('c', 'month', '2024-03', 'x', users, accounts);
  t.same(parsePeriod(withAccounts, 'f').accounts, accounts, 'the accounts member round trips');
  const warm = periodText();
  t.equal(formatPeriod('c', 'month', '2024-03', 'x', users, accounts, warm), withAccounts, 'the account cache changes nothing');
  t.equal(formatPeriod('c', 'month', '2024-03', 'x', users, accounts, warm), withAccounts, 'nor when warm');
  const more = { ...a, jobs: 5 };
  const changed = new Map([['proj', new Map([['zed', b], ['alice', more]])], ['', new Map([['alice', b]])]]);
  warm.accounts.get('proj')?.delete('alice');
  t.equal(formatPeriod('c', 'month', '2024-03', 'x', users, changed, warm), formatPeriod('c', 'month', '2024-03', 'x', users, changed), 'an entry deleted from the cache is written anew');
  t.equal(userFileName('alice'), 'alice.json');
  t.equal(userFileName('first.last@ad'), 'first.last@ad.json');
  t.equal(userFileName('../etc'), '%2E%2E%2Fetc.json');
  t.equal(userFileName('.hidden'), '%2Ehidden.json');
  t.throws(() => parsePeriod('{"users":[{"username":"a","totals":{"jobs":1}}]}', 'f'), /f: users\[0\]/);
});

t.test('commit: a published journal is rolled forward; an unpublished one leaves no trace', async (t) => {
  const root = tmp();
  const s = new ClusterStore(root, 'c');
  await s.commit('t1', [{ file: s.txnPath, data: 'one\n' }, { file: s.monthlyPath('2024-01'), data: 'm1\n' }], () => undefined);
  t.equal(readFileSync(s.txnPath, 'utf8'), 'one\n');
  t.notOk(existsSync(s.journalPath));
  t.same(readdirSync(s.tmpDir), []);
  // A commit interrupted after publishing: journal in place, one rename done, one not.
  mkdirSync(s.tmpDir, { recursive: true });
  writeFileSync(path.join(s.tmpDir, 't2.1'), 'm2\n');
  writeFileSync(s.txnPath, 'two\n');
  writeFileSync(s.journalPath, JSON.stringify({ crc32: 0, txn: 't2', renames: [] }));
  t.throws(() => s.recover(), /commit journal is corrupt \(checksum mismatch\)/);
  const { crc32 } = await import('node:zlib');
  const body = { txn: 't2', renames: [['state/tmp/t2.0', 'state/txn'], ['state/tmp/t2.1', 'agg/rollups/monthly/2024-01.json']] };
  writeFileSync(s.journalPath, JSON.stringify({ crc32: crc32(JSON.stringify(body)), ...body }));
  writeFileSync(path.join(s.tmpDir, 'stray.tmp'), 'unpublished');
  t.same(s.recover(), { rolledForward: 2, removed: 1 });
  t.equal(readFileSync(s.monthlyPath('2024-01'), 'utf8'), 'm2\n');
  t.equal(readFileSync(s.txnPath, 'utf8'), 'two\n');
  t.notOk(existsSync(s.journalPath));
  t.same(readdirSync(s.tmpDir), []);
  await t.rejects(s.commit('t3', [{ file: s.txnPath, data: 'x' }], () => {
    throw new Error('fenced');
  }), /fenced/);
  t.equal(readFileSync(s.txnPath, 'utf8'), 'two\n', 'a fenced commit changes nothing');
  t.same(s.recover(), { rolledForward: 0, removed: 2 }, 'its temporary files go at the next recovery');
});

const opts = { tool: 'test', what: 'the test lock', waitMs: 300, staleMs: 60_000 };

t.test('lock: exclusive; a second taker waits, then gets LockHeld (exit 3)', async (t) => {
  const dir = tmp();
  const lockPath = path.join(dir, 'lock');
  const a = await acquireLock(lockPath, opts);
  const t0 = Date.now();
  const err = await acquireLock(lockPath, opts).catch((e: unknown) => e);
  t.ok(err instanceof LockHeld);
  t.equal((err as LockHeld).status, 3);
  t.match((err as Error).message, /the test lock is held by test \(pid \d+ on .*\); gave up after 0.3 s/);
  t.ok(Date.now() - t0 >= 290, 'it waited --wait');
  t.ok(a.holds());
  a.release();
  const b = await acquireLock(lockPath, opts);
  t.ok(b.holds());
  t.notOk(a.holds());
  b.release();
  t.same(readdirSync(dir), [], 'nothing left behind');
});

t.test('lock: a waiter gets the lock as soon as it is released', async (t) => {
  const lockPath = path.join(tmp(), 'lock');
  const a = await acquireLock(lockPath, opts);
  setTimeout(() => a.release(), 100);
  const b = await acquireLock(lockPath, { ...opts, waitMs: 5000 });
  t.ok(b.holds());
  b.release();
});

function deadPid(): Promise<number> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, ['-e', '0']);
    c.on('exit', () => resolve(c.pid as number));
  });
}

const PIDNS = readlinkSync('/proc/self/ns/pid');

// A lock directory as a run of this host (and pid namespace, unless told) would leave it.
function fakeLock(lockPath: string, owner: Record<string, unknown>): void {
  mkdirSync(lockPath);
  writeFileSync(path.join(lockPath, 'owner'), JSON.stringify({ pidns: PIDNS, ...owner }) + '\n');
}

t.test('lock: a holder on this host whose process is gone is broken at once', async (t) => {
  const lockPath = path.join(tmp(), 'lock');
  fakeLock(lockPath, { host: hostname(), pid: await deadPid(), pstart: null, boot: null, token: 'dead1', tool: 'sb-reduce', since: 'x' });
  let why = '';
  const t0 = Date.now();
  const l = await acquireLock(lockPath, { ...opts, waitMs: 0, onBreak: (_o, w) => (why = w) });
  t.ok(Date.now() - t0 < 1000);
  t.match(why, /process \d+ is gone/);
  l.release();
});

t.test('lock: a live holder on this host is never broken, whatever its heartbeat', async (t) => {
  const lockPath = path.join(tmp(), 'lock');
  fakeLock(lockPath, { host: hostname(), pid: process.pid, pstart: null, boot: null, token: 'me', tool: 'x', since: 'x' });
  const err = await acquireLock(lockPath, { ...opts, staleMs: 1 }).catch((e: unknown) => e);
  t.ok(err instanceof LockHeld);
});

t.test('lock: a recycled pid (another start time) or a reboot does not pass for the holder', async (t) => {
  const lockPath = path.join(tmp(), 'lock');
  fakeLock(lockPath, { host: hostname(), pid: process.pid, pstart: '1', boot: null, token: 'old', tool: 'x', since: 'x' });
  const l = await acquireLock(lockPath, { ...opts, waitMs: 0 });
  l.release();
  fakeLock(lockPath, { host: hostname(), pid: process.pid, pstart: null, boot: 'another-boot', token: 'old2', tool: 'x', since: 'x' });
  const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  t.not(boot, 'another-boot');
  const l2 = await acquireLock(lockPath, { ...opts, waitMs: 0 });
  l2.release();
});

t.test('lock: this host name in another pid namespace (a container) is judged by its heartbeat', async (t) => {
  const lockPath = path.join(tmp(), 'lock');
  fakeLock(lockPath, { host: hostname(), pid: await deadPid(), pstart: null, boot: null, pidns: 'pid:[1]', token: 'ns', tool: 'x', since: 'x' });
  const err = await acquireLock(lockPath, { ...opts, waitMs: 200, staleMs: 5000 }).catch((e: unknown) => e);
  t.ok(err instanceof LockHeld, 'its pid means nothing here: not broken while it beats');
  const l = await acquireLock(lockPath, { ...opts, waitMs: 3000, staleMs: 400 });
  t.ok(l.holds());
  l.release();
});

t.test('lock: another host — stale after its heartbeat stops, not before', async (t) => {
  const lockPath = path.join(tmp(), 'lock');
  fakeLock(lockPath, { host: 'elsewhere.example', pid: 1, pstart: null, boot: null, token: 'far', tool: 'sb-reduce', since: 'x' });
  const err = await acquireLock(lockPath, { ...opts, waitMs: 200, staleMs: 5000 }).catch((e: unknown) => e);
  t.ok(err instanceof LockHeld, 'a fresh heartbeat on another host holds');
  t.match((err as Error).message, /pid 1 on elsewhere\.example/);
  const l = await acquireLock(lockPath, { ...opts, waitMs: 3000, staleMs: 400 });
  t.ok(l.holds(), 'taken once the heartbeat is older than --stale');
  l.release();
});

t.test('lock: the holder beats: its owner file\'s mtime moves every staleMs/4', async (t) => {
  const lockPath = path.join(tmp(), 'lock');
  const held = await acquireLock(lockPath, { ...opts, staleMs: 400 });
  const first = statSync(path.join(lockPath, 'owner')).mtimeMs;
  await new Promise((r) => setTimeout(r, 450));
  const later = statSync(path.join(lockPath, 'owner')).mtimeMs;
  t.ok(later > first, 'the heartbeat moved the mtime');
  t.ok(Date.now() - later < 300, 'and keeps it younger than staleMs');
  held.release();
});

t.test('lock: two runs breaking the same dead lock: only one wins, the new lock survives', async (t) => {
  const dir = tmp();
  const lockPath = path.join(dir, 'lock');
  const dead = { host: hostname(), pid: await deadPid(), pstart: null, boot: null, token: 'deadX', tool: 'x', since: 'x' };
  fakeLock(lockPath, dead);
  // The first breaker renamed the dead lock to its tombstone, and a third run took the lock;
  // a slow second breaker now tries the same rename: the tombstone makes it fail.
  renameSync(lockPath, `${lockPath}.dead.deadX`);
  const c = await acquireLock(lockPath, opts);
  t.throws(() => renameSync(lockPath, `${lockPath}.dead.deadX`), /ENOTEMPTY|EEXIST/);
  t.ok(c.holds());
  c.release();
  const results = await Promise.allSettled([1, 2, 3, 4].map(() => acquireLock(lockPath, { ...opts, waitMs: 3000 }).then((l) => {
    const mine = l.holds();
    l.release();
    return mine;
  })));
  t.same(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
});

t.test('lock: a seed-style lock file is reported, not overwritten', async (t) => {
  const dir = tmp();
  writeFileSync(path.join(dir, 'lock'), '');
  await t.rejects(acquireLock(path.join(dir, 'lock'), opts), /is a file, not sb's lock directory/);
});

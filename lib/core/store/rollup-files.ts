import { nodeCrypto } from '../cli/builtins.js';
import { SbError } from '../cli/errors.js';
import { addTotals, metricValues, totalsFromJson, totalsToJson, zeroTotals, type Totals } from '../scores/metrics.js';

// The rollup files sb-reduce writes (docs/store.md): their text, and strict parsers that name the
// file and place of anything that is not what the writer wrote.

export const ROLLUP_SCHEMA = 2;

// Per user and day ("01".."31") of one month.
export type DailyBins = Map<string, Map<string, Totals>>;
// Per user, the totals of a month, a year or all time.
export type UserSums = Map<string, Totals>;
// Per account, its users' daily bins (daily files) or sums (monthly and yearly files): the jobs
// charged to that account. Jobs counted before sb-reduce kept accounts are in no account.
export type AccountBins = Map<string, DailyBins>;
export type AccountSums = Map<string, UserSums>;

const round6 = (x: number): number => Math.round(x * 1e6) / 1e6;

// JSON.stringify(totalsToJson(t)), without the intermediate object: rollups serialize thousands.
// `prefix` goes before it. Joined from a list, not concatenated: a concatenation is a tree of
// pieces that every later join of the text (writers keep it between commits) walks again.
export function totalsText(t: Totals, prefix = ''): string {
  return [
    prefix, '{"jobs":', t.jobs, ',"failed_jobs":', t.failed_jobs, ',"gpu_jobs":', t.gpu_jobs, ',"cpu_s":', t.cpu_s, ',"elapsed_s":', t.elapsed_s,
    ',"gpu_s":', t.gpu_s, ',"gpu_elapsed_s":', t.gpu_elapsed_s, ',"mem_req_byte_s":"', t.mem_req_byte_s, '","mem_used_byte_s":"', t.mem_used_byte_s, '"}',
  ].join('');
}

// One user's row: the seed's fields, the metrics of sb(7) (rounded, for people and the seed's
// readers), and the exact totals readers use.
export function userRow(t: Totals): Record<string, unknown> {
  const m = metricValues(t);
  return {
    total_clock_hours: round6(m.clock_hours),
    total_elapsed_hours: round6(m.elapsed_hours),
    total_gpu_clock_hours: round6(m.gpu_clock_hours),
    gpu_elapsed_hours: round6(m.gpu_elapsed_hours),
    count_gpu_jobs: m.gpu_jobs,
    count_failed_jobs: m.failed_jobs,
    clock_hours: round6(m.clock_hours),
    elapsed_hours: round6(m.elapsed_hours),
    gpu_clock_hours: round6(m.gpu_clock_hours),
    jobs: m.jobs,
    gpu_jobs: m.gpu_jobs,
    failed_jobs: m.failed_jobs,
    mem_req_gb_hours: round6(m.mem_req_gb_hours),
    mem_used_gb_hours: round6(m.mem_used_gb_hours),
    totals: totalsToJson(t),
  };
}

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function sumUsers(users: UserSums): Totals {
  const all = zeroTotals();
  for (const t of users.values()) addTotals(all, t);
  return all;
}

// A monthly (period 'month', 'YYYY-MM') or yearly ('year', 'YYYY') file: one user a line.
// With `accounts`, the member "accounts":{"<account>":{"<user>":<Totals JSON>}} after
// cluster_totals, one account a line. `text`, if given, keeps each user's line and each
// account's entry of each user between calls (a writer that rewrites the file often deletes
// those whose totals it changed): only those are serialized again.
export function formatPeriod(
  cluster: string,
  period: 'month' | 'year',
  value: string,
  asof: string,
  users: UserSums,
  accounts?: AccountSums,
  text: PeriodText = periodText(),
): string {
  const head = JSON.stringify({ asof, cluster, [period]: value, schema_version: ROLLUP_SCHEMA });
  const rows = text.users;
  const lines = [...users.keys()].sort(byName).map((u) => {
    let line = rows.get(u);
    if (line === undefined) rows.set(u, (line = JSON.stringify({ username: u, ...userRow(users.get(u) as Totals) })));
    return line;
  });
  let acc = '';
  if (accounts !== undefined) {
    const accountLines = [...accounts.keys()].sort(byName).map((a) => {
      let cache = text.accounts.get(a);
      if (cache === undefined) text.accounts.set(a, (cache = new Map()));
      return `${JSON.stringify(a)}:${sumsText(accounts.get(a) as UserSums, cache)}`;
    });
    acc = `,"accounts":{${linesOf(accountLines)}}`;
  }
  const tail = `],"cluster_totals":${totalsText(sumUsers(users))}${acc}}`;
  return `${head.slice(0, -1)},"users":[${lines.length > 0 ? '\n' + lines.join(',\n') + '\n' : ''}${tail}\n`;
}

const linesOf = (rows: string[]): string => (rows.length > 0 ? '\n' + rows.join(',\n') + '\n' : '');

// {"<user>":<Totals JSON>,...}, users sorted; `cache` keeps each user's entry (see RowText).
function sumsText(users: UserSums, cache: RowText): string {
  const parts = [...users.keys()].sort(byName).map((u) => {
    let part = cache.get(u);
    if (part === undefined) cache.set(u, (part = totalsText(users.get(u) as Totals, `${JSON.stringify(u)}:`)));
    return part;
  });
  return `{${parts.join(',')}}`;
}

function parseObject(text: string, file: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new SbError(`${file}: not JSON (${(err as Error).message}); the file is corrupt or truncated`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new SbError(`${file}: not a JSON object`);
  return v as Record<string, unknown>;
}

function totalsAt(where: string, v: unknown): Totals {
  try {
    return totalsFromJson(v);
  } catch (err) {
    throw new SbError(`${where}: ${(err as Error).message}`);
  }
}

export interface PeriodFile {
  asof: string;
  users: UserSums;
  // undefined: a file written before sb-reduce kept accounts
  accounts: AccountSums | undefined;
}

export function parsePeriod(text: string, file: string): PeriodFile {
  const doc = parseObject(text, file);
  const users = doc['users'];
  if (!Array.isArray(users)) throw new SbError(`${file}: 'users' is not a list`);
  const out: UserSums = new Map();
  users.forEach((row: unknown, i) => {
    const r = row as Record<string, unknown>;
    const name = r?.['username'];
    if (typeof name !== 'string' || name === '') throw new SbError(`${file}: users[${i}] has no username`);
    if (out.has(name)) throw new SbError(`${file}: user '${name}' appears twice`);
    out.set(name, totalsAt(`${file}: users[${i}]`, r['totals']));
  });
  let accounts: AccountSums | undefined;
  if (doc['accounts'] !== undefined) {
    accounts = new Map();
    for (const [acct, us] of Object.entries(objectAt(`${file}: accounts`, doc['accounts']))) {
      const m: UserSums = new Map();
      for (const [u, t] of Object.entries(objectAt(`${file}: accounts.${acct}`, us))) m.set(u, totalsAt(`${file}: accounts.${acct}.${u}`, t));
      accounts.set(acct, m);
    }
  }
  return { asof: typeof doc['asof'] === 'string' ? doc['asof'] : '', users: out, accounts };
}

function objectAt(where: string, v: unknown): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new SbError(`${where} is not an object`);
  return v as Record<string, unknown>;
}

// The text of each user's line in a monthly or yearly file, kept between commits by a writer
// that rewrites the file often: only the users a commit changed are serialized again (the
// caller deletes them).
export type RowText = Map<string, string>;

// The text kept for a monthly or yearly file: each user's line, and per account each of its
// users' entries (the caller deletes a user from both where a commit changed their totals).
export interface PeriodText {
  users: RowText;
  accounts: Map<string, RowText>;
}

export function periodText(): PeriodText {
  return { users: new Map(), accounts: new Map() };
}

// With `accounts`, the member "accounts":{"<account>":{"<user>":{"<dd>":<Totals JSON>}}} after
// users, one account a line. (sb-reduce keeps what it last wrote of a month and copies the days
// it did not change: lib/tools/reduce/daily-bytes.ts, held to these bytes by its test.)
export function formatDaily(cluster: string, month: string, bins: DailyBins, accounts?: AccountBins): string {
  const head = JSON.stringify({ cluster, month, schema_version: ROLLUP_SCHEMA });
  const out = [head.slice(0, -1), ',"users":{'];
  if (bins.size > 0) {
    out.push('\n');
    pushBins(out, bins, ',\n');
    out.push('\n');
  }
  out.push('}');
  if (accounts !== undefined) {
    out.push(',"accounts":{');
    let first = true;
    for (const a of [...accounts.keys()].sort(byName)) {
      out.push(first ? '\n' : ',\n', JSON.stringify(a), ':{');
      pushBins(out, accounts.get(a) as DailyBins, ',');
      out.push('}');
      first = false;
    }
    out.push(first ? '}' : '\n}');
  }
  out.push('}\n');
  return out.join('');
}

// `"<user>":{"<dd>":<Totals JSON>,...}` for each user, sorted, `sep` between them, onto out.
function pushBins(out: string[], bins: DailyBins, sep: string): void {
  let firstUser = true;
  for (const u of [...bins.keys()].sort(byName)) {
    const days = bins.get(u) as Map<string, Totals>;
    out.push(firstUser ? '' : sep, JSON.stringify(u), ':{');
    let firstDay = true;
    for (const d of [...days.keys()].sort()) {
      out.push(totalsText(days.get(d) as Totals, firstDay ? `"${d}":` : `,"${d}":`));
      firstDay = false;
    }
    out.push('}');
    firstUser = false;
  }
}

export interface DailyFile {
  users: DailyBins;
  // undefined: a file written before sb-reduce kept accounts
  accounts: AccountBins | undefined;
}

export function parseDaily(text: string, file: string): DailyBins {
  return parseDailyFile(text, file).users;
}

export function parseDailyFile(text: string, file: string): DailyFile {
  const doc = parseObject(text, file);
  const users = doc['users'];
  if (users === null || typeof users !== 'object' || Array.isArray(users)) throw new SbError(`${file}: 'users' is not an object`);
  const out = binsOf(users as Record<string, unknown>, `${file}: users`);
  let accounts: AccountBins | undefined;
  if (doc['accounts'] !== undefined) {
    accounts = new Map();
    for (const [acct, us] of Object.entries(objectAt(`${file}: accounts`, doc['accounts']))) {
      accounts.set(acct, binsOf(objectAt(`${file}: accounts.${acct}`, us), `${file}: accounts.${acct}`));
    }
  }
  return { users: out, accounts };
}

function binsOf(users: Record<string, unknown>, where: string): DailyBins {
  const out: DailyBins = new Map();
  for (const [name, days] of Object.entries(users)) {
    if (days === null || typeof days !== 'object' || Array.isArray(days)) throw new SbError(`${where}.${name} is not an object of days`);
    const m = new Map<string, Totals>();
    for (const [day, t] of Object.entries(days as Record<string, unknown>)) {
      if (!/^(0[1-9]|[12]\d|3[01])$/.test(day)) throw new SbError(`${where}.${name}: '${day}' is not a day of the month`);
      m.set(day, totalsAt(`${where}.${name}.${day}`, t));
    }
    out.set(name, m);
  }
  return out;
}

// The month's per-user totals: the sum of its daily bins.
export function monthFromDaily(bins: DailyBins): UserSums {
  const out: UserSums = new Map();
  for (const [user, days] of bins) {
    const t = zeroTotals();
    for (const d of days.values()) addTotals(t, d);
    out.set(user, t);
  }
  return out;
}

// Per account, its month's per-user sums.
export function accountsFromDaily(accounts: AccountBins): AccountSums {
  const out: AccountSums = new Map();
  for (const [a, bins] of accounts) out.set(a, monthFromDaily(bins));
  return out;
}

// The days (dd) whose account data are incomplete: some user's jobs of that day are in no
// account (counted before sb-reduce kept accounts). Jobs are counted in whole: a day is
// complete iff, for every user, its jobs summed over accounts equal its jobs.
export function incompleteDays(file: DailyFile): string[] {
  const inAccounts = new Map<string, number>();
  for (const bins of file.accounts?.values() ?? []) {
    for (const [u, days] of bins) for (const [d, t] of days) inAccounts.set(`${u}\u0000${d}`, (inAccounts.get(`${u}\u0000${d}`) ?? 0) + t.jobs);
  }
  const out = new Set<string>();
  for (const [u, days] of file.users) for (const [d, t] of days) if ((inAccounts.get(`${u}\u0000${d}`) ?? 0) !== t.jobs) out.add(d);
  return [...out].sort();
}

// Whether a monthly or yearly file's accounts hold all of its jobs.
export function periodComplete(p: PeriodFile): boolean {
  let all = 0;
  for (const t of p.users.values()) all += t.jobs;
  let inAccounts = 0;
  for (const us of p.accounts?.values() ?? []) for (const t of us.values()) inAccounts += t.jobs;
  return all === inAccounts;
}

// agg/users/<user>.json: the seed's per-user schema, one cluster (this directory's) under clusters.
export function formatUserFile(user: string, cluster: string, asof: string, t: Totals): string {
  return JSON.stringify({ schema_version: ROLLUP_SCHEMA, username: user, clusters: { [cluster]: { asof, ...userRow(t) } } }) + '\n';
}

export function parseUserFile(text: string, file: string, cluster: string): Totals {
  const doc = parseObject(text, file);
  const entry = (doc['clusters'] as Record<string, unknown> | undefined)?.[cluster] as Record<string, unknown> | undefined;
  if (entry === undefined || entry === null || typeof entry !== 'object') throw new SbError(`${file}: no entry for cluster '${cluster}'`);
  return totalsAt(`${file}: clusters.${cluster}`, entry['totals']);
}

// File name of a user's all-time file: the name itself when it is a plain login name, else
// percent-encoded, so no user name can leave agg/users/ or hide as a dot file. Bounded: a name
// whose form is longer than NAME_MAX allows keeps a prefix and a hash of the whole name (every
// file holds its user's name, so the name is never lost).
export function userFileName(user: string): string {
  const plain = /^[A-Za-z0-9_][A-Za-z0-9._@+-]*$/.test(user);
  const form = plain
    ? user
    : [...Buffer.from(user, 'utf8')].map((b) => (/[A-Za-z0-9_-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('');
  if (form.length <= USER_FILE_STEM) return `${form}.json`;
  let cut = USER_FILE_STEM - 18;
  // never inside a %XX
  if (form[cut - 1] === '%') cut -= 1;
  else if (form[cut - 2] === '%') cut -= 2;
  return `${form.slice(0, cut)}~${nodeCrypto().createHash('sha256').update(user).digest('hex').slice(0, 16)}.json`;
}

// The longest file name stem (bytes, all ASCII) of agg/users/: NAME_MAX is 255 on Linux file
// systems, NFS and GPFS; room is left for `.json` and the writer's temporary suffix.
const USER_FILE_STEM = 200;

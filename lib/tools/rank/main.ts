// sb-rank's work, loaded only once the command line asks for more than --help or --version:
// the rollup reader, the skills and their XP, the boards and their files.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { type Context, maxOperands, optInt, optList, optNumber, optString } from '../../core/cli/run.js';
import { tool } from '../rank.js';
import { isClusterName, notClusterName } from '../../core/records/cluster.js';
import { SbError, UsageError } from '../../core/cli/errors.js';
import { acquireLock, describeOwner, type Lock } from '../../core/store/lock.js';
import { METRICS, metricValues, type MetricId, type Totals } from '../../core/scores/metrics.js';
import { homeDirs, homeOptouts, readOptoutList } from '../../core/scores/optout.js';
import { RollupReader, addAccountsInto, addInto, clusterFiles, dataYears, listClusters, type ClusterFiles, type Part } from '../../core/store/rollup-read.js';
import { sumUsers, userFileName, type AccountSums, type UserSums } from '../../core/store/rollup-files.js';
import { storeRoot } from '../../core/store/store.js';
import { ledgerPath, readLedger } from '../../core/store/chunk-ledger.js';
import { formatTime, parseDateExpr } from '../../core/records/time.js';
import { defaultWindows, parseWindow, windowParts, windowRange, type Window } from './windows.js';
import { removeStaleTemps, writeFilesAtomic, type FileText } from '../../core/store/atomic.js';
import { SKILLS, levelForXp, skillXp, type BoardRow } from '../../core/scores/xp.js';

export type BoardMetric = MetricId | 'overall';
export const BOARD_METRICS: readonly BoardMetric[] = [...METRICS.map((m) => m.id), 'overall'];
export const ALL = 'all';
export const EVERY_ACCOUNT = '*';

export type Row = BoardRow;

// What a board ranks: users (of every account), accounts, or the users of one account.
export type Group = { by: 'user' } | { by: 'account' } | { by: 'user'; account: string };

export interface Board {
  window: Window;
  metric: BoardMetric;
  cluster: string;
  rows: Row[];
  group?: Group;
  // account boards: users per account (rows' order)
  members?: number[];
  // YYYY-MM-DD: the window holds days whose account data are incomplete, the last before this
  accountsSince?: string;
  // cluster 'all': the clusters counted to an earlier time than the others (countedTo)
  countedTo?: Map<string, number>;
}

export async function main({ args, io, report, out }: Context): Promise<void> {
  maxOperands(args, 0);
  const root = storeRoot(optString(args, 'root'), io.env);
  if (root === undefined) throw new UsageError('no store: give --root DIR or set SB_ROOT');
  const nowExpr = optString(args, 'now');
  const now = nowExpr === undefined ? Math.floor(Date.now() / 1000) : parseDateExpr(nowExpr, io.env);
  const given = { window: optList(args, 'window'), metric: optList(args, 'metric'), cluster: optList(args, 'cluster') };
  const windows = given.window ? unique(given.window.map((w) => parseWindow(w, now).id)) : defaultWindows(now).map((w) => w.id);
  const metrics = given.metric ? unique(given.metric.map(checkMetric)) : [...BOARD_METRICS];
  const scopes = given.cluster ? unique(given.cluster.map(checkCluster)) : null;
  const top = optInt(args, 'top', Number.POSITIVE_INFINITY, 1);
  const minJobs = optInt(args, 'min-jobs', 3);
  const waitMs = optNumber(args, 'wait', 60) * 1000;
  const staleMs = optNumber(args, 'stale', 60) * 1000;
  const write = args['write'] === true;
  const by = unique((optList(args, 'by') ?? ['user']).map(checkBy));
  const accountNames = optList(args, 'account');
  const groups: Group[] = [...by.map((b): Group => (b === 'user' ? { by: 'user' } : { by: 'account' })), ...unique(accountNames ?? []).map((a): Group => ({ by: 'user', account: checkAccount(a) }))];
  // --account alone: only its boards
  if (accountNames !== undefined && optList(args, 'by') === undefined) groups.shift();

  let lock: Lock | undefined;
  if (write) {
    // Lock first, read after: a writer that waited writes boards at least as fresh as the last.
    listClusters(root);
    const lockPath = path.join(root, 'leaderboards', '.lock');
    lock = await acquireLock(lockPath, {
      tool: tool.name,
      what: `the leaderboard lock (${lockPath})`,
      waitMs,
      staleMs,
      onBreak: (o, why) => report.warn(`broke the leaderboard lock of ${describeOwner(o)}: ${why}`),
    });
  }
  try {
    const job: RankJob = { root, now, windows, metrics, scopes, top, minJobs, write, env: io.env, groups };
    const result = rankJob(job);
    for (const a of result.unknownAccounts) report.warn(`no jobs of account ${JSON.stringify(a)} in any window ranked; its boards are empty`);
    if (result.unreadable.length > 0) {
      const some = result.unreadable.slice(0, 5).join(', ') + (result.unreadable.length > 5 ? ', ...' : '');
      report.warn(`cannot see whether ${result.unreadable.length} user(s) opted out: home directory not searchable (${some}); list them in config/optout.txt`);
    }
    if (args['verbose'] === true) {
      report.info(`read ${result.filesRead} rollup file(s), ${(result.bytesRead / 1e6).toFixed(1)} MB, of ${result.clusters} cluster(s); ${result.users.length} user(s), ${result.hidden.length} opted out`);
    }
    if (write) {
      const files = leaderboardFiles(root, result.boards);
      const dirs = new Set(files.map((f) => path.dirname(f.path)));
      for (const d of dirs) mkdirSync(d, { recursive: true });
      for (const d of dirs) await removeStaleTemps(d);
      const held = lock;
      await writeFilesAtomic(files, () => {
        // Presumed dead and broken by another run while we worked: do not publish over its boards.
        if (held !== undefined && !held.holds()) throw new SbError('lost the leaderboard lock while ranking (broken as stale by another run); nothing written');
      });
      for (const f of files) {
        out.record({ kind: 'leaderboard', ...groupFields(f.board.group), window: f.board.window, metric: f.board.metric, cluster: f.board.cluster, rows: f.board.rows, file: f.path });
        await out.drain();
      }
    } else {
      for (const b of result.boards) {
        if (b.text !== '') out.line(b.text);
        await out.drain();
      }
    }
    await out.flush();
  } finally {
    lock?.release();
  }
}

// What to rank: windows (by id), metrics, clusters, as asked.
export interface RankJob {
  root: string;
  now: number;
  windows: string[];
  metrics: BoardMetric[];
  scopes: string[] | null;
  top: number;
  minJobs: number;
  // Render boards as leaderboard files (true) or as rank record lines (false).
  write: boolean;
  env: NodeJS.ProcessEnv;
  // default: users only
  groups?: Group[];
}

// One board rendered: its rank records (lines, no final newline) or its leaderboard file.
export interface RenderedBoard {
  window: string;
  metric: BoardMetric;
  cluster: string;
  rows: number;
  text: string;
  group?: Group;
}

export interface RankResult {
  boards: RenderedBoard[];
  filesRead: number;
  bytesRead: number;
  clusters: number;
  // Users seen, and those of them hidden as opted out.
  users: string[];
  hidden: string[];
  unreadable: string[];
  // --account names with no job in any window and cluster read
  unknownAccounts: string[];
}

// Ranks and renders a job's boards: window by window, cluster 'all' first then the clusters
// by name, metrics in METRICS order with overall last.
export function rankJob(job: RankJob): RankResult {
  const clusters = listClusters(job.root);
  for (const s of job.scopes ?? []) {
    if (s !== ALL && !clusters.includes(s)) throw new SbError(`no cluster '${s}' in '${path.join(job.root, 'clusters')}'`);
  }
  const wanted = job.scopes ?? [ALL, ...clusters];
  const needed = wanted.includes(ALL) ? clusters : clusters.filter((c) => wanted.includes(c));
  const windows = job.windows.map((w) => parseWindow(w, job.now));
  const metrics = new Set(job.metrics);
  let groups = job.groups ?? [{ by: 'user' }];
  const byUser = groups.some((g) => g.by === 'user' && !('account' in g));
  const byAccount = groups.some((g) => g.by === 'account' || 'account' in g);
  const reader = new RollupReader();
  // totals[window index]: scope → users; accounts[window index]: scope → account → users
  const totals: Array<Map<string, UserSums>> = windows.map(() => new Map());
  const accounts: Array<Map<string, AccountSums>> = windows.map(() => new Map());
  // scope → the last day whose account data are incomplete
  const lastIncomplete = new Map<string, string>();
  const watermarks = new Map<string, number>();
  for (const cluster of needed) {
    const files = clusterFiles(job.root, cluster);
    const mark = watermark(job.root, cluster);
    if (mark !== undefined) watermarks.set(cluster, mark);
    const years = dataYears(files);
    windows.forEach((w, i) => {
      if (byUser) totals[i]?.set(cluster, windowTotals(reader, files, windowParts(w, years)));
      if (byAccount) accounts[i]?.set(cluster, windowAccounts(reader, files, windowParts(w, years)));
    });
    const last = byAccount ? reader.lastIncompleteDay(files) : undefined;
    if (last !== undefined) {
      lastIncomplete.set(cluster, last);
      if (!lastIncomplete.has(ALL) || (lastIncomplete.get(ALL) as string) < last) lastIncomplete.set(ALL, last);
    }
  }
  if (wanted.includes(ALL)) {
    for (const byScope of totals) {
      const all: UserSums = new Map();
      for (const c of clusters) addInto(all, byScope.get(c) ?? new Map());
      byScope.set(ALL, all);
    }
    for (const byScope of accounts) {
      const all: AccountSums = new Map();
      for (const c of clusters) addAccountsInto(all, byScope.get(c) ?? new Map());
      byScope.set(ALL, all);
    }
  }
  // --account '*': every account there is
  if (groups.some((g) => 'account' in g && g.account === EVERY_ACCOUNT)) {
    const every = [...new Set(accounts.flatMap((byScope) => [...byScope.values()].flatMap((as) => [...as.keys()])))].sort();
    groups = [...groups.filter((g) => !('account' in g)), ...every.map((a): Group => ({ by: 'user', account: a }))];
  }
  const names = [
    ...new Set([
      ...totals.flatMap((byScope) => [...byScope.values()].flatMap((u) => [...u.keys()])),
      ...accounts.flatMap((byScope) => [...byScope.values()].flatMap((as) => [...as.values()].flatMap((u) => [...u.keys()]))),
    ]),
  ].sort();
  const hidden = readOptoutList(job.root);
  const home = homeOptouts(homeDirs(names.filter((u) => !hidden.has(u)), job.env));
  for (const u of home.users) hidden.add(u);
  const order = [...(wanted.includes(ALL) ? [ALL] : []), ...clusters.filter((c) => wanted.includes(c))];
  const boards: RenderedBoard[] = [];
  const seenAccounts = new Set<string>();
  windows.forEach((window, i) => {
    for (const group of groups) {
      for (const cluster of order) {
        const since = 'account' in group || group.by === 'account' ? accountsSince(lastIncomplete.get(cluster), window) : undefined;
        const counted = cluster === ALL ? countedTo(watermarks, window, job.now) : undefined;
        const byAcct = accounts[i]?.get(cluster) ?? new Map<string, UserSums>();
        for (const a of byAcct.keys()) seenAccounts.add(a);
        let ranked: Map<BoardMetric, Row[]>;
        let members: Map<string, number> | undefined;
        if (group.by === 'account') {
          // opted-out users count here: an account's total is all of its usage
          const sums: UserSums = new Map();
          members = new Map();
          for (const [a, us] of byAcct) {
            const t = sumUsers(us);
            if (t.jobs >= job.minJobs) sums.set(a, t);
            members.set(a, us.size);
          }
          ranked = rankUsers(sums, metrics);
        } else {
          const users = 'account' in group ? (byAcct.get(group.account) ?? new Map<string, Totals>()) : (totals[i]?.get(cluster) ?? new Map<string, Totals>());
          ranked = rankUsers(eligible(users, names, hidden, job.minJobs), metrics);
        }
        for (const [metric, all] of ranked) {
          const rows = keepTop(all, job.top);
          const board: Board = {
            window,
            metric,
            cluster,
            rows,
            group,
            ...(members !== undefined ? { members: rows.map((r) => members?.get(r.user) ?? 0) } : {}),
            ...(since !== undefined ? { accountsSince: since } : {}),
            ...(counted !== undefined ? { countedTo: counted } : {}),
          };
          boards.push({ window: window.id, metric, cluster, rows: rows.length, text: job.write ? boardDocument(board, job.now, job.minJobs) : rankLines(board), group });
        }
      }
    }
  });
  return {
    boards,
    filesRead: reader.filesRead,
    bytesRead: reader.bytesRead,
    clusters: needed.length,
    users: names,
    hidden: names.filter((u) => hidden.has(u)),
    unreadable: home.unreadable,
    unknownAccounts: groups.flatMap((g) => ('account' in g && !seenAccounts.has(g.account) ? [g.account] : [])),
  };
}

function windowAccounts(reader: RollupReader, files: ClusterFiles, parts: readonly Part[]): AccountSums {
  const acc: AccountSums = new Map();
  for (const part of parts) addAccountsInto(acc, reader.accounts(files, part));
  return acc;
}

// The day after `last` (the last day with incomplete account data) if the window reaches back
// to it: its account boards cannot be whole before that day.
export function accountsSince(last: string | undefined, w: Window): string | undefined {
  if (last === undefined) return undefined;
  const range = windowRange(w);
  if (range !== undefined && Date.parse(last + 'T00:00:00Z') / 1000 < range[0]) return undefined;
  return new Date(Date.parse(last + 'T00:00:00Z') + 86_400_000).toISOString().slice(0, 10);
}

// How far the store has counted a cluster's jobs: the end of the last span its chunk ledger
// holds (done or unsettled); undefined without a ledger (or with one that cannot be read: that
// is sb-reduce's and sb-probe's to report, not a reason to withhold the boards).
function watermark(root: string, cluster: string): number | undefined {
  try {
    const l = readLedger(ledgerPath(root, cluster));
    const ends = [...l.done, ...l.unsettled].map((iv) => iv[1]);
    return ends.length === 0 ? undefined : Math.max(...ends);
  } catch {
    return undefined;
  }
}

// On an 'all' board, a cluster counted to a time more than this before another's (each cut at
// the window's end) is named: the board sums the other's recent jobs with none of its own.
export const WATERMARK_SPREAD = 3600;

// The clusters an 'all' board sums that are counted only to an earlier time than the others, with
// their watermarks; undefined when none is (or fewer than two clusters have a ledger).
export function countedTo(marks: ReadonlyMap<string, number>, w: Window, now: number): Map<string, number> | undefined {
  if (marks.size < 2) return undefined;
  const end = Math.min(windowRange(w)?.[1] ?? now, now);
  const ahead = Math.max(...[...marks.values()].map((m) => Math.min(m, end)));
  const behind = [...marks].filter(([, m]) => Math.min(m, end) < ahead - WATERMARK_SPREAD).sort(([a], [b]) => (a < b ? -1 : 1));
  return behind.length === 0 ? undefined : new Map(behind);
}

function countedToJson(m: ReadonlyMap<string, number>): string {
  return '{' + [...m].map(([c, t]) => `${JSON.stringify(c)}:"${formatTime(t)}"`).join(',') + '}';
}

// The sum of a window's parts. One part is the reader's own map: read only from here on.
function windowTotals(reader: RollupReader, files: ClusterFiles, parts: readonly Part[]): UserSums {
  if (parts.length === 1) return reader.totals(files, parts[0] as Part);
  const acc: UserSums = new Map();
  for (const part of parts) addInto(acc, reader.totals(files, part));
  return acc;
}

// The users who may appear, in the order of `names`: not opted out, and with at least
// minJobs finished jobs.
export function eligible(users: UserSums, names: readonly string[], hidden: ReadonlySet<string>, minJobs: number): UserSums {
  const out: UserSums = new Map();
  for (const u of names) {
    const t = users.get(u);
    if (t !== undefined && t.jobs >= minJobs && !hidden.has(u)) out.set(u, t);
  }
  return out;
}

// The boards of one window and cluster: per skill the users with a value above zero, by value
// (exact totals, so equal values are real ties) then name; overall by total level, then
// total XP, then name. Competition ranking: ties share a rank and the next rank skips.
export function rankUsers(users: UserSums, metrics: ReadonlySet<BoardMetric>): Map<BoardMetric, Row[]> {
  const entries = [...users];
  if (entries.some(([u], i) => i > 0 && (entries[i - 1] as [string, Totals])[0] > u)) entries.sort(([a], [b]) => (a < b ? -1 : 1));
  const n = entries.length;
  const K = SKILLS.length;
  // Per user i and skill k at i*K+k: the ranked quantity as a float (exact ties are checked on
  // the totals), the XP and the level. Flat arrays: this runs for 30 boards of 2,000 users a run.
  const approx = new Float64Array(n * K);
  const xp = new Float64Array(n * K);
  const level = new Uint8Array(n * K);
  const values = entries.map(([, t], i) => {
    SKILLS.forEach((s, k) => {
      approx[i * K + k] = Number(t[s.field]);
      const x = skillXp(s, t);
      xp[i * K + k] = x;
      level[i * K + k] = levelForXp(x);
    });
    return metricValues(t);
  });
  const boards = new Map<BoardMetric, Row[]>();
  SKILLS.forEach(({ metric, field }, k) => {
    if (!metrics.has(metric)) return;
    const exact = (i: number): number | bigint => (entries[i] as [string, Totals])[1][field];
    const order: number[] = [];
    for (let i = 0; i < n; i++) if ((approx[i * K + k] as number) > 0) order.push(i);
    // Floats first; the exact totals break float ties; then name order.
    order.sort((a, b) => (approx[b * K + k] as number) - (approx[a * K + k] as number) || cmpExact(exact(b), exact(a)) || a - b);
    boards.set(
      metric,
      competitionRank(order, (a, b) => exact(a) === exact(b), (i, rank) => ({
        rank,
        user: (entries[i] as [string, Totals])[0],
        value: round6((values[i] as Record<MetricId, number>)[metric]),
        level: level[i * K + k] as number,
        xp: xp[i * K + k] as number,
      })),
    );
  });
  if (metrics.has('overall')) {
    const total: Array<{ i: number; level: number; xp: number }> = [];
    for (let i = 0; i < n; i++) {
      let any = false;
      let lv = 0;
      let x = 0;
      for (let k = 0; k < K; k++) {
        any ||= (approx[i * K + k] as number) > 0;
        lv += level[i * K + k] as number;
        x += xp[i * K + k] as number;
      }
      if (any) total.push({ i, level: lv, xp: x });
    }
    total.sort((a, b) => b.level - a.level || b.xp - a.xp || a.i - b.i);
    boards.set(
      'overall',
      competitionRank(total, (a, b) => a.level === b.level && a.xp === b.xp, (e, rank) => ({
        rank,
        user: (entries[e.i] as [string, Totals])[0],
        value: e.level,
        level: e.level,
        xp: e.xp,
      })),
    );
  }
  return boards;
}

function cmpExact(a: number | bigint, b: number | bigint): number {
  return a === b ? 0 : a > b ? 1 : -1;
}

// Ranks of sorted items: 1, 2, 2, 4 (equal neighbours share a rank; the next one skips).
export function competitionRank<T, R>(sorted: readonly T[], same: (a: T, b: T) => boolean, row: (item: T, rank: number) => R): R[] {
  const out: R[] = [];
  let rank = 0;
  sorted.forEach((item, i) => {
    if (i === 0 || !same(sorted[i - 1] as T, item)) rank = i + 1;
    out.push(row(item, rank));
  });
  return out;
}

// Rows ranked `top` or better: ties at the cut all stay.
export function keepTop(rows: Row[], top: number): Row[] {
  return Number.isFinite(top) ? rows.filter((r) => r.rank <= top) : rows;
}

// A row as JSON without its braces, built by hand: hundreds of thousands per run.
function rowFields(r: Row): string {
  return `"rank":${r.rank},"user":${JSON.stringify(r.user)},"value":${r.value},"level":${r.level},"xp":${r.xp}`;
}

export function rowJson(r: Row): string {
  return `{${rowFields(r)}}`;
}

// Six decimals, as the seed's files carry.
function round6(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}

// The fields that say what a board ranks, first in its records: none for user boards.
function groupFields(g: Group | undefined): Record<string, string> {
  if (g === undefined) return {};
  if ('account' in g) return { account: g.account };
  return g.by === 'account' ? { by: 'account' } : {};
}

// An account board's row: the account's name where a user board has the user's, and its users.
function accountRowFields(r: Row, users: number): string {
  return `"rank":${r.rank},"account":${JSON.stringify(r.user)},"value":${r.value},"level":${r.level},"xp":${r.xp},"users":${users}`;
}

function boardRows(b: Board): string[] {
  if (b.group?.by === 'account' && !('account' in b.group)) return b.rows.map((r, i) => accountRowFields(r, b.members?.[i] ?? 0));
  return b.rows.map(rowFields);
}

// A board's rank records, one a line, without the last newline.
export function rankLines(b: Board): string {
  const g = Object.entries(groupFields(b.group)).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)},`).join('');
  const head = `{"kind":"rank",${g}"window":${JSON.stringify(b.window.id)},"metric":"${b.metric}","cluster":${JSON.stringify(b.cluster)},`;
  const tail = (b.accountsSince === undefined ? '' : `,"accounts_since":"${b.accountsSince}"`) + (b.countedTo === undefined ? '' : `,"counted_to":${countedToJson(b.countedTo)}`) + '}';
  return boardRows(b).map((r) => `${head}${r}${tail}`).join('\n');
}

// A board's leaderboard file: the seed's schema ({"asof","metric","rows","window"}, keys in
// the seed's sorted order) with fields added.
export function boardDocument(board: Board, now: number, minJobs: number): string {
  const info = METRICS.find((m) => m.id === board.metric);
  const range = windowRange(board.window);
  const g = groupFields(board.group);
  const fields: Array<[string, unknown]> = [
    ...('account' in g ? [['account', g['account']] as [string, string]] : []),
    ...(board.accountsSince !== undefined ? [['accounts_since', board.accountsSince] as [string, string]] : []),
    ['asof', formatTime(now)],
    ...('by' in g ? [['by', g['by']] as [string, string]] : []),
    ['cluster', board.cluster],
    ...(board.countedTo !== undefined ? [['counted_to', Object.fromEntries([...board.countedTo].map(([c, t]) => [c, formatTime(t)]))] as [string, unknown]] : []),
    ...(range ? [['end', formatTime(range[1])] as [string, string]] : []),
    ['metric', board.metric],
    ['min_jobs', minJobs],
    ['rows', undefined],
    ['schema_version', 2],
    ...(range ? [['start', formatTime(range[0])] as [string, string]] : []),
    ['title', info?.title ?? 'Overall'],
    ['unit', info?.unit ?? 'total level'],
    ['window', board.window.id],
  ];
  const rows = '[' + boardRows(board).map((r) => `{${r}}`).join(',') + ']';
  return '{' + fields.map(([k, v]) => `"${k}":${k === 'rows' ? rows : JSON.stringify(v)}`).join(',') + '}\n';
}

interface BoardFile extends FileText {
  board: RenderedBoard;
}

const SEED_ALIASES = new Set(['alltime', 'rolling-30d', 'rolling-365d']);

// Where boards go: cluster 'all' at leaderboards/<window>_<metric>.json (and, as the seed
// did, leaderboards/<window>.json for clock_hours of its three windows); a cluster's at
// leaderboards/by-cluster/<cluster>/<window>_<metric>.json.
export function leaderboardFiles(root: string, boards: readonly RenderedBoard[]): BoardFile[] {
  const files: BoardFile[] = [];
  for (const board of boards) {
    const top = board.cluster === ALL ? path.join(root, 'leaderboards') : path.join(root, 'leaderboards', 'by-cluster', board.cluster);
    const g = board.group;
    const dir = g === undefined ? top : 'account' in g ? path.join(top, 'account', accountDirName(g.account)) : g.by === 'account' ? path.join(top, 'accounts') : top;
    files.push({ path: path.join(dir, `${board.window}_${board.metric}.json`), text: board.text, board });
    if (dir === path.join(root, 'leaderboards') && board.metric === 'clock_hours' && SEED_ALIASES.has(board.window)) {
      files.push({ path: path.join(dir, `${board.window}.json`), text: board.text, board });
    }
  }
  return files;
}

// The directory of an account's boards: its name, percent-encoded where it is not a plain name
// (as agg/users file names, docs/store.md); '%' for the account '' (no encoded name is '%').
export function accountDirName(account: string): string {
  return account === '' ? '%' : userFileName(account).slice(0, -'.json'.length);
}

function checkBy(b: string): 'user' | 'account' {
  if (b !== 'user' && b !== 'account') throw new UsageError(`--by '${b}': expected user or account`);
  return b;
}

// The name people give and see for the account '' (jobs without one): sacctmgr names have no parentheses.
export const NO_ACCOUNT = '(none)';

function checkAccount(a: string): string {
  if (a === NO_ACCOUNT) return '';
  if (/[\u0000-\u001f\u007f-\u009f]/.test(a)) throw new UsageError(`--account ${JSON.stringify(a)}: control characters in an account name`);
  return a;
}

function checkMetric(m: string): BoardMetric {
  if (!BOARD_METRICS.includes(m as BoardMetric)) throw new UsageError(`unknown metric '${m}' (expected one of ${BOARD_METRICS.join(', ')})`);
  return m as BoardMetric;
}

function checkCluster(c: string): string {
  if (c !== ALL && !isClusterName(c)) throw new UsageError(`'${c}' ${notClusterName(c)}`);
  return c;
}

function unique<T>(xs: readonly T[]): T[] {
  return [...new Set(xs)];
}

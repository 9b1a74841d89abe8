import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { isDone, failedPath, readLedger, type Interval } from '../../core/store/chunk-ledger.js';
import { readHeartbeat, heartbeatPath, pollLockPath, type Heartbeat, type PollResult } from '../../core/store/heartbeat.js';
import { describeOwner, peekLock, type LockState } from '../../core/store/lock.js';
import { ClusterStore } from '../../core/store/store.js';
import { formatTime, parseTime } from '../../core/records/time.js';
import { formatDuration } from '../../core/sacct/duration.js';

// How one cluster's part of the store is doing, as sb-probe --status shows it.
export interface ClusterStatus {
  kind: 'status';
  cluster: string;
  state: 'ok' | 'attention';
  problems: string[];
  poll: { last: PollResult; last_ok: PollResult | null } | null;
  ledger: {
    first: string | null;
    last: string | null;
    gaps: number;
    gap_seconds: number;
    unsettled_to: string | null;
    behind_seconds: number | null;
  };
  // skipped_lines: sb-sacct's skipped-line records (lines of sacct output left out of done
  // windows for a control character), which stay until removed by hand.
  failed: { windows: number; reasons: Record<string, number>; last_error: string | null; skipped_lines: number; file: string };
  lock: LockView | null;
  poll_lock: LockView | null;
  newest_day: string | null;
  last_commit: string | null;
}

interface LockView {
  tool: string;
  pid: number | null;
  host: string | null;
  since: string | null;
  alive: boolean;
  why?: string;
}

export interface StatusSettings {
  root: string;
  now: number;
  maxAgeSec: number;
  staleMs: number;
}

// The clusters of a store: the directories under clusters/ named as a cluster may be.
export function storeClusters(root: string): string[] {
  try {
    return readdirSync(path.join(root, 'clusters'), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
  } catch {
    return [];
  }
}

export function clusterStatus(cluster: string, s: StatusSettings): ClusterStatus {
  const problems: string[] = [];
  const store = new ClusterStore(s.root, cluster);
  let hb: Heartbeat | undefined;
  try {
    hb = readHeartbeat(heartbeatPath(s.root, cluster));
  } catch (err) {
    problems.push((err as Error).message);
  }
  if (hb === undefined) problems.push('never polled (no state/poll.json): is its sb-poll scheduled?');
  else {
    if (hb.last.status !== 0) problems.push(`the last poll ${hb.last.result === 'tempfail' ? 'could not fetch some windows for now' : hb.last.result === 'locked' ? 'found a store lock held' : 'failed'} (exit ${hb.last.status})`);
    const ok = hb.last_ok;
    const okAt = ok !== undefined ? parseTime(ok.finished) : undefined;
    if (okAt === undefined) problems.push('no poll has succeeded yet');
    else if (s.now - okAt > s.maxAgeSec) problems.push(`the last successful poll was ${formatDuration(s.now - okAt)} ago (more than --max-age ${formatDuration(s.maxAgeSec)})`);
  }

  let done: Interval[] = [];
  let unsettled: Interval[] = [];
  try {
    const l = readLedger(store.ledgerFile);
    done = l.done;
    unsettled = l.unsettled;
  } catch (err) {
    problems.push((err as Error).message);
  }
  const first = done[0]?.[0];
  const lastDone = done[done.length - 1]?.[1];
  let gapSeconds = 0;
  for (let i = 1; i < done.length; i++) gapSeconds += (done[i] as Interval)[0] - (done[i - 1] as Interval)[1] - 1;
  const gaps = Math.max(0, done.length - 1);
  const unsettledTo = unsettled[unsettled.length - 1]?.[1];
  const reach = Math.max(lastDone ?? -Infinity, unsettledTo ?? -Infinity);
  if (gaps > 0) problems.push(`the ledger has ${gaps} gap(s), ${formatDuration(gapSeconds)} in all, not fetched (a backfill or 'sb-chunk todo' over them fills them)`);

  const failed = failedWindows(failedPath(s.root, cluster), cluster, done, problems);
  if (failed.windows > 0) problems.push(`${failed.windows} failed window(s) not done yet (${reasons(failed.reasons)})`);
  if (failed.skipped_lines > 0) problems.push(`${failed.skipped_lines} line(s) of sacct output skipped for a control character, their jobs not counted or without that step (see ${failed.file}; remove them once seen to)`);

  const lock = lockView(peekLock(store.lockPath, s.staleMs));
  const pollLock = lockView(peekLock(pollLockPath(s.root, cluster), s.staleMs));
  for (const [name, l] of [['lock', lock], ['poll lock', pollLock]] as const) {
    if (l !== null && !l.alive) problems.push(`the ${name} is held by a dead ${l.tool} (${l.why}); the next run breaks it`);
  }

  return {
    kind: 'status',
    cluster,
    state: problems.length === 0 ? 'ok' : 'attention',
    problems,
    poll: hb === undefined ? null : { last: hb.last, last_ok: hb.last_ok ?? null },
    ledger: {
      first: first === undefined ? null : formatTime(first),
      last: lastDone === undefined ? null : formatTime(lastDone),
      gaps,
      gap_seconds: gapSeconds,
      unsettled_to: unsettledTo === undefined ? null : formatTime(unsettledTo),
      behind_seconds: Number.isFinite(reach) ? Math.max(0, s.now - reach) : null,
    },
    failed,
    lock,
    poll_lock: pollLock,
    newest_day: newestDay(store),
    last_commit: lastCommit(store),
  };
}

// `exit ×6, timeout ×1`: how many failed windows for each of sb-sacct's reasons.
function reasons(r: Record<string, number>): string {
  return Object.entries(r).map(([why, n]) => `${why} ×${n}`).join(', ');
}

function lockView(l: LockState | undefined): LockView | null {
  if (l === undefined) return null;
  const o = l.owner;
  return { tool: o?.tool ?? 'an unknown process', pid: o?.pid ?? null, host: o?.host ?? null, since: o?.since ?? null, alive: l.stale === undefined, ...(l.stale !== undefined ? { why: l.stale } : {}) };
}

// The entries of the failure ledger whose windows the chunk ledger does not hold as done, and
// its skipped-line records.
function failedWindows(file: string, cluster: string, done: Interval[], problems: string[]): ClusterStatus['failed'] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') problems.push(`cannot read '${file}': ${(err as Error).message}`);
  }
  const windows = new Set<string>();
  const reasons: Record<string, number> = {};
  let last: string | null = null;
  let skipped = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (rec['kind'] === 'skipped-line') {
      if (rec['cluster'] === cluster) skipped++;
      continue;
    }
    const start = typeof rec['start'] === 'string' ? parseTime(rec['start']) : undefined;
    const end = typeof rec['end'] === 'string' ? parseTime(rec['end']) : undefined;
    if (rec['cluster'] !== cluster || start === undefined || end === undefined || isDone(done, [start, end])) continue;
    const id = `${start}/${end}`;
    if (windows.has(id)) continue;
    windows.add(id);
    const reason = typeof rec['reason'] === 'string' ? rec['reason'] : 'unknown';
    reasons[reason] = (reasons[reason] ?? 0) + 1;
    if (typeof rec['error'] === 'string') last = rec['error'];
  }
  return { windows: windows.size, reasons, last_error: last, skipped_lines: skipped, file };
}

// The newest UTC day with jobs in the daily rollups: "jobs counted through".
function newestDay(store: ClusterStore): string | null {
  const dir = path.join(store.dir, 'agg', 'rollups', 'daily');
  let months: string[];
  try {
    months = readdirSync(dir).flatMap((f) => /^(\d{4}-\d{2})\.json$/.exec(f)?.[1] ?? []).sort();
  } catch {
    return null;
  }
  for (let i = months.length - 1; i >= 0; i--) {
    const month = months[i] as string;
    try {
      let best = '';
      for (const days of store.readDaily(month).values()) for (const d of days.keys()) if (d > best) best = d;
      if (best !== '') return `${month}-${best}`;
    } catch {
      return null;
    }
  }
  return null;
}

function lastCommit(store: ClusterStore): string | null {
  try {
    const asof = (JSON.parse(store.readTxn() || '{}') as { asof?: unknown }).asof;
    return typeof asof === 'string' ? asof : null;
  } catch {
    return null;
  }
}

// The status as lines of text: the verdict, then one line per part.
export function statusText(st: ClusterStatus, now: number): string[] {
  const ago = (iso: string | null | undefined): string => {
    const t = iso ? parseTime(iso) : undefined;
    return t === undefined ? '' : ` (${formatDuration(Math.max(0, now - t))} ago)`;
  };
  const lines = [`${st.cluster}: ${st.state === 'ok' ? 'ok' : `needs attention: ${st.problems.join('; ')}`}`];
  const poll = st.poll;
  if (poll === null) lines.push('  poll     never');
  else {
    const l = poll.last;
    lines.push(`  poll     last ${l.finished}${ago(l.finished)}: ${l.result} (exit ${l.status}), ${l.windows} window(s), ${l.new_jobs} new job(s)${l.message ? `; said: ${l.message}` : ''}`);
    if (l.status !== 0) lines.push(`  last ok  ${poll.last_ok ? `${poll.last_ok.finished}${ago(poll.last_ok.finished)}, ${poll.last_ok.new_jobs} new job(s)` : 'never'}`);
  }
  const g = st.ledger;
  lines.push(
    g.first === null
      ? `  ledger   nothing done yet${g.unsettled_to ? `; unsettled to ${g.unsettled_to}` : ''}`
      : `  ledger   done ${g.first} .. ${g.last}, ${g.gaps === 0 ? 'no gaps' : `${g.gaps} gap(s) (${formatDuration(g.gap_seconds)})`}${g.unsettled_to ? `; unsettled to ${g.unsettled_to}` : ''}${g.behind_seconds !== null ? `; ${formatDuration(g.behind_seconds)} behind now` : ''}`,
  );
  const f = st.failed;
  lines.push(`${f.windows === 0 ? '  failed   none' : `  failed   ${f.windows} window(s) (${reasons(f.reasons)}); last: ${f.last_error ?? '?'}`}${f.skipped_lines > 0 ? `; ${f.skipped_lines} skipped line(s)` : ''}`);
  const lock = (l: LockView | null): string => (l === null ? 'free' : `${l.alive ? 'held' : 'left by a dead run'}: ${describeOwner({ tool: l.tool, pid: l.pid ?? 0, host: l.host ?? '?', since: l.since ?? '?', token: '', pstart: null, boot: null })}${l.why ? ` (${l.why})` : ''}`);
  lines.push(`  lock     ${lock(st.lock)}; poll lock ${lock(st.poll_lock)}`);
  lines.push(`  newest   ${st.newest_day === null ? 'no jobs counted yet' : `jobs counted through ${st.newest_day}`}${st.last_commit ? `; last commit ${st.last_commit}${ago(st.last_commit)}` : ''}`);
  return lines;
}

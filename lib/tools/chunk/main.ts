// sb-chunk's work, loaded only once the command line asks for more than --help or --version:
// the windows, the chunk ledger and the store.
import { type Args, type Context, optInt, optNumber, optString } from '../../core/cli/run.js';
import { type Chunk, type CalendarUnit, EARLIEST, LONGEST, chunkFromRecord, chunkRecord, cutByCalendar, cutByStep, sortUnique, windowProblem } from '../../core/records/chunk.js';
import { type ChunkLedger, type Interval, addInterval, ledgerPath, readLedger, subtractIntervals } from '../../core/store/chunk-ledger.js';
import { durationOption } from '../../core/sacct/duration.js';
import { isClusterName, localClusterName, notClusterName } from '../../core/records/cluster.js';
import { BadInput, UsageError } from '../../core/cli/errors.js';
import { forEachRecord, type Input } from '../../core/cli/input.js';
import type { Output } from '../../core/cli/output.js';
import type { Reporter } from '../../core/cli/report.js';
import { ClusterStore, storeRoot } from '../../core/store/store.js';
import { incompleteDays } from '../../core/store/rollup-files.js';
import { formatTime, parseDateExpr, parseTime } from '../../core/records/time.js';

const UNITS: readonly CalendarUnit[] = ['hour', 'day', 'month'];

export async function main({ args, io, report, out, input }: Context): Promise<void> {
  const [command, ...rest] = args._;
  const limit = optInt(args, 'limit', Number.POSITIVE_INFINITY, 1);
  const given = optString(args, 'cluster');
  if (given !== undefined && !isClusterName(given)) throw new UsageError(`'${given}' ${notClusterName(given)}`);
  let cached: string | undefined = given;
  const cluster = (): string => (cached ??= localClusterName(io.env));

  let chunks: Chunk[];
  if (args['refetch'] === true && command !== 'todo') throw new UsageError(`option '--refetch' belongs to 'sb-chunk todo'`);
  if (command === 'new' && optString(args, 'root') !== undefined) throw new UsageError(`option '--root' belongs to 'sb-chunk todo' and 'sb-chunk from-file'`);
  for (const o of ['settle', 'slack']) if (command !== 'todo' && optString(args, o) !== undefined) throw new UsageError(`option '--${o}' belongs to 'sb-chunk todo'`);
  if (command === 'new') {
    if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}'`);
    chunks = newChunks(args, io.env, cluster);
  } else if (command === 'todo') {
    if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}'`);
    const root = storeRoot(optString(args, 'root'), io.env);
    if (root === undefined) throw new UsageError('sb-chunk todo needs the store: give --root DIR or set SB_ROOT');
    const settle = durationOption('settle', optString(args, 'settle'), 900);
    const slack = durationOption('slack', optString(args, 'slack'), 900);
    const windows = newChunks(args, io.env, cluster);
    chunks = args['refetch'] === true
      ? refetchChunks(windows, new ClusterStore(root, cluster()))
      : todoChunks(windows, readLedger(ledgerPath(root, cluster())), { now: Math.floor(Date.now() / 1000), settle, slack, longest: longestWindow(args) });
  } else if (command === 'from-file') {
    if (rest.length > 1) throw new UsageError(`unexpected argument '${rest[1]}'`);
    for (const name of ['start', 'end', 'step', 'by']) {
      if (optString(args, name) !== undefined) throw new UsageError(`option '--${name}' belongs to 'sb-chunk new'`);
    }
    chunks = await readChunks(await input(rest[0]), out, report, io.env, cluster);
    // with a store, only what it does not hold as done: a retry never fetches a window twice
    const root = storeRoot(optString(args, 'root'), io.env);
    if (root !== undefined) {
      const ledgers = new Map<string, ChunkLedger>();
      const ledgerOf = (c: string): ChunkLedger => ledgers.get(c) ?? ledgers.set(c, readLedger(ledgerPath(root, c))).get(c) as ChunkLedger;
      chunks = chunks.flatMap((c) => notDone([c], ledgerOf(c.cluster)));
    }
  } else if (command === undefined) {
    throw new UsageError('missing command: new, todo or from-file');
  } else {
    throw new UsageError(`unknown command '${command}' (expected new, todo or from-file)`);
  }

  let n = 0;
  for (const c of chunks) {
    if (n++ >= limit) break;
    out.record(chunkRecord(c));
    await out.drain();
  }
}

function newChunks(args: Args, env: NodeJS.ProcessEnv, cluster: () => string): Chunk[] {
  const startExpr = optString(args, 'start') ?? '3 hours ago';
  const endExpr = optString(args, 'end') ?? 'now';
  const by = optString(args, 'by');
  if (by !== undefined && optString(args, 'step') !== undefined) throw new UsageError('give --step or --by, not both');
  if (by !== undefined && !UNITS.includes(by as CalendarUnit)) {
    throw new UsageError(`option '--by': '${by}' is not one of hour, day, month`);
  }
  const stepHours = optNumber(args, 'step', 1);
  const stepSec = Math.round(stepHours * 3600);
  if (stepSec < 1) throw new UsageError(`option '--step': '${optString(args, 'step')}' hours is less than one second`);
  if (stepSec > LONGEST) throw new UsageError(`option '--step': '${optString(args, 'step')}' hours is longer than a year (the longest window)`);
  const start = parseDateExpr(startExpr, env);
  const end = parseDateExpr(endExpr, env);
  if (start > end) {
    throw new UsageError(`start '${startExpr}' (${formatTime(start)}) is after end '${endExpr}' (${formatTime(end)})`);
  }
  if (start < EARLIEST) throw new UsageError(`start '${startExpr}' (${formatTime(start)}) is before 1990: no accounting is that old`);
  const future = windowProblem(end, end, Math.floor(Date.now() / 1000));
  if (future !== undefined) throw new UsageError(`end '${endExpr}' (${formatTime(end)}) ${future}`);
  const name = cluster();
  const windows = by !== undefined ? cutByCalendar(start, end, by as CalendarUnit) : cutByStep(start, end, stepSec);
  return windows.map(([s, e]) => ({ cluster: name, start: s, end: e }));
}

// The windows not yet done: each window minus the ledger's done (settled) intervals, so a
// window partly done becomes its missing pieces, still closed and touching nothing done.
export function notDone(windows: Chunk[], ledger: ChunkLedger): Chunk[] {
  return windows.flatMap((w) => subtractIntervals([w.start, w.end], ledger.done).map(([start, end]) => ({ cluster: w.cluster, start, end })));
}

export interface TodoClock {
  now: number;
  // seconds after its end a window can settle (sb-sacct's --settle)
  settle: number;
  // the longest window the never-fetched span is cut into, in seconds
  longest: number;
  // sb-sacct's --slack, in seconds: how far from its End sacct may place a job
  slack: number;
}

// What a poll asks of slurmdbd. Each window's pieces not done: a piece that was never fetched
// whole and can settle (it ended `settle` ago) is fetched whole, once, with the slack: that fetch
// settles it (a backfill, the backlog of an outage, a hole left by a failure). Of a piece that
// cannot settle yet only what was never fetched is asked for, merged across windows into as few
// as `longest` allows, exactly (sb-sacct), and counted unsettled.
// What a poll counted unsettled after the last done span settles in tiles: spans asked for
// exactly, each starting where the one before ended, once every job within a slack of its end
// can be in slurmdbd (it ended `settle` + the slack ago), an hour (`longest`) at a time. A tile
// keeps the jobs that ended up to a slack outside it, so the slack is paid once per tile, not twice
// per window edge; what lies a slack inside the tiles asked for is done (recordChunk). So a job is
// in one answer when first seen and in one when it settles, however often the poll runs, apart
// from what sacct itself shows outside the span asked for.
// The never-fetched span ends at now: what ends later is asked for by a later poll.
// With settle 0 every window can settle: every unsettled piece comes again, as notDone.
export function todoChunks(windows: Chunk[], ledger: ChunkLedger, clock: TodoClock): Chunk[] {
  const out: Chunk[] = [];
  const fresh = new Map<string, Interval[]>();
  const tiling = clock.settle > 0 && windows.length > 0;
  const lastDone = ledger.done.at(-1)?.[1] ?? -Infinity;
  const first = windows.reduce((m, w) => Math.min(m, w.start), Infinity);
  const last = windows.reduce((m, w) => Math.max(m, w.end), -Infinity);
  // the tail: after the last done span (or before the first window, when nothing is done there)
  const tail = Math.max(lastDone, first - 1);
  let wholeInTail = false;
  for (const w of windows) {
    for (const piece of subtractIntervals([w.start, w.end], ledger.done)) {
      if (piece[1] + clock.settle <= clock.now) {
        if (tiling && piece[0] > tail && subtractIntervals(piece, ledger.unsettled).length === 0) continue;
        if (piece[0] > tail) wholeInTail = true;
        out.push({ cluster: w.cluster, start: piece[0], end: piece[1] });
        continue;
      }
      // never past now: nothing has ended there yet, and a span fetched empty would wait for
      // its window to settle
      let list = fresh.get(w.cluster) ?? [];
      for (const [s, e] of subtractIntervals(piece, ledger.unsettled)) if (s <= clock.now) list = addInterval(list, [s, Math.min(e, clock.now)]);
      fresh.set(w.cluster, list);
    }
  }
  for (const [cluster, list] of fresh) {
    for (const [s, e] of list) for (const [start, end] of cutByStep(s, e, clock.longest)) out.push({ cluster, start, end });
  }
  // tiles wait while whole pieces after the last done span are fetched: those move it
  if (tiling && !wholeInTail) out.push(...tiles(windows[0]?.cluster as string, tail, first, last, ledger, clock));
  return out.sort((a, b) => a.start - b.start || a.end - b.end);
}

// The tiles that settle what a poll counted after `tail` (done up to it), up to the windows' end.
function tiles(cluster: string, tail: number, first: number, last: number, ledger: ChunkLedger, clock: TodoClock): Chunk[] {
  const s = clock.slack;
  // what a poll fetched after the tail: tiles keep nothing beyond it, which this run's fresh
  // span fetches, unless that is the windows' end
  const fetched = ledger.unsettled.find(([a, b]) => a <= tail + 1 && tail + 1 <= b)?.[1];
  if (tail >= last || fetched === undefined) return [];
  const whole = fetched >= last;
  // the first job not done may have been filtered by sacct a slack before its End; the tiles
  // already asked for go on from their end
  let q = tail + 1 - s;
  for (const [a, b] of ledger.queried) if (a <= q && q <= b) q = b + 1;
  const cap = whole ? last + s : fetched - s;
  // every job within a slack of the tile's end has ended `settle` ago
  const r = Math.min(clock.now - clock.settle - s, cap);
  const atEnd = whole && r === cap;
  // whole tiles; the last one longer or shorter to reach the windows' end
  const out: Chunk[] = [];
  for (let a = q; a <= r; ) {
    let b = a + clock.longest - 1;
    if (b >= r || (atEnd && r - b < clock.longest)) b = r;
    if (b - a + 1 < clock.longest && !atEnd) break;
    out.push({ cluster, start: Math.max(a - s, first), end: Math.min(b + s, last), tile: { query: [a, b], slack: s } });
    a = b + 1;
  }
  return out;
}

// The longest window of the never-fetched span: --step, or the --by unit (a month as 31 days).
function longestWindow(args: Args): number {
  const by = optString(args, 'by');
  if (by === 'hour') return 3600;
  if (by === 'day') return 86400;
  if (by === 'month') return 31 * 86400;
  return Math.round(optNumber(args, 'step', 1) * 3600);
}

// The windows' parts on days whose account data are incomplete (docs/store.md, Accounts): each
// window cut to those days, consecutive ones kept together.
export function refetchChunks(windows: Chunk[], store: ClusterStore): Chunk[] {
  const DAY = 86400;
  const days = new Map<string, Set<number>>();
  const incomplete = (day: number): boolean => {
    const month = formatTime(day * DAY).slice(0, 7);
    let set = days.get(month);
    if (set === undefined) {
      set = new Set(incompleteDays(store.readDailyFile(month)).map((d) => Date.parse(`${month}-${d}T00:00:00Z`) / 1000 / DAY));
      days.set(month, set);
    }
    return set.has(day);
  };
  const out: Chunk[] = [];
  for (const w of windows) {
    let piece: [number, number] | undefined;
    for (let day = Math.floor(w.start / DAY); day * DAY <= w.end; day++) {
      if (!incomplete(day)) {
        if (piece !== undefined) out.push({ cluster: w.cluster, start: piece[0], end: piece[1] });
        piece = undefined;
        continue;
      }
      const a = Math.max(w.start, day * DAY);
      const b = Math.min(w.end, day * DAY + DAY - 1);
      piece = piece === undefined ? [a, b] : [piece[0], b];
    }
    if (piece !== undefined) out.push({ cluster: w.cluster, start: piece[0], end: piece[1] });
  }
  return out;
}

// Reads windows to retry from CSV or NDJSON lines; bad lines are reported and skipped.
async function readChunks(input: Input, out: Output, report: Reporter, env: NodeJS.ProcessEnv, cluster: () => string): Promise<Chunk[]> {
  const chunks: Chunk[] = [];
  const other = (text: string, where: { source: string; line: number }): void => {
    if (text.startsWith('#')) return;
    try {
      chunks.push(csvChunk(text, env, cluster));
    } catch (err) {
      if (!(err instanceof BadInput)) throw err;
      report.badLine(where, err.message);
    }
  };
  // any record with a cluster, start and end: chunks, sb-sacct's 'failed' ledger lines; the
  // ledger's 'skipped-line' records name a window that is done (without that line): none to retry
  const window = (rec: Record<string, unknown>): void => void chunks.push(chunkFromRecord(rec, undefined));
  await forEachRecord(input, out, report, { 'skipped-line': () => undefined, '*': window }, other);
  return sortUnique(chunks);
}

function csvChunk(text: string, env: NodeJS.ProcessEnv, cluster: () => string): Chunk {
  const fields = text.split(',').map((f) => f.trim());
  if (fields.length !== 2) throw new BadInput(`expected 'start,end', found ${fields.length} field${fields.length === 1 ? '' : 's'}`);
  const [startText, endText] = fields as [string, string];
  const start = csvTime(startText, env);
  const end = csvTime(endText, env);
  if (start > end) throw new BadInput(`start '${startText}' is after end '${endText}'`);
  return { cluster: cluster(), start, end };
}

// Non-UTC forms go to GNU date (one call each, remembered: retry files repeat their times).
const timeCache = new Map<string, number>();

function csvTime(text: string, env: NodeJS.ProcessEnv): number {
  const exact = parseTime(text) ?? timeCache.get(text);
  if (exact !== undefined) return exact;
  let sec: number;
  try {
    sec = parseDateExpr(text, env);
  } catch {
    throw new BadInput(`'${text}' is not a time`);
  }
  timeCache.set(text, sec);
  return sec;
}

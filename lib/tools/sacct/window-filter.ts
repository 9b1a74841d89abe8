import { chunkId } from '../../core/records/chunk.js';
import { formatTime } from '../../core/records/time.js';
import { SacctClock } from '../../core/sacct/time.js';
import { SACCT_FIELDS } from './command.js';
import { Spool } from './spool.js';

// sacct printed something that is not a whole line of our field list: retry the window.
export class GarbledOutput extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GarbledOutput';
  }
}

const NFIELDS = SACCT_FIELDS.length;
// The delimiter of `rows` lines: DEL, which no kept line holds and which JSON, unlike sacct's
// unit separator, writes as it is (1 byte, not 6). sacct's delimiter and DEL swap places as its
// output arrives (sacctText): lines are read with DEL between fields, and a DEL that sacct
// printed inside a value reads as the unit separator, a control character like any other.
export const ROWS_DELIMITER = '\x7f';
// A line of ours: every field ending in the delimiter, DBIndex digits or empty, JobIDRaw an id;
// captures, in field order, DBIndex, the job id and step of JobIDRaw, and End. In a
// plain line no value holds a character JSON escapes; any other may hold a quote, a backslash or
// a tab. A line with any other control character is skipped (skippedLine).
const linePattern = (value: string): RegExp => {
  const field: Record<string, string> = { DBIndex: '(\\d*)', JobIDRaw: '(\\d+)(\\.[A-Za-z0-9_+-]+)?', End: `(${value})` };
  return new RegExp(`^${SACCT_FIELDS.map((f) => `${field[f] ?? value}\\x7f`).join('')}$`);
};
const PLAIN_LINE = linePattern('[^\\x00-\\x1f"\\\\\\x7f]*');
const LINE = linePattern('[^\\x00-\\x08\\x0a-\\x1f\\x7f]*');
const CONTROL = /[\x00-\x08\x0a-\x1f]/;
const DB_COL = SACCT_FIELDS.indexOf('DBIndex');
const ID_COL = SACCT_FIELDS.indexOf('JobIDRaw');
const ID = /^(\d+)(\.[A-Za-z0-9_+-]+)?$/;
const SUBMIT_COL = SACCT_FIELDS.indexOf('Submit');
const START_COL = SACCT_FIELDS.indexOf('Start');
const FIELD_KEYS = SACCT_FIELDS.map((f) => `${JSON.stringify(f)}:`);

// A `rows` record holds at most this many lines, and is closed once past this many bytes.
export const ROWS_MAX_LINES = 4096;
export const ROWS_MAX_BYTES = 1024 * 1024;
// Skipped lines kept whole for the report and the ledger, per window; the rest are counted.
export const SKIPPED_KEPT = 100;
// A skipped line's text is shown cut to this many characters.
const SHOWN_MAX = 1000;

export interface FilterOptions {
  // One `row` record per line (sb-sacct --row-records) instead of batched `rows` records.
  rowRecords?: boolean;
  maxLines?: number;
  maxBytes?: number;
  // The -S of the window's query (epoch seconds): a kept job that started at or before it may
  // have steps that ended before it, which that query does not show. Such jobs are held back
  // (deferred()) for a second query by job id (steps()). Without it every job is kept at once.
  stepsFrom?: number;
}

interface PendingStep {
  db: number;
  // The step as its output element: a `rows` line (a JSON string) or a whole `row` record.
  text: string;
  // Set when the line holds a control character: skipped if its job is kept.
  bad?: SkippedLine;
}

// A line of sacct's output left out because a value holds a control character.
export interface SkippedLine {
  // 0: the window's query; k: the k-th query for steps.
  call: number;
  line: number;
  // JobIDRaw, as printed.
  job: string;
  // The fields holding a control character.
  fields: string[];
  // The line with its fields joined by '|', every control character written \xNN (a DEL sacct
  // printed as \x7f), cut to SHOWN_MAX characters.
  text: string;
}

// A kept job whose steps are fetched again.
export interface DeferredJob {
  id: number;
  db: number;
  submit: string;
  start: number;
}

export interface WindowRows {
  // The window's records, serialized as NDJSON (each ends in a newline).
  rows: Spool;
  // sacct lines kept.
  count: number;
  // lines of the window's query read, kept or not.
  seen: number;
  // Step lines without a job line to go with; dropped.
  orphans: number;
  // Job lines kept (the rest are their steps).
  jobs: number;
  // Lines skipped (at most SKIPPED_KEPT of them here; skippedCount counts all).
  skipped: SkippedLine[];
  skippedCount: number;
}

// Keeps the lines of one window's sacct output whose job's End (UTC) lies in [start, end]; a
// step (JobIDRaw `N.x`) goes with the job line of the same JobIDRaw N (and the same DBIndex when
// it has one; otherwise the latest such job line before it, for requeued duplicates). Rows keep
// sacct's order, except that a step printed before its job line follows that job line (sb-parse
// folds a step into the job row before it). Throws GarbledOutput on a line that is not the field
// list (a wrong field count, an id that is not one, a job without an End): sacct printed garbage.
// A line that is the field list but has a control character in a value is skipped and noted.
//
// With stepsFrom, kept jobs that started at or before it are held back: once the window's query
// is read, steps() switches to reading the answers of `sacct -j` for deferred() (in any number
// of calls), keeping each deferred job record once with every step it has; missing() tells the
// ones not seen. They follow the window's other jobs.
//
// Kept lines become `rows` records (the window's field list once, then up to ROWS_MAX_LINES raw
// lines without their final delimiter, the delimiter written as DEL, as JSON strings), or `row`
// records with rowRecords.
export class WindowFilter {
  readonly rows = new Spool();
  // sacct runs with TZ=UTC: its naive times are UTC.
  private readonly clock = new SacctClock();
  // Steps seen before any job line of their id, by job id.
  private pendingSteps = new Map<number, PendingStep[]>();
  private pendingCount = 0;
  // Job id → its latest job line: (DBIndex + 1) × 2 + (1 if kept), DBIndex -1 when empty.
  private jobs = new Map<number, number>();
  // Job ids seen more than once (requeued runs without DBIndex, recycled ids): every entry.
  private repeats = new Map<number, number[]>();
  private readonly prefix: string;
  private readonly header: string;
  private readonly rowRecords: boolean;
  private readonly maxLines: number;
  private readonly maxBytes: number;
  private readonly stepsFrom: number | undefined;
  // Lines and bytes in the open `rows` record (0 lines: none open).
  private recLines = 0;
  private recBytes = 0;
  private kept = 0;
  private seen = 0;
  private jobsKept = 0;
  private orphans = 0;
  private readonly skipped: SkippedLine[] = [];
  private skippedCount = 0;
  // The call being read: 0 the window's query, then each query for steps.
  private call = 0;
  // Deferred jobs by key, and the keys already kept from the queries for steps.
  private readonly deferredJobs = new Map<string, DeferredJob>();
  private readonly taken = new Set<string>();
  private callFrom = 0;
  private stepsFromText: string | undefined;

  constructor(cluster: string, private readonly start: number, private readonly end: number, opts: FilterOptions = {}) {
    const head = `"cluster":${JSON.stringify(cluster)},"chunk":${JSON.stringify(chunkId({ cluster, start, end }))}`;
    this.prefix = `{"kind":"row",${head},"f":{`;
    this.header = `{"kind":"rows",${head},"fields":${JSON.stringify(SACCT_FIELDS)},"delimiter":"\\u007f","lines":[`;
    this.rowRecords = opts.rowRecords === true;
    this.maxLines = opts.maxLines ?? ROWS_MAX_LINES;
    this.maxBytes = opts.maxBytes ?? ROWS_MAX_BYTES;
    this.stepsFrom = opts.stepsFrom;
  }

  // One line of sacct's output (its delimiter made DEL) without its newline, and its number.
  feed(line: string, n: number): void {
    if (line === '') return;
    let m = PLAIN_LINE.exec(line);
    const plain = m !== null;
    m ??= LINE.exec(line);
    let bad: SkippedLine | undefined;
    if (m === null) {
      m = this.split(line, n);
      bad = this.skippedLine(line, n, m);
    }
    const jobId = Number(m[2]);
    const db = m[1] === '' ? -1 : Number(m[1]);
    if (this.call === 0) this.seen++;
    if (m[3] === undefined) {
      const keep = this.jobLine(jobId, db, m, n, bad !== undefined);
      if (keep && bad) this.skip(bad);
      else if (keep) {
        this.jobsKept++;
        this.put(this.element(line, plain));
      }
      this.stepsOf(jobId, db, keep && !bad);
      return;
    }
    const job = this.jobOf(jobId, db);
    if (job === undefined) this.hold(jobId, db, bad ? '' : this.element(line, plain), bad);
    else if (job % 2 === 1) {
      if (bad) this.skip(bad);
      else this.put(this.element(line, plain));
    }
  }

  // The jobs held back for their steps (stepsFrom), earliest Start first.
  deferred(): DeferredJob[] {
    return [...this.deferredJobs.values()].sort((a, b) => a.start - b.start || a.id - b.id);
  }

  // From now on, lines are the answer of one more query for the deferred jobs' steps, whose -S
  // is `from`: only jobs that started since are taken from it (it shows all their steps).
  steps(from: number): void {
    this.endCall();
    this.call++;
    this.callFrom = from;
  }

  // The deferred jobs no query for steps has shown.
  missing(): DeferredJob[] {
    return this.deferred().filter((j) => !this.taken.has(keyOf(j.id, j.db, j.submit)));
  }

  finish(): WindowRows {
    this.endCall();
    if (this.recLines > 0) this.closeRecord();
    return { rows: this.rows, count: this.kept, seen: this.seen, orphans: this.orphans, jobs: this.jobsKept, skipped: this.skipped, skippedCount: this.skippedCount };
  }

  // The end of one call's answer: steps still waiting for a job line are orphans.
  private endCall(): void {
    this.orphans += this.pendingCount;
    this.pendingCount = 0;
    this.pendingSteps = new Map();
    this.jobs = new Map();
    this.repeats = new Map();
  }

  private where(n: number): string {
    return this.call === 0 ? `line ${n}` : `line ${n} of query ${this.call} for steps`;
  }

  // A line LINE does not match, as LINE's captures, when it is the field list with a control
  // character in a value; else why it is garbled.
  private split(line: string, n: number): RegExpExecArray {
    const parts = line.split(ROWS_DELIMITER);
    if (parts.length !== NFIELDS + 1 || parts[NFIELDS] !== '') {
      const found = parts[parts.length - 1] === '' ? parts.length - 1 : parts.length;
      throw new GarbledOutput(`${this.where(n)} has ${found} fields, expected ${NFIELDS} each ending in the delimiter`);
    }
    const db = parts[DB_COL] as string;
    const id = ID.exec(parts[ID_COL] as string);
    if (!/^\d*$/.test(db) || id === null) {
      throw new GarbledOutput(`${this.where(n)}: JobIDRaw '${parts[ID_COL]}' or DBIndex '${db}' is not an id`);
    }
    const m = [line, db, id[1], id[2]] as unknown as RegExpExecArray;
    m.push(parts[SACCT_FIELDS.indexOf('End')] as string);
    return m;
  }

  private skippedLine(line: string, n: number, m: RegExpExecArray): SkippedLine {
    const parts = line.split(ROWS_DELIMITER);
    const fields = SACCT_FIELDS.filter((_, i) => CONTROL.test(parts[i] as string));
    return { call: this.call, line: n, job: `${m[2]}${m[3] ?? ''}`, fields, text: shownLine(line) };
  }

  private skip(bad: SkippedLine): void {
    this.skippedCount++;
    if (this.skipped.length < SKIPPED_KEPT) this.skipped.push(bad);
  }

  // A job line's End as epoch seconds; a job that has none (Unknown) or no time is garbled.
  private endOf(text: string, rawId: string, n: number): number {
    let end: number | null = null;
    try {
      end = this.clock.read('End', text);
    } catch {
      // not a time: said below
    }
    if (end === null) throw new GarbledOutput(`${this.where(n)}: job ${rawId} has End '${text}', not a time`);
    return end;
  }

  // Records a job line (captures m); whether it is kept (or, when bad, skipped): in the window's
  // query, its End in the window and its steps all in that query; in a query for steps, a
  // deferred job not yet kept. The steps of a bad one are dropped with it.
  private jobLine(jobId: number, dbNum: number, m: RegExpExecArray, n: number, bad: boolean): boolean {
    let keep: boolean;
    if (this.call === 0) {
      const end = this.endOf(m[4] as string, m[2] as string, n);
      keep = end >= this.start && end <= this.end;
      const startText = keep && !bad && this.stepsFrom !== undefined ? field(m[0], START_COL) : '';
      if (startText !== '' && this.startsBy(startText)) {
        const start = this.startOf(startText);
        if (start !== null && start <= (this.stepsFrom as number)) {
          const submit = dbNum >= 0 ? '' : field(m[0], SUBMIT_COL);
          this.deferredJobs.set(keyOf(jobId, dbNum, submit), { id: jobId, db: dbNum, submit, start });
          keep = false;
        }
      }
    } else {
      const key = keyOf(jobId, dbNum, dbNum >= 0 ? '' : field(m[0], SUBMIT_COL));
      const job = this.deferredJobs.get(key);
      keep = job !== undefined && job.start >= this.callFrom && !this.taken.has(key);
      if (keep) this.taken.add(key);
    }
    const entry = (dbNum + 1) * 2 + (keep && !bad ? 1 : 0);
    const before = this.jobs.get(jobId);
    if (before !== undefined) {
      const list = this.repeats.get(jobId);
      if (list) list.push(entry);
      else this.repeats.set(jobId, [before, entry]);
    }
    this.jobs.set(jobId, entry);
    return keep;
  }

  // Whether a Start may be at or before stepsFrom: sacct's naive UTC times compare as text;
  // anything else (None, Unknown, another form) is read by startOf.
  private startsBy(text: string): boolean {
    if (text.length !== 19 || text.charCodeAt(10) !== 84 /* T */) return true;
    return text <= (this.stepsFromText ??= formatTime(this.stepsFrom as number).slice(0, 19));
  }

  // A job's Start, or null when it never started (None, Unknown) or is no time: it has no steps.
  private startOf(text: string): number | null {
    try {
      return this.clock.read('Start', text);
    } catch {
      return null;
    }
  }

  // A step seen before its job line: held until a job line it goes with.
  private hold(jobId: number, db: number, text: string, bad: SkippedLine | undefined): void {
    const step: PendingStep = bad ? { db, text, bad } : { db, text };
    const list = this.pendingSteps.get(jobId);
    if (list) list.push(step);
    else this.pendingSteps.set(jobId, [step]);
    this.pendingCount++;
  }

  // The held steps of a job line just read: put right after it when it is kept, else dropped.
  private stepsOf(jobId: number, db: number, keep: boolean): void {
    if (this.pendingCount === 0) return;
    const list = this.pendingSteps.get(jobId);
    if (list === undefined) return;
    const rest: PendingStep[] = [];
    for (const step of list) {
      if (step.db !== -1 && db !== -1 && step.db !== db) {
        rest.push(step);
        continue;
      }
      this.pendingCount--;
      if (!keep) continue;
      if (step.bad) this.skip(step.bad);
      else this.put(step.text);
    }
    if (rest.length > 0) this.pendingSteps.set(jobId, rest);
    else this.pendingSteps.delete(jobId);
  }

  // The job line a step goes with, as its entry; undefined if none (yet).
  private jobOf(jobId: number, db: number): number | undefined {
    const last = this.jobs.get(jobId);
    if (last === undefined || db === -1 || Math.floor(last / 2) === db + 1) return last;
    const list = this.repeats.get(jobId) ?? [];
    for (let i = list.length - 1; i >= 0; i--) if (Math.floor((list[i] as number) / 2) === db + 1) return list[i];
    return undefined;
  }

  // One kept line, as its output element (a `row` record, or a `rows` line as a JSON string).
  private put(text: string): void {
    this.kept++;
    if (this.rowRecords) {
      this.rows.write(text + '\n');
      return;
    }
    this.rows.write(this.recLines === 0 ? this.header + text : ',' + text);
    this.recLines++;
    this.recBytes += text.length;
    if (this.recLines >= this.maxLines || this.recBytes >= this.maxBytes) this.closeRecord();
  }

  private closeRecord(): void {
    this.rows.write(']}\n');
    this.recLines = 0;
    this.recBytes = 0;
  }

  // A kept line as its output element: a `rows` line (a JSON string, less the final delimiter)
  // or a `row` record. `plain`: no value holds a character JSON escapes, so each goes in as it is.
  private element(line: string, plain: boolean): string {
    if (!this.rowRecords) return plain ? `"${line.slice(0, -1)}"` : JSON.stringify(line.slice(0, -1));
    const parts = line.split(ROWS_DELIMITER);
    let s = this.prefix;
    for (let i = 0; i < NFIELDS; i++) {
      const v = parts[i] as string;
      s += (i > 0 ? ',' : '') + FIELD_KEYS[i] + (plain ? `"${v}"` : JSON.stringify(v));
    }
    return s + '}}';
  }
}

// Field `col` of a line (its fields each ending in DEL), found without splitting it.
function field(line: string, col: number): string {
  let from = 0;
  for (let i = 0; i < col; i++) from = line.indexOf(ROWS_DELIMITER, from) + 1;
  return line.slice(from, line.indexOf(ROWS_DELIMITER, from));
}

// A job record's identity in both kinds of query: its DBIndex, else its id and Submit.
function keyOf(id: number, db: number, submit: string): string {
  return db >= 0 ? `d${db}` : `i${id}@${submit}`;
}

// A line as a person reads it: fields joined by '|', control characters as \xNN (the unit
// separator here stands for a DEL that sacct printed), cut to SHOWN_MAX characters.
export function shownLine(line: string): string {
  let s = '';
  const body = line.endsWith(ROWS_DELIMITER) ? line.slice(0, -1) : line;
  for (const c of body) {
    const code = c.charCodeAt(0);
    if (c === ROWS_DELIMITER) s += '|';
    else if (code === 0x1f) s += '\\x7f';
    else if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) s += `\\x${code.toString(16).padStart(2, '0')}`;
    else s += c;
    if (s.length > SHOWN_MAX) return s.slice(0, SHOWN_MAX - 3) + '...';
  }
  return s;
}

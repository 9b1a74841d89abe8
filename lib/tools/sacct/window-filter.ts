import { chunkId } from '../../core/records/chunk.js';
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
// The delimiter of `rows` lines: DEL, which no kept line holds (sacct's output with one is
// garbled) and which JSON, unlike sacct's unit separator, writes as it is (1 byte, not 6).
// sacct's delimiter becomes DEL as its output arrives (sacctText), so lines are read with it.
export const ROWS_DELIMITER = '\x7f';
// A line of ours: every field ending in the delimiter, DBIndex digits or empty, JobIDRaw an id;
// captures, in field order, DBIndex, the job id and step of JobIDRaw, and End. In a plain line
// no value holds a character JSON escapes; any other may hold a quote, a backslash or a tab.
const linePattern = (value: string): RegExp => {
  const field: Record<string, string> = { DBIndex: '(\\d*)', JobIDRaw: '(\\d+)(\\.[A-Za-z0-9_+-]+)?', End: `(${value})` };
  return new RegExp(`^${SACCT_FIELDS.map((f) => `${field[f] ?? value}\\x7f`).join('')}$`);
};
const PLAIN_LINE = linePattern('[^\\x00-\\x1f"\\\\\\x7f]*');
const LINE = linePattern('[^\\x00-\\x08\\x0a-\\x1f\\x7f]*');
const CONTROL = /[\x00-\x08\x0a-\x1f]/;
const FIELD_KEYS = SACCT_FIELDS.map((f) => `${JSON.stringify(f)}:`);

// A `rows` record holds at most this many lines, and is closed once past this many bytes.
export const ROWS_MAX_LINES = 4096;
export const ROWS_MAX_BYTES = 1024 * 1024;

export interface FilterOptions {
  // One `row` record per line (sb-sacct --row-records) instead of batched `rows` records.
  rowRecords?: boolean;
  maxLines?: number;
  maxBytes?: number;
}

interface PendingStep {
  db: number;
  // The step as its output element: a `rows` line (a JSON string) or a whole `row` record.
  text: string;
}

export interface WindowRows {
  // The window's records, serialized as NDJSON (each ends in a newline).
  rows: Spool;
  // sacct lines kept.
  count: number;
  // sacct lines read, kept or not.
  seen: number;
  // Step lines without a job line to go with; dropped.
  orphans: number;
}

// Keeps the lines of one window's sacct output whose job's End (UTC) lies in [start, end]; a
// step (JobIDRaw `N.x`) goes with the job line of the same JobIDRaw N (and the same DBIndex when
// it has one; otherwise the latest such job line before it, for requeued duplicates). Rows keep
// sacct's order, except that a step printed before its job line follows that job line (sb-parse
// folds a step into the job row before it). Throws GarbledOutput on a line that is not exactly
// the field list.
//
// Kept lines become `rows` records (the window's field list once, then up to ROWS_MAX_LINES raw
// lines without their final delimiter, the delimiter written as DEL, as JSON strings), or `row`
// records with rowRecords.
export class WindowFilter {
  readonly rows = new Spool();
  // sacct runs with TZ=UTC: its naive times are UTC.
  private readonly clock = new SacctClock();
  // Steps seen before any job line of their id, by job id.
  private readonly pendingSteps = new Map<number, PendingStep[]>();
  private pendingCount = 0;
  // Job id → its latest job line: (DBIndex + 1) × 2 + (1 if kept), DBIndex -1 when empty.
  private readonly jobs = new Map<number, number>();
  // Job ids seen more than once (requeued runs without DBIndex, recycled ids): every entry.
  private readonly repeats = new Map<number, number[]>();
  private readonly prefix: string;
  private readonly header: string;
  private readonly rowRecords: boolean;
  private readonly maxLines: number;
  private readonly maxBytes: number;
  // Lines and bytes in the open `rows` record (0 lines: none open).
  private recLines = 0;
  private recBytes = 0;
  private kept = 0;
  private seen = 0;

  constructor(cluster: string, private readonly start: number, private readonly end: number, opts: FilterOptions = {}) {
    const head = `"cluster":${JSON.stringify(cluster)},"chunk":${JSON.stringify(chunkId({ cluster, start, end }))}`;
    this.prefix = `{"kind":"row",${head},"f":{`;
    this.header = `{"kind":"rows",${head},"fields":${JSON.stringify(SACCT_FIELDS)},"delimiter":"\\u007f","lines":[`;
    this.rowRecords = opts.rowRecords === true;
    this.maxLines = opts.maxLines ?? ROWS_MAX_LINES;
    this.maxBytes = opts.maxBytes ?? ROWS_MAX_BYTES;
  }

  // One line of sacct's output (its delimiter made DEL) without its newline, and its number.
  feed(line: string, n: number): void {
    if (line === '') return;
    let m = PLAIN_LINE.exec(line);
    const plain = m !== null;
    m ??= LINE.exec(line);
    if (m === null) throw garbled(line, n);
    const jobId = Number(m[2]);
    const db = m[1] === '' ? -1 : Number(m[1]);
    this.seen++;
    if (m[3] === undefined) {
      if (this.jobLine(jobId, db, this.endOf(m[4] as string, m[2] as string, n))) {
        this.put(this.element(line, plain));
        this.stepsOf(jobId, db, true);
      } else this.stepsOf(jobId, db, false);
      return;
    }
    const job = this.jobOf(jobId, db);
    if (job === undefined) this.hold(jobId, db, this.element(line, plain));
    else if (job % 2 === 1) this.put(this.element(line, plain));
  }

  finish(): WindowRows {
    if (this.recLines > 0) this.closeRecord();
    return { rows: this.rows, count: this.kept, seen: this.seen, orphans: this.pendingCount };
  }

  // A job line's End as epoch seconds; a job that has none (Unknown) or no time is garbled.
  private endOf(text: string, rawId: string, n: number): number {
    let end: number | null = null;
    try {
      end = this.clock.read('End', text);
    } catch {
      // not a time: said below
    }
    if (end === null) throw new GarbledOutput(`line ${n}: job ${rawId} has End '${text}', not a time`);
    return end;
  }

  // Records a job line; whether it is kept (its End in the window).
  private jobLine(jobId: number, dbNum: number, end: number): boolean {
    const keep = end >= this.start && end <= this.end;
    const entry = (dbNum + 1) * 2 + (keep ? 1 : 0);
    const before = this.jobs.get(jobId);
    if (before !== undefined) {
      const list = this.repeats.get(jobId);
      if (list) list.push(entry);
      else this.repeats.set(jobId, [before, entry]);
    }
    this.jobs.set(jobId, entry);
    return keep;
  }

  // A step seen before its job line: held until a job line it goes with.
  private hold(jobId: number, db: number, text: string): void {
    const list = this.pendingSteps.get(jobId);
    if (list) list.push({ db, text });
    else this.pendingSteps.set(jobId, [{ db, text }]);
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
      if (keep) this.put(step.text);
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

// Why a line is not one of ours (LINE does not match it).
function garbled(line: string, n: number): GarbledOutput {
  const parts = line.split(ROWS_DELIMITER);
  if (parts.length !== NFIELDS + 1 || parts[NFIELDS] !== '') {
    const found = parts[parts.length - 1] === '' ? parts.length - 1 : parts.length;
    return new GarbledOutput(`line ${n} has ${found} fields, expected ${NFIELDS} each ending in the delimiter`);
  }
  if (CONTROL.test(line)) return new GarbledOutput(`line ${n} has a control character`);
  return new GarbledOutput(`line ${n}: JobIDRaw '${parts[SACCT_FIELDS.indexOf('JobIDRaw')]}' or DBIndex '${parts[SACCT_FIELDS.indexOf('DBIndex')]}' is not an id`);
}

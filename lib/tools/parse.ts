import { type Context, type Tool, maxOperands, optString } from '../core/cli/run.js';
import { isClusterName } from '../core/records/cluster.js';
import { localClusterName } from '../core/records/cluster.js';
import { BadInput, SbError, UsageError } from '../core/cli/errors.js';
import { FAILED_STATES, type JobRecord, TERMINAL_STATES, jobKey } from '../core/records/job.js';
import type { Input } from '../core/cli/input.js';
import type { Output } from '../core/cli/output.js';
import { SB_SACCT_FIELDS, sacctFieldName } from '../core/sacct/fields.js';
import { SacctClock } from '../core/sacct/time.js';
import { digits, durationSeconds, gpusFromTres, reqMemBytes, sizeBytes, wholeNumber } from './parse/units.js';

export const USAGE = `Usage: sb-parse [FILE] [options]

Read sacct rows and print one NDJSON 'job' record per job, its steps folded in
(peak MaxRSS over the steps, the number of steps). Input is sb-sacct's 'rows'
records (or its --row-records 'row' records), or plain 'sacct -p' / 'sacct -P'
text with a header line or --fields; which one is told by the first character
('{' is NDJSON). Records of other kinds (chunk-done, ...) pass through
untouched, after the jobs before them.
Running and pending jobs are skipped: they are counted once they end.

Options:
  -f, --fields LIST     the fields of headerless text, comma-separated, in
                        order ('sb' = the list sb-sacct asks for); needs at
                        least JobID or JobIDRaw, State, End, User, and
                        ElapsedRaw or Elapsed
  -d, --delimiter STR   field separator of text (default: '|', or the unit
                        separator if the first line holds one; '\\x1f' works)
  -c, --cluster NAME    cluster of rows that do not name one (text without a
                        Cluster field; default: $SB_CLUSTER, else ClusterName
                        from 'scontrol show config')
      --tz ZONE         zone of sacct's times when they carry none (default:
                        UTC, as sb-sacct runs sacct); for hand-made input
      --strict          exit 65 at the end if any input line was bad
  -v, --verbose         print counts on stderr at the end (rows, jobs, steps,
                        skipped, orphan steps, bad, passed through)
      --errors FMT      diagnostics as 'text' (default) or 'json' lines
  -h, --help            print this help and exit
  -V, --version         print the version and exit

Sizes are bytes (K, M, G, T, P are powers of 1024), durations seconds, times
UTC. Exit status: 0 ok, 1 failure, 2 usage error, 65 bad input under --strict.

Example: TZ=UTC sacct -a -P --noconvert -S 2024-01-01 -o JobID,User,State,End,ElapsedRaw,AllocCPUS | sb-parse -c hammer
`;

export const tool: Tool = {
  name: 'sb-parse',
  usage: USAGE,
  options: {
    string: ['fields', 'delimiter', 'cluster', 'tz'],
    boolean: ['verbose'],
    alias: { f: 'fields', d: 'delimiter', c: 'cluster', v: 'verbose' },
  },
  reads: true,
  main,
};

// Where each field the parser reads sits in its working row.
const DB = 0, JOBID = 1, JOBIDRAW = 2, CLUSTER = 3, USER = 4, UID = 5, ACCOUNT = 6, PARTITION = 7, QOS = 8,
  STATE = 9, EXITCODE = 10, SUBMIT = 11, START = 12, END = 13, ELAPSEDRAW = 14, ELAPSED = 15, TIMELIMIT = 16,
  TIMELIMITRAW = 17, CPUS = 18, NODES = 19, REQMEM = 20, MAXRSS = 21, TRES = 22;
const USED = ['DBIndex', 'JobID', 'JobIDRaw', 'Cluster', 'User', 'UID', 'Account', 'Partition', 'QOS', 'State',
  'ExitCode', 'Submit', 'Start', 'End', 'ElapsedRaw', 'Elapsed', 'Timelimit', 'TimelimitRaw', 'AllocCPUS',
  'NNodes', 'ReqMem', 'MaxRSS', 'AllocTRES'] as const;
const SLOT = new Map<string, number>(USED.map((n, i) => [n, i]));
SLOT.set('NCPUS', CPUS);

const TERMINAL: ReadonlySet<string> = new Set(TERMINAL_STATES);
const STATE_WORD = /^[A-Z][A-Z_]*$/;
export const JOB_ID = /^\d+(?:_(?:\d+|\[[0-9,%-]+\]))?(?:\+\d+)?$/;
// JOB_ID.test(text) without a regex (most array ids go by here).
export function isJobId(text: string): boolean {
  const n = text.length;
  let i = 0;
  let c = 0;
  while (i < n && (c = text.charCodeAt(i)) >= 48 && c <= 57) i++;
  if (i === 0) return false;
  if (i < n && text.charCodeAt(i) === 95 /* _ */) {
    const b = ++i;
    if (i < n && text.charCodeAt(i) === 91 /* [ */) {
      i++;
      while (i < n && (((c = text.charCodeAt(i)) >= 48 && c <= 57) || c === 44 || c === 37 || c === 45)) i++;
      if (i === b + 1 || i >= n || text.charCodeAt(i) !== 93 /* ] */) return false;
      i++;
    } else {
      while (i < n && (c = text.charCodeAt(i)) >= 48 && c <= 57) i++;
      if (i === b) return false;
    }
  }
  if (i < n && text.charCodeAt(i) === 43 /* + */) {
    const b = ++i;
    while (i < n && (c = text.charCodeAt(i)) >= 48 && c <= 57) i++;
    if (i === b) return false;
  }
  return i === n;
}
const REQUIRED = 'JobID or JobIDRaw, State, End, User, and ElapsedRaw or Elapsed';

// The fields a field list lacks of those sb-parse needs.
export function missingFields(names: readonly string[]): string[] {
  const has = new Set(names);
  const missing: string[] = [];
  if (!has.has('JobID') && !has.has('JobIDRaw')) missing.push('JobID (or JobIDRaw)');
  for (const n of ['State', 'End', 'User']) if (!has.has(n)) missing.push(n);
  if (!has.has('ElapsedRaw') && !has.has('Elapsed')) missing.push('ElapsedRaw (or Elapsed)');
  return missing;
}

// `a|b|c|` → the names, when every one is a sacct field name (sacct's header line); else undefined.
export function headerNames(line: string, delimiter: string): string[] | undefined {
  const tokens = line.split(delimiter);
  if (tokens.length > 1 && tokens[tokens.length - 1] === '') tokens.pop();
  const names: string[] = [];
  for (const t of tokens) {
    const n = sacctFieldName(t);
    if (n === undefined || t.trim() !== t) return undefined;
    names.push(n);
  }
  return names.includes('JobID') || names.includes('JobIDRaw') ? names : undefined;
}

// `\x1f`, `\t`, `\\` in a --delimiter value → the characters.
export function unescapeDelimiter(text: string): string {
  return text.replace(/\\(x[0-9a-fA-F]{2}|t|\\)/g, (_, e: string) => (e === 't' ? '\t' : e === '\\' ? '\\' : String.fromCharCode(parseInt(e.slice(1), 16))));
}

// The fields of a job record in the order sb-parse prints them, `kind` first.
export const JOB_FIELDS = ['kind', 'cluster', 'key', 'job_id', 'job_id_raw', 'db_index', 'user', 'uid', 'account',
  'partition', 'qos', 'state', 'exit_code', 'failed', 'submit', 'start', 'end', 'elapsed_s', 'timelimit_s', 'cpus', 'nodes',
  'gpus', 'req_mem_bytes', 'max_rss_bytes', 'steps'] as const satisfies ReadonlyArray<keyof JobRecord>;
// Compiles only while JOB_FIELDS names every field of JobRecord.
const EVERY_FIELD: Exclude<keyof JobRecord, (typeof JOB_FIELDS)[number]> extends never ? true : never = true;
void EVERY_FIELD;

// The inside of a JSON string holding `text`: `text` itself unless it has a character JSON
// escapes (rare in sacct's output).
function esc(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 32 || c === 34 || c === 92) return JSON.stringify(text).slice(1, -1);
  }
  return text;
}

// A whole number as text; above 2^30 in two pieces, as V8 writes large numbers slowly.
export function int(n: number): string {
  if (n < 1073741823) return '' + n;
  const high = Math.floor(n / 1e8);
  const low = '' + (n - high * 1e8);
  return '' + high + '00000000'.slice(low.length) + low;
}

// A number field's own digits when they are how the number is written (no leading zeros).
function digitsText(text: string | undefined, n: number): string {
  return text !== undefined && (text.length === 1 || text.charCodeAt(0) !== 48) && text.length <= 15 ? text : int(n);
}

// jobKey's `cluster/db/N` written with the DBIndex's own digits (turning a large number into
// text costs more than the rest of a job); used only while jobKey writes that form.
const DB_KEY = jobKey('c', 12, '1', 1) === 'c/db/12';

// A string as one flat piece (a joined string is a tree of its pieces until something reads it).
function flatCopy(text: string): string {
  return (text + ' ').slice(0, -1);
}

export interface ParserOptions {
  // Field names of headerless text (else the first line must be sacct's header).
  fields?: readonly string[];
  delimiter?: string;
  // The cluster of rows that name none; called at most once, when first needed.
  cluster?: () => string;
  clock?: SacctClock;
}

// What the parser hands out: output lines, and diagnostics about input line numbers.
export interface Sink {
  line(text: string): void;
  bad(line: number, message: string): void;
  warn(line: number, message: string): void;
}

export interface Counts {
  rows: number;
  jobs: number;
  steps: number;
  skipped: number;
  orphans: number;
  passed: number;
}

// What the job being folded is: none yet, a job to print, one not finished, one with a bad row.
const NONE = 0, JOB = 1, SKIP = 2, DROP = 3;

// Turns input lines into job lines: one line at a time, in order, holding only the job whose
// steps are still arriving (sacct prints a job, then its steps). No I/O: lines go to the sink.
export class Parser {
  readonly counts: Counts = { rows: 0, jobs: 0, steps: 0, skipped: 0, orphans: 0, passed: 0 };
  private mode: 'ndjson' | 'text' | undefined;
  private readonly reader: JobReader;
  private readonly row: Array<string | undefined> = new Array<string | undefined>(USED.length).fill(undefined);
  // Text: the column of each working-row slot (-1: not in the input), the width, the header.
  private columns: Int32Array | undefined;
  private width = 0;
  private starts = new Int32Array(0);
  private ends = new Int32Array(0);
  private delimiter = '|';
  private header: string | undefined;
  private fallbackCluster: string | undefined;
  private lastCluster = '';
  private line = 0;
  // In a `rows` record: the number (from 1) of the line being read, else 0; and the record's
  // cluster, which its lines' own Cluster field does not override.
  private sub = 0;
  private forced: string | undefined;
  // The field list and delimiter the text layout was last set up for (`rows` records).
  private layout = '';
  // The job being folded.
  private state = NONE;
  private id = '';
  private db: string | undefined;
  private cluster = '';
  // Its record as far as its job row goes, its peak RSS so far, its steps so far.
  private head = '';
  private rss: number | null = null;
  private steps = 0;
  // write(): bytes of a line not yet whole; lines so far.
  private partial = Buffer.alloc(0);
  private partialLength = 0;
  private lines = 0;

  constructor(
    private readonly sink: Sink,
    private readonly opts: ParserOptions = {},
  ) {
    this.reader = new JobReader(opts.clock);
  }

  // Input bytes, in order (lines are numbered from 1 across calls); end() after the last.
  write(chunk: Buffer): void {
    let from = 0;
    // Line by line until the first line says what the input is.
    while (this.mode === undefined) {
      const nl = chunk.indexOf(10, from);
      if (nl < 0) break;
      this.pushBytes(chunk.subarray(from, nl));
      from = nl + 1;
    }
    if (from >= chunk.length) return;
    const rest = from === 0 ? chunk : chunk.subarray(from);
    const nl = this.mode === undefined ? -1 : rest.lastIndexOf(10);
    if (nl < 0) {
      this.keep(rest);
      return;
    }
    this.pushBytes(rest.subarray(0, nl));
    if (nl + 1 < rest.length) this.keep(rest.subarray(nl + 1));
  }

  // Keeps bytes of a line not yet whole (a copy: the caller may reuse its buffer).
  private keep(bytes: Buffer): void {
    const need = this.partialLength + bytes.length;
    if (need > this.partial.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(need, this.partial.length * 2, 64 * 1024));
      this.partial.copy(grown, 0, 0, this.partialLength);
      this.partial = grown;
    }
    bytes.copy(this.partial, this.partialLength);
    this.partialLength = need;
  }

  // Lines (joined with the bytes held from before), decoded once, pushed one by one.
  private pushBytes(bytes: Buffer): void {
    let whole: string;
    if (this.partialLength === 0) {
      whole = bytes.toString('utf8');
    } else {
      this.keep(bytes);
      whole = this.partial.toString('utf8', 0, this.partialLength);
      this.partialLength = 0;
    }
    if (whole.indexOf('\n') < 0) {
      this.push(stripCr(whole), ++this.lines);
      return;
    }
    const lines = whole.split('\n');
    for (let i = 0; i < lines.length; i++) this.push(stripCr(lines[i] as string), ++this.lines);
  }

  // One input line (without its newline) and its number.
  push(text: string, line: number): void {
    this.line = line;
    if (text.length === 0) return;
    if (this.mode === 'text') {
      this.textLine(text);
      return;
    }
    if (this.mode === 'ndjson') {
      this.jsonLine(text);
      return;
    }
    const start = text.trimStart();
    if (start.length === 0) return;
    if (start.charCodeAt(0) === 123) {
      this.mode = 'ndjson';
      this.jsonLine(text);
    } else {
      this.mode = 'text';
      this.setupText(text);
    }
  }

  // End of input: read what write() holds, print the last job.
  end(): void {
    if (this.partialLength > 0) {
      this.pushBytes(Buffer.alloc(0));
    }
    this.flush();
  }

  private bad(message: string): void {
    this.sink.bad(this.line, this.sub > 0 ? `rows line ${this.sub}: ${message}` : message);
  }

  private warn(message: string): void {
    this.sink.warn(this.line, this.sub > 0 ? `rows line ${this.sub}: ${message}` : message);
  }

  private jsonLine(text: string): void {
    let rec: unknown;
    try {
      rec = JSON.parse(text);
    } catch (err) {
      if (text.trim().length === 0) return;
      this.bad(`not JSON: ${(err as Error).message}`);
      return;
    }
    if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) {
      this.bad('not a JSON object');
      return;
    }
    const r = rec as Record<string, unknown>;
    if (r['kind'] === 'rows') {
      this.rowsRecord(r);
      return;
    }
    if (r['kind'] !== 'row') {
      this.flush();
      this.counts.passed++;
      this.sink.line(text);
      return;
    }
    this.counts.rows++;
    const f = r['f'];
    if (f === null || typeof f !== 'object' || Array.isArray(f)) {
      this.bad("'f' is missing or not an object");
      return;
    }
    const fields = f as Record<string, unknown>;
    const row = this.row;
    for (let i = 0; i < USED.length; i++) {
      const v = fields[USED[i] as string];
      if (v !== undefined && typeof v !== 'string') {
        this.bad(`field '${USED[i]}' is not a string`);
        return;
      }
      row[i] = v;
    }
    if (row[CPUS] === undefined && typeof fields['NCPUS'] === 'string') row[CPUS] = fields['NCPUS'];
    const cluster = r['cluster'];
    if (cluster === undefined) {
      this.rowCluster(row[CLUSTER]);
    } else if (typeof cluster !== 'string' || !isClusterName(cluster)) {
      this.bad(`'cluster' ${JSON.stringify(cluster)} is not a cluster name`);
      return;
    } else {
      this.lastCluster = cluster;
    }
    this.fold(true);
  }

  // A `rows` record: its field list and delimiter once, then raw lines read as text rows are.
  private rowsRecord(r: Record<string, unknown>): void {
    const fields = r['fields'];
    const delimiter = r['delimiter'];
    const lines = r['lines'];
    if (!Array.isArray(fields) || fields.length === 0 || !fields.every((f) => typeof f === 'string')) {
      this.bad("'fields' is missing or not a list of field names");
      return;
    }
    if (typeof delimiter !== 'string' || delimiter === '' || delimiter.includes('\n')) {
      this.bad("'delimiter' is missing or cannot separate fields");
      return;
    }
    if (!Array.isArray(lines)) {
      this.bad("'lines' is missing or not a list");
      return;
    }
    const cluster = r['cluster'];
    if (cluster !== undefined && (typeof cluster !== 'string' || !isClusterName(cluster))) {
      this.bad(`'cluster' ${JSON.stringify(cluster)} is not a cluster name`);
      return;
    }
    const names = fields as string[];
    const key = delimiter + '\n' + names.join(',');
    if (key !== this.layout) {
      const missing = missingFields(names);
      if (missing.length > 0) {
        this.bad(`'fields' lack${missing.length === 1 ? 's' : ''} ${missing.join(', ')} (sb-parse needs ${REQUIRED})`);
        return;
      }
      this.delimiter = delimiter;
      this.header = undefined;
      this.layoutFor(names);
      this.layout = key;
    }
    this.forced = cluster as string | undefined;
    if (this.forced !== undefined) this.lastCluster = this.forced;
    try {
      for (let k = 0; k < lines.length; k++) {
        this.sub = k + 1;
        const l = lines[k] as unknown;
        if (typeof l !== 'string') {
          this.counts.rows++;
          this.bad('not a string');
          continue;
        }
        if (l.length > 0) this.textLine(l);
      }
    } finally {
      this.sub = 0;
      this.forced = undefined;
    }
  }

  // The text layout of a field list: each working-row slot's column, the width.
  private layoutFor(fields: readonly string[]): void {
    const columns = new Int32Array(USED.length).fill(-1);
    fields.forEach((name, i) => {
      const slot = SLOT.get(name);
      if (slot !== undefined && columns[slot] === -1) columns[slot] = i;
    });
    this.columns = columns;
    this.width = fields.length;
    this.starts = new Int32Array(this.width + 1);
    this.ends = new Int32Array(this.width + 1);
  }

  private setupText(first: string): void {
    const given = this.opts.delimiter;
    this.delimiter = given ?? (first.includes('\x1f') ? '\x1f' : '|');
    const names = headerNames(first, this.delimiter);
    let fields: readonly string[];
    if (this.opts.fields !== undefined) {
      fields = this.opts.fields;
      if (names !== undefined) {
        if (names.join(',') !== fields.join(',')) {
          throw new SbError(`the header line names ${names.join(',')}, but --fields says ${fields.join(',')}`);
        }
        this.header = first;
      }
    } else if (names !== undefined) {
      fields = names;
      this.header = first;
    } else {
      throw new UsageError("the input has no header line: give its fields with --fields (or run sacct without -n)");
    }
    const missing = missingFields(fields);
    if (missing.length > 0) {
      const why = `lack${missing.length === 1 ? 's' : ''} ${missing.join(', ')} (sb-parse needs ${REQUIRED})`;
      if (this.opts.fields !== undefined) throw new UsageError(`--fields ${why}`);
      throw new SbError(`the input's fields ${why}`);
    }
    this.layoutFor(fields);
    if (this.header === undefined) this.textLine(first);
  }

  private textLine(text: string): void {
    if (text === this.header) return;
    // Field bounds by indexOf, sliced only where used: a step row needs 4 of its fields.
    const d = this.delimiter;
    const dl = d.length;
    const w = this.width;
    const starts = this.starts;
    const ends = this.ends;
    let n = 0;
    for (let pos = 0; ;) {
      const at = text.indexOf(d, pos);
      if (n <= w) {
        starts[n] = pos;
        ends[n] = at < 0 ? text.length : at;
      }
      n++;
      if (at < 0) break;
      pos = at + dl;
    }
    this.textFields(text, n);
  }

  // A text row whose field bounds are in starts/ends (as far as its first width + 1 fields),
  // with n fields.
  private textFields(text: string, n: number): void {
    const w = this.width;
    const starts = this.starts;
    const ends = this.ends;
    if (n === w + 1 && starts[w] === text.length) n--;
    const columns = this.columns as Int32Array;
    this.counts.rows++;
    if (n !== w) {
      if (text.trim().length === 0) {
        this.counts.rows--;
        return;
      }
      // A job row cut short still names its job: drop its steps with it.
      const idCol = (columns[JOBIDRAW] as number) >= 0 ? (columns[JOBIDRAW] as number) : (columns[JOBID] as number);
      const id = idCol < n ? this.cell(text, idCol) : undefined;
      if (id !== undefined && id.indexOf('.') < 0 && isJobId(id)) this.drop(id, undefined, this.lastCluster);
      this.bad(`expected ${w} fields, found ${n}`);
      return;
    }
    const rawCol = columns[JOBIDRAW] as number;
    const idCol = rawCol >= 0 && starts[rawCol] !== ends[rawCol] ? rawCol : (columns[JOBID] as number);
    const s = starts[idCol] as number;
    const e = ends[idCol] as number;
    const dot = text.indexOf('.', s);
    if (dot >= 0 && dot < e && dot > s) {
      this.textStep(text, s, dot, e);
      return;
    }
    const row = this.row;
    for (let i = 0; i < USED.length; i++) row[i] = this.cell(text, columns[i] as number);
    if (this.forced !== undefined) this.lastCluster = this.forced;
    else this.rowCluster(row[CLUSTER]);
    this.fold(false);
  }

  private cell(text: string, column: number): string | undefined {
    return column < 0 ? undefined : text.slice(this.starts[column], this.ends[column]);
  }

  // The cluster of a row: its own Cluster field, else --cluster, else the local cluster.
  private rowCluster(field: string | undefined): void {
    if (field !== undefined && field !== '') {
      if (field === this.lastCluster) return;
      if (!isClusterName(field)) {
        this.lastCluster = '';
        return;
      }
      this.lastCluster = field;
      return;
    }
    this.lastCluster = this.fallback();
  }

  private fallback(): string {
    if (this.fallbackCluster === undefined) {
      const get = this.opts.cluster;
      if (get === undefined) throw new UsageError('the rows do not name their cluster: give --cluster NAME');
      this.fallbackCluster = get();
    }
    return this.fallbackCluster;
  }

  // One row in the working row: a job row starts a job, a step row folds into it.
  private fold(json: boolean): void {
    const row = this.row;
    const raw = row[JOBIDRAW];
    const id = raw !== undefined && raw !== '' ? raw : row[JOBID];
    if (id === undefined || id === '') {
      this.bad(json ? 'row has neither JobID nor JobIDRaw' : 'JobID is empty');
      return;
    }
    const cluster = this.lastCluster;
    const dot = id.indexOf('.');
    if (dot >= 0) {
      this.step(id, cluster);
      return;
    }
    this.flush();
    if (cluster === '') {
      this.drop(id, row[DB], cluster);
      this.bad(`Cluster '${row[CLUSTER] ?? ''}' is not a cluster name`);
      return;
    }
    try {
      const state = this.reader.state(row[STATE]);
      if (!this.reader.finished) {
        this.hold(SKIP, id, row[DB], cluster);
        this.counts.skipped++;
        return;
      }
      const head = this.reader.job(row, cluster, state);
      if (head === undefined) {
        this.hold(SKIP, id, row[DB], cluster);
        this.counts.skipped++;
        this.warn(`${state} job ${id} has no End yet; skipped`);
        return;
      }
      this.hold(JOB, id, row[DB], cluster);
      this.head = head;
      this.rss = this.reader.rss;
    } catch (err) {
      if (!(err instanceof BadInput)) throw err;
      this.drop(id, row[DB], cluster);
      this.bad(err.message);
    }
  }

  private step(id: string, cluster: string): void {
    const n = this.id.length;
    const db = this.row[DB];
    const mine =
      this.state !== NONE && id.length > n + 1 && id.charCodeAt(n) === 46 && id.startsWith(this.id) &&
      cluster === this.cluster && (db === undefined || db === '' || this.db === undefined || this.db === '' || db === this.db);
    if (!mine) this.orphan(id);
    else if (this.state !== JOB) this.counts.skipped++;
    else this.addStep(this.row[MAXRSS]);
  }

  // A text step row, read in place (no strings made): the id field is text[s, e) with its
  // first '.' at dot.
  private textStep(text: string, s: number, dot: number, e: number): void {
    const columns = this.columns as Int32Array;
    const starts = this.starts;
    const ends = this.ends;
    let mine = this.state !== NONE && dot - s === this.id.length && text.startsWith(this.id, s);
    const cc = columns[CLUSTER] as number;
    const cs = cc < 0 ? 0 : (starts[cc] as number);
    const ce = cc < 0 ? 0 : (ends[cc] as number);
    if (mine && this.forced !== undefined) mine = this.forced === this.cluster;
    else if (mine && cs !== ce) mine = ce - cs === this.cluster.length && text.startsWith(this.cluster, cs);
    else if (mine) mine = this.fallback() === this.cluster;
    const dc = columns[DB] as number;
    const ds = dc < 0 ? 0 : (starts[dc] as number);
    const de = dc < 0 ? 0 : (ends[dc] as number);
    if (mine && ds !== de && this.db !== undefined && this.db !== '') {
      mine = de - ds === this.db.length && text.startsWith(this.db, ds);
    }
    if (!mine) {
      this.orphan(text.slice(s, e));
      return;
    }
    if (this.state !== JOB) {
      this.counts.skipped++;
      return;
    }
    const rc = columns[MAXRSS] as number;
    if (rc < 0 || starts[rc] === ends[rc]) {
      this.addStep(undefined);
      return;
    }
    let v = 0;
    for (let i = starts[rc] as number, end = ends[rc] as number; i < end && v >= 0; i++) {
      const c = text.charCodeAt(i) - 48;
      v = c >= 0 && c <= 9 ? v * 10 + c : -1;
    }
    if (v >= 0 && v <= Number.MAX_SAFE_INTEGER) this.addRss(v);
    else this.addStep(text.slice(starts[rc], ends[rc]));
  }

  private orphan(id: string): void {
    this.counts.orphans++;
    this.warn(`step ${id} does not follow its job's row; not counted`);
  }

  // Folds a step of the job being printed, with its MaxRSS text.
  private addStep(rss: string | undefined): void {
    if (rss === undefined || rss === '') {
      this.steps++;
      this.counts.steps++;
      return;
    }
    let bytes: number | null;
    try {
      bytes = sizeBytes('MaxRSS', rss, 1);
    } catch (err) {
      if (!(err instanceof BadInput)) throw err;
      this.bad(err.message);
      return;
    }
    if (bytes === null) {
      this.steps++;
      this.counts.steps++;
    } else this.addRss(bytes);
  }

  private addRss(bytes: number): void {
    if (this.rss === null || bytes > this.rss) this.rss = bytes;
    this.steps++;
    this.counts.steps++;
  }

  private hold(state: number, id: string, db: string | undefined, cluster: string): void {
    this.state = state;
    this.id = id;
    this.db = db;
    this.cluster = cluster;
    this.head = '';
    this.rss = null;
    this.steps = 0;
  }

  private drop(id: string, db: string | undefined, cluster: string): void {
    this.flush();
    this.hold(DROP, id, db, cluster);
  }

  private flush(): void {
    if (this.state === JOB) {
      this.sink.line(this.head + ',"max_rss_bytes":' + (this.rss === null ? 'null' : int(this.rss)) + ',"steps":' + this.steps + '}');
      this.counts.jobs++;
    }
    this.state = NONE;
    this.head = '';
  }
}

// A line without the '\r' of a CRLF line end.
function stripCr(line: string): string {
  return line.length > 0 && line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line;
}

// `CANCELLED by 20002` → `CANCELLED`; BadInput if it is no state word.
export function baseState(text: string | undefined): string {
  if (text === undefined) throw new BadInput('row has no State');
  const sp = text.indexOf(' ');
  const state = sp < 0 ? text : text.slice(0, sp);
  if (!TERMINAL.has(state) && !STATE_WORD.test(state)) throw new BadInput(`State '${text}' is not a job state`);
  return state;
}

function field(row: ReadonlyArray<string | undefined>, slot: number): string {
  const v = row[slot];
  if (v === undefined) throw new BadInput(`row has no ${USED[slot]}`);
  return v;
}

// A count field (AllocCPUS, NNodes): 0 when the input has no such field; an empty one is bad
// (sacct prints a count for every job record, 0 at least).
function count(row: ReadonlyArray<string | undefined>, slot: number): number {
  const v = row[slot];
  if (v === undefined) return 0;
  const n = digits(v);
  return n >= 0 ? n : wholeNumber(USED[slot] as string, v);
}

function optCount(row: ReadonlyArray<string | undefined>, slot: number): number | null {
  const v = row[slot];
  return v === undefined || v === '' ? null : count(row, slot);
}

// Reads finished jobs' rows into job records, written out as NDJSON as they are read (most of
// sb-parse's time goes here). Values that repeat row after row (states, time limits, memory
// requests) are remembered as read, so most rows cost a lookup.
export class JobReader {
  // MaxRSS of the last job row read (sacct prints it on steps; a job row's own counts too).
  rss: number | null = null;
  private readonly limits = new Map<string, string>();
  private readonly mems = new Map<string, string>();
  // The last State read and its base word ('\n', which no field holds: none yet; '' would take
  // an empty State on the first row for a known one).
  private stateText = '\n';
  private stateBase = '';
  // The start of job lines of the last cluster, up to its key, and up to the number of a
  // `cluster/db/N` key.
  private prefixCluster = '';
  private prefix = '';
  private prefixDb = '';
  // Whether the state last read ends a job, and counts as failed.
  finished = false;
  private failed = false;

  constructor(private readonly clock: SacctClock = new SacctClock()) {}

  // The base state of a State field (`CANCELLED by 20002` → CANCELLED); BadInput if none.
  state(text: string | undefined): string {
    if (text === this.stateText) return this.stateBase;
    const base = baseState(text);
    this.stateText = text as string;
    this.stateBase = base;
    this.finished = TERMINAL.has(base);
    this.failed = FAILED_STATES.has(base);
    return base;
  }

  // A finished job's row (working-row order, its base state read) → its job record as NDJSON,
  // up to and without `,"max_rss_bytes"`, for its steps to complete; undefined when the job
  // has no End yet. Throws BadInput naming the first bad field.
  job(row: ReadonlyArray<string | undefined>, cluster: string, state: string): string | undefined {
    const clock = this.clock;
    const endText = field(row, END);
    const end = clock.read('End', endText);
    if (end === null) return undefined;
    const rawText = row[JOBIDRAW];
    const idText = row[JOBID];
    const jobIdRaw = rawText !== undefined && rawText !== '' ? rawText : (idText as string);
    const jobId = idText !== undefined && idText !== '' ? idText : jobIdRaw;
    if (rawText !== undefined && rawText !== '' && digits(rawText) < 0) throw new BadInput(`JobIDRaw '${rawText}' is not a job id`);
    if (digits(jobId) < 0 && !isJobId(jobId)) throw new BadInput(`JobID '${jobId}' is not a job id`);
    const user = field(row, USER);
    if (user === '') throw new BadInput(`User is empty in job ${jobId}'s row`);
    const elapsedText = row[ELAPSEDRAW];
    let elapsed: string;
    if (elapsedText !== undefined) {
      const seconds = digits(elapsedText);
      elapsed = digitsText(elapsedText, seconds >= 0 ? seconds : wholeNumber('ElapsedRaw', elapsedText));
    } else {
      const text = row[ELAPSED];
      if (text === undefined) throw new BadInput('row has neither ElapsedRaw nor Elapsed');
      const d = durationSeconds('Elapsed', text);
      if (d === null) throw new BadInput(`Elapsed '${text}' is not a duration like 1-02:03:04`);
      elapsed = int(d);
    }
    const cpus = count(row, CPUS);
    const nodes = count(row, NODES);
    const dbText = row[DB];
    const db = optCount(row, DB);
    const uid = optCount(row, UID);
    const submitText = row[SUBMIT] ?? '';
    const submit = clock.read('Submit', submitText);
    const startText = row[START] ?? '';
    const start = clock.read('Start', startText);
    const mem = row[REQMEM];
    const tres = row[TRES];
    const rss = row[MAXRSS];
    // The line is joined from as few pieces as can be: writing it out walks every piece.
    // cluster, key and ids are checked above and hold nothing JSON escapes
    if (cluster !== this.prefixCluster) {
      this.prefixCluster = cluster;
      this.prefix = '{"kind":"job","cluster":"' + cluster + '","key":"';
      this.prefixDb = flatCopy(this.prefix + cluster + '/db/');
      this.prefix = flatCopy(this.prefix);
    }
    const head = DB_KEY && db !== null && dbText !== undefined && (dbText.length === 1 || dbText.charCodeAt(0) !== 48)
      ? this.prefixDb + dbText
      : this.prefix + jobKey(cluster, db, jobIdRaw, submit);
    // sacct's own UTC times (the common case) go in as they are, with a Z
    const times = submit !== null && start !== null && clock.plain(submitText) && clock.plain(startText) && clock.plain(endText)
      ? (this.failed ? '","failed":true,"submit":"' : '","failed":false,"submit":"') + submitText + 'Z","start":"' + startText + 'Z","end":"' + endText + 'Z","elapsed_s":'
      : (this.failed ? '","failed":true,"submit":' : '","failed":false,"submit":') + (submit === null ? 'null' : '"' + clock.iso(submitText, submit) + '"') +
        ',"start":' + (start === null ? 'null' : '"' + clock.iso(startText, start) + '"') + ',"end":"' + clock.iso(endText, end) + '","elapsed_s":';
    const line = head + '","job_id":"' + jobId + '","job_id_raw":"' + jobIdRaw + '","db_index":' + (db === null ? 'null' : digitsText(dbText, db)) +
      ',"user":"' + esc(user) + '","uid":' + (uid === null ? 'null' : digitsText(row[UID], uid)) +
      ',"account":"' + esc(row[ACCOUNT] ?? '') + '","partition":"' + esc(row[PARTITION] ?? '') + '","qos":"' + esc(row[QOS] ?? '') +
      '","state":"' + state + '","exit_code":"' + esc(row[EXITCODE] ?? '') + times + elapsed + ',"timelimit_s":' + this.timelimit(row) +
      ',"cpus":' + digitsText(row[CPUS], cpus) + ',"nodes":' + digitsText(row[NODES], nodes) +
      ',"gpus":' + (tres === undefined || tres === '' ? '0' : int(gpusFromTres(tres))) +
      ',"req_mem_bytes":' + (mem === undefined || mem === '' ? '0' : this.reqMem(mem, cpus, nodes));
    this.rss = rss === undefined || rss === '' ? null : sizeBytes('MaxRSS', rss, 1);
    return line;
  }

  // Timelimit (or TimelimitRaw, minutes) as the text of its seconds, or 'null'.
  private timelimit(row: ReadonlyArray<string | undefined>): string {
    const text = row[TIMELIMIT];
    if (text === undefined) {
      const raw = row[TIMELIMITRAW];
      if (raw === undefined || raw === '' || raw === 'UNLIMITED' || raw === 'Partition_Limit') return 'null';
      return int(wholeNumber('TimelimitRaw', raw) * 60);
    }
    const known = this.limits.get(text);
    if (known !== undefined) return known;
    const seconds = durationSeconds('Timelimit', text);
    const written = seconds === null ? 'null' : int(seconds);
    remember(this.limits, text, written);
    return written;
  }

  // ReqMem as the text of its bytes (0 when unknown).
  private reqMem(text: string, cpus: number, nodes: number): string {
    const known = this.mems.get(text);
    if (known !== undefined) return known;
    const last = text.charCodeAt(text.length - 1);
    const written = int(reqMemBytes(text, cpus, nodes) ?? 0);
    if (last !== 0x63 && last !== 0x6e) remember(this.mems, text, written);
    return written;
  }
}

// Adds to a lookup of repeated values, which starts again when it grows large.
function remember<V>(map: Map<string, V>, key: string, value: V): void {
  if (map.size >= 4096) map.clear();
  map.set(key, value);
}

export async function main({ args, io, report, out, input: open }: Context): Promise<void> {
  maxOperands(args, 1);
  const given = optString(args, 'cluster');
  if (given !== undefined && !isClusterName(given)) throw new UsageError(`'${given}' is not a cluster name`);
  const fieldsText = optString(args, 'fields');
  let fields: string[] | undefined;
  if (fieldsText === 'sb') fields = [...SB_SACCT_FIELDS];
  else if (fieldsText !== undefined) {
    fields = fieldsText.split(',').map((name) => {
      const known = sacctFieldName(name);
      if (known === undefined) throw new UsageError(`option '--fields': '${name}' is not a sacct field (see sacct -e)`);
      return known;
    });
  }
  const delimiterText = optString(args, 'delimiter');
  const delimiter = delimiterText === undefined ? undefined : unescapeDelimiter(delimiterText);
  if (delimiterText !== undefined && (delimiter === '' || delimiter?.includes('\n'))) throw new UsageError(`option '--delimiter': '${delimiterText}' cannot separate fields`);
  const tz = optString(args, 'tz');
  const clock = new SacctClock(tz);
  const input = await open(args._[0]);
  const where = (line: number): { source: string; line: number } => ({ source: input.source, line });
  const parser = new Parser(
    {
      line: (text) => out.line(text),
      bad: (line, message) => report.badLine(where(line), message),
      warn: (line, message) => report.warn(message, where(line)),
    },
    {
      ...(fields !== undefined ? { fields } : {}),
      ...(delimiter !== undefined ? { delimiter } : {}),
      cluster: () => given ?? localClusterName(io.env),
      clock,
    },
  );
  await readInput(input, parser, out);
  parser.end();
  if (args['verbose'] === true) {
    const c = parser.counts;
    report.info(`rows ${c.rows}, jobs ${c.jobs}, steps ${c.steps}, skipped ${c.skipped}, orphan steps ${c.orphans}, bad ${report.bad}, passed through ${c.passed}`);
  }
}

// The input into the parser, chunk by chunk; output drains after each.
async function readInput(input: Input, parser: Parser, out: Output): Promise<void> {
  for await (const chunk of input.stream as AsyncIterable<Buffer | string>) {
    parser.write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    await out.drain();
  }
}

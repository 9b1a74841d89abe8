// sb-parse's work, loaded only once the command line asks for more than --help or --version.
import { isBlank, parseRecordLine, type Rec } from '../../core/cli/input.js';
import { BadInput, SbError, UsageError } from '../../core/cli/errors.js';
import { type Context, maxOperands, optString } from '../../core/cli/run.js';
import { isClusterName, localClusterName } from '../../core/records/cluster.js';
import { FAILED_STATES, JOB_LIMITS, jobLimitProblem, type JobRecord, TERMINAL_STATES, jobKey } from '../../core/records/job.js';
import { SB_SACCT_FIELDS, sacctFieldName } from '../../core/sacct/fields.js';
import { SacctClock } from '../../core/sacct/time.js';
import { readLineBatches } from '../../core/cli/lines.js';
import { type Layout, type Row, USED, cell, layoutOf, rowFields, splitRow } from './row.js';
import { JsonWriter } from './json-writer.js';
import { digits, durationSeconds, gpusFromTres, reqMemBytes, sizeBytes, wholeNumber } from './units.js';


// The fields of a job record in the order sb-parse prints them, `kind` first.
export const JOB_FIELDS = ['kind', 'cluster', 'key', 'job_id', 'job_id_raw', 'db_index', 'user', 'uid', 'account',
  'partition', 'qos', 'state', 'exit_code', 'failed', 'submit', 'start', 'end', 'elapsed_s', 'timelimit_s', 'cpus', 'nodes',
  'gpus', 'req_mem_bytes', 'max_rss_bytes', 'steps'] as const satisfies ReadonlyArray<keyof JobRecord>;
// Compiles only while JOB_FIELDS names every field of JobRecord.
const EVERY_FIELD: Exclude<keyof JobRecord, (typeof JOB_FIELDS)[number]> extends never ? true : never = true;
void EVERY_FIELD;

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

const TERMINAL: ReadonlySet<string> = new Set(TERMINAL_STATES);
const STATE_WORD = /^[A-Z][A-Z_]*$/;
// A job (not step) id as JobID prints it: `8`, `7_3`, `9_[1-3,5%2]`, `123+1`.
const JOB_ID = /^\d+(?:_(?:\d+|\[[0-9,%-]+\]))?(?:\+\d+)?$/;

// Whether text is a job id: `8` and `7_3` (nearly every row) read by hand, the rest by JOB_ID.
export function isJobId(text: string): boolean {
  const n = text.length;
  let i = 0;
  while (i < n && isDigit(text.charCodeAt(i))) i++;
  if (i === n) return n > 0;
  if (i > 0 && text.charCodeAt(i) === 95 /* _ */) {
    const from = ++i;
    while (i < n && isDigit(text.charCodeAt(i))) i++;
    if (i === n && i > from) return true;
  }
  return JOB_ID.test(text);
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

// Whether a user name holds a control character (C0, DEL, C1) or U+FFFD, what invalid UTF-8
// decodes to (which would merge two users).
function badName(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0xfffd) return true;
  }
  return false;
}

// `CANCELLED by 20002` → `CANCELLED`; BadInput if it is no state word.
export function baseState(text: string | undefined): string {
  if (text === undefined) throw new BadInput('row has no State');
  const sp = text.indexOf(' ');
  const state = sp < 0 ? text : text.slice(0, sp);
  if (!TERMINAL.has(state) && !STATE_WORD.test(state)) throw new BadInput(`State '${text}' is not a job state`);
  return state;
}

// A finished job's row (its base state read) → its job record, MaxRSS that of the row itself
// and no steps yet; undefined while the job has no End. Throws BadInput naming the first bad
// field, in the order below.
export function jobRecord(row: Row, cluster: string, state: string, clock: SacctClock): JobRecord | undefined {
  if (row.End === undefined) throw new BadInput('row has no End');
  const end = clock.read('End', row.End);
  if (end === null) return undefined;
  const jobIdRaw = row.JobIDRaw || row.JobID || '';
  const jobId = row.JobID || jobIdRaw;
  if (row.JobIDRaw && digits(row.JobIDRaw) < 0) throw new BadInput(`JobIDRaw '${row.JobIDRaw}' is not a job id`);
  if (!isJobId(jobId)) throw new BadInput(`JobID '${jobId}' is not a job id`);
  if (row.User === undefined) throw new BadInput('row has no User');
  if (row.User === '') throw new BadInput(`User is empty in job ${jobId}'s row`);
  if (badName(row.User)) throw new BadInput(`User '${row.User}' is not a user name (control characters or invalid UTF-8)`);
  const elapsed = row.ElapsedRaw !== undefined ? wholeNumber('ElapsedRaw', row.ElapsedRaw) : elapsedSeconds(row.Elapsed);
  const cpus = count('AllocCPUS', row.AllocCPUS ?? row.NCPUS);
  const nodes = count('NNodes', row.NNodes);
  const db = optNumber('DBIndex', row.DBIndex);
  const uid = optNumber('UID', row.UID);
  const submitText = row.Submit ?? '';
  const submit = clock.read('Submit', submitText);
  const startText = row.Start ?? '';
  const start = clock.read('Start', startText);
  const timelimit = row.Timelimit !== undefined ? durationSeconds('Timelimit', row.Timelimit) : limitMinutes(row.TimelimitRaw);
  const gpus = row.AllocTRES ? gpusFromTres(row.AllocTRES) : 0;
  const mem = row.ReqMem ? (reqMemBytes(row.ReqMem, cpus, nodes) ?? 0) : 0;
  const rss = row.MaxRSS ? sizeBytes('MaxRSS', row.MaxRSS, 1) : null;
  const L = JOB_LIMITS;
  // (jobLimitProblem says which value is past its limit; the usual job needs only the compares)
  if (cpus > L.cpus || nodes > L.nodes || gpus > L.gpus || elapsed > L.elapsed_s || mem > L.req_mem_bytes || (rss !== null && rss > L.max_rss_bytes) ||
    cpus * elapsed > L.product || gpus * elapsed > L.product) {
    const limit = jobLimitProblem({ cpus, nodes, gpus, elapsed_s: elapsed, req_mem_bytes: mem, max_rss_bytes: rss });
    if (limit !== undefined) throw new BadInput(`job ${jobId}: ${limit}: its totals could not stay exact`);
  }
  return {
    kind: 'job',
    cluster,
    key: keyOf(cluster, db, row.DBIndex, jobIdRaw, submit),
    job_id: jobId,
    job_id_raw: jobIdRaw,
    db_index: db,
    user: row.User,
    uid,
    account: row.Account ?? '',
    partition: row.Partition ?? '',
    qos: row.QOS ?? '',
    state,
    exit_code: row.ExitCode ?? '',
    failed: FAILED_STATES.has(state),
    submit: submit === null ? null : clock.iso(submitText, submit),
    start: start === null ? null : clock.iso(startText, start),
    end: clock.iso(row.End, end),
    elapsed_s: elapsed,
    timelimit_s: timelimit,
    cpus,
    nodes,
    gpus,
    req_mem_bytes: mem,
    max_rss_bytes: rss,
    steps: 0,
  };
}

// jobKey's key, made from DBIndex's own digits where jobKey would print the number the same
// (printing a number above 2^31 again cost more than the rest of the key).
export function keyOf(cluster: string, db: number | null, dbText: string | undefined, jobIdRaw: string, submit: number | null): string {
  if (db !== null && dbText !== undefined && (dbText.length === 1 || dbText.charCodeAt(0) !== 48)) return `${cluster}/db/${dbText}`;
  return jobKey(cluster, db, jobIdRaw, submit);
}

// The one serializer of job records: JSON.stringify's line of the record (jobRecord builds
// every record with its fields in JOB_FIELDS order), written in bytes.
export const JOB_WRITER = new JsonWriter(JOB_FIELDS);

// A job record's values in JOB_FIELDS order, in one array used again for each record.
const VALUES: unknown[] = [];
export function jobValues(j: JobRecord): readonly unknown[] {
  const v = VALUES;
  v[0] = j.kind;
  v[1] = j.cluster;
  v[2] = j.key;
  v[3] = j.job_id;
  v[4] = j.job_id_raw;
  v[5] = j.db_index;
  v[6] = j.user;
  v[7] = j.uid;
  v[8] = j.account;
  v[9] = j.partition;
  v[10] = j.qos;
  v[11] = j.state;
  v[12] = j.exit_code;
  v[13] = j.failed;
  v[14] = j.submit;
  v[15] = j.start;
  v[16] = j.end;
  v[17] = j.elapsed_s;
  v[18] = j.timelimit_s;
  v[19] = j.cpus;
  v[20] = j.nodes;
  v[21] = j.gpus;
  v[22] = j.req_mem_bytes;
  v[23] = j.max_rss_bytes;
  v[24] = j.steps;
  return v;
}

// A job record as its output line (without its newline).
export function jobLine(job: JobRecord): string {
  return JOB_WRITER.line(jobValues(job));
}

// Elapsed (`1-02:03:04`) in seconds, for input without ElapsedRaw.
function elapsedSeconds(text: string | undefined): number {
  if (text === undefined) throw new BadInput('row has neither ElapsedRaw nor Elapsed');
  const seconds = durationSeconds('Elapsed', text);
  if (seconds === null) throw new BadInput(`Elapsed '${text}' is not a duration like 1-02:03:04`);
  return seconds;
}

// TimelimitRaw (minutes) in seconds, for input without Timelimit; null when there is no limit.
function limitMinutes(text: string | undefined): number | null {
  if (text === undefined || text === '' || text === 'UNLIMITED' || text === 'Partition_Limit') return null;
  return wholeNumber('TimelimitRaw', text) * 60;
}

// A count (AllocCPUS, NNodes): 0 when the input has no such field; an empty one is bad
// (sacct prints a count for every job record, 0 at least).
function count(field: string, text: string | undefined): number {
  return text === undefined ? 0 : wholeNumber(field, text);
}

// A number that may be absent (DBIndex, UID): null when empty or not in the input.
function optNumber(field: string, text: string | undefined): number | null {
  return text === undefined || text === '' ? null : wholeNumber(field, text);
}

export interface ParserOptions {
  // Field names of headerless text (else the first line must be sacct's header).
  fields?: readonly string[];
  delimiter?: string;
  // The cluster of rows that name none; called at most once, when first needed.
  cluster?: () => string;
  clock?: SacctClock;
}

// What the parser hands out: job records, lines passed through, and diagnostics about input
// line numbers.
export interface Sink {
  job(job: JobRecord): void;
  line(text: string): void;
  bad(line: number, message: string): void;
  warn(line: number, message: string): void;
}

export interface Counts {
  // jobs kept back at the end of a stream cut inside a window
  cut: number;
  rows: number;
  jobs: number;
  steps: number;
  skipped: number;
  orphans: number;
  passed: number;
}

// The job being folded: its row's id, DBIndex and cluster (which its steps' rows repeat), and
// its record, printed once its steps are read; none for a job not printed (unfinished, or
// with a bad row), whose steps are skipped.
interface Held {
  id: string;
  db: string | undefined;
  cluster: string;
  job: JobRecord | undefined;
}

// Turns input lines into job lines: one line at a time, in order, holding only the job whose
// steps are still arriving (sacct prints a job, then its steps). The first line tells the
// form: '{' is NDJSON (`rows` and `row` records, others passed through), else sacct's text.
// No I/O: lines go to the sink.
export class Parser {
  readonly counts: Counts = { cut: 0, rows: 0, jobs: 0, steps: 0, skipped: 0, orphans: 0, passed: 0 };
  private form: 'text' | 'ndjson' | undefined;
  private readonly clock: SacctClock;
  private layout: Layout | undefined;
  // Text: sacct's header line, skipped where it comes again.
  private header: string | undefined;
  private held: Held | undefined;
  // The number of the line being read; in a `rows` record, the number (from 1) of the record's
  // line being read, else 0.
  private line = 0;
  private sub = 0;
  // The cluster of the record being read (`rows`, `row`), which its rows' Cluster does not
  // override; the cluster of the last job row; that of rows naming none, once asked.
  private forced: string | undefined;
  private lastCluster = '';
  private fallbackCluster: string | undefined;

  constructor(
    private readonly sink: Sink,
    private readonly opts: ParserOptions = {},
  ) {
    this.clock = opts.clock ?? new SacctClock();
  }

  // One input line (without its line end) and its number.
  push(text: string, line: number): void {
    this.line = line;
    if (text.length === 0) return;
    if (this.form === 'text') this.textLine(text);
    else if (this.form === 'ndjson') this.jsonLine(text);
    else if (!isBlank(text)) {
      this.form = text.trimStart().charCodeAt(0) === 123 ? 'ndjson' : 'text';
      if (this.form === 'ndjson') this.jsonLine(text);
      else this.startText(text);
    }
  }

  // End of input: print the last job of plain text. sb-sacct's records are another matter: a
  // job is complete only once the next job row or its window's chunk-done is read, so a stream
  // that ends inside a window (its producer killed, a full disk) keeps that job back, reported:
  // printed, it would be counted with the steps it has, and its whole copy dropped later as a
  // duplicate.
  end(): void {
    const job = this.held?.job;
    if (this.form === 'ndjson' && job !== undefined) {
      this.held = undefined;
      this.counts.cut++;
      this.bad(`the input ends inside a window: job ${job.job_id} (${job.key}) may lack steps that come after it, so it is not printed; its window is not done, and fetching it again counts the job whole`);
      return;
    }
    this.flush();
  }

  // Plain text: the first line is sacct's header, or the first row of --fields' fields.
  private startText(first: string): void {
    const delimiter = this.opts.delimiter ?? (first.includes('\x1f') ? '\x1f' : '|');
    const names = headerNames(first, delimiter);
    const given = this.opts.fields;
    if (given !== undefined && names !== undefined && names.join(',') !== given.join(',')) {
      throw new SbError(`the header line names ${names.join(',')}, but --fields says ${given.join(',')}`);
    }
    const fields = given ?? names;
    if (fields === undefined) throw new UsageError('the input has no header line: give its fields with --fields (or run sacct without -n)');
    const missing = missingFields(fields);
    if (missing.length > 0) {
      const why = `lack${missing.length === 1 ? 's' : ''} ${missing.join(', ')} (sb-parse needs ${REQUIRED})`;
      if (given !== undefined) throw new UsageError(`--fields ${why}`);
      throw new SbError(`the input's fields ${why}`);
    }
    this.layout = layoutOf(fields, delimiter);
    if (names !== undefined) this.header = first;
    else this.textLine(first);
  }

  // Reader 1: a line of plain sacct text.
  private textLine(text: string): void {
    if (text !== this.header) this.textRow(text, this.layout as Layout);
  }

  // A text row (a line of text, or of a `rows` record): a job row or a step row.
  private textRow(text: string, layout: Layout): void {
    const width = layout.width;
    let n = splitRow(text, layout);
    // `sacct -p` ends each line with the delimiter
    if (n === width + 1 && layout.starts[width] === text.length) n--;
    if (n !== width) {
      if (isBlank(text)) return;
      this.counts.rows++;
      // a job row cut short still names its job: its steps go with it
      const idColumn = layout.columns.JobIDRaw >= 0 ? layout.columns.JobIDRaw : layout.columns.JobID;
      const id = idColumn < n ? cell(text, layout, idColumn) : undefined;
      if (id !== undefined && isJobId(id)) this.hold(id, undefined, this.lastCluster, undefined);
      this.bad(`expected ${width} fields, found ${n}`);
      return;
    }
    this.counts.rows++;
    const c = layout.columns;
    const id = cell(text, layout, c.JobIDRaw) || cell(text, layout, c.JobID) || '';
    if (id.includes('.')) this.step(id, cell(text, layout, c.Cluster), cell(text, layout, c.DBIndex), cell(text, layout, c.MaxRSS));
    else this.job(id, rowFields(text, layout), false);
  }

  private jsonLine(text: string): void {
    if (isBlank(text)) return;
    let rec: Rec;
    try {
      rec = parseRecordLine(text);
    } catch (err) {
      if (!(err instanceof BadInput)) throw err;
      this.bad(err.message);
      return;
    }
    if (rec['kind'] === 'rows') this.rowsRecord(rec);
    else if (rec['kind'] === 'row') this.rowRecord(rec);
    else {
      // after the jobs before it: a chunk-done follows its window's jobs
      this.flush();
      this.counts.passed++;
      this.sink.line(text);
    }
  }

  // Reader 2: a `rows` record (sb-sacct's default): its field list and delimiter once, then
  // its lines, each read as a text row.
  private rowsRecord(r: Rec): void {
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
    if (this.layout?.key !== delimiter + '\n' + names.join(',')) {
      const missing = missingFields(names);
      if (missing.length > 0) {
        this.bad(`'fields' lack${missing.length === 1 ? 's' : ''} ${missing.join(', ')} (sb-parse needs ${REQUIRED})`);
        return;
      }
      this.layout = layoutOf(names, delimiter);
    }
    const layout = this.layout;
    this.forced = cluster as string | undefined;
    if (this.forced !== undefined) this.lastCluster = this.forced;
    try {
      for (let k = 0; k < lines.length; k++) {
        this.sub = k + 1;
        const l: unknown = lines[k];
        if (typeof l !== 'string') {
          this.counts.rows++;
          this.bad('not a string');
        } else if (l.length > 0) this.textRow(l, layout);
      }
    } finally {
      this.sub = 0;
      this.forced = undefined;
    }
  }

  // Reader 3: a `row` record (sb-sacct --row-records): one row, its fields by name.
  private rowRecord(r: Rec): void {
    this.counts.rows++;
    const f = r['f'];
    if (f === null || typeof f !== 'object' || Array.isArray(f)) {
      this.bad("'f' is missing or not an object");
      return;
    }
    for (const name of USED) {
      const v = (f as Rec)[name];
      if (v !== undefined && typeof v !== 'string') {
        this.bad(`field '${name}' is not a string`);
        return;
      }
    }
    const row = f as Row;
    const cluster = r['cluster'];
    if (cluster !== undefined && (typeof cluster !== 'string' || !isClusterName(cluster))) {
      this.bad(`'cluster' ${JSON.stringify(cluster)} is not a cluster name`);
      return;
    }
    this.forced = cluster as string | undefined;
    try {
      const id = row.JobIDRaw || row.JobID || '';
      if (id.includes('.')) this.step(id, row.Cluster, row.DBIndex, row.MaxRSS);
      else this.job(id, row, true);
    } finally {
      this.forced = undefined;
    }
  }

  // A job row (id: its JobIDRaw, else JobID) ends the job before it and starts its own.
  private job(id: string, row: Row, json: boolean): void {
    const named = row.Cluster;
    let cluster = this.forced ?? (named ? named : this.fallback());
    if (cluster !== this.lastCluster && !isClusterName(cluster)) cluster = '';
    this.lastCluster = cluster;
    if (id === '') {
      this.bad(json ? 'row has neither JobID nor JobIDRaw' : 'JobID is empty');
      return;
    }
    if (cluster === '') {
      this.hold(id, row.DBIndex, cluster, undefined);
      this.bad(`Cluster '${named ?? ''}' is not a cluster name`);
      return;
    }
    try {
      const state = baseState(row.State);
      if (!TERMINAL.has(state)) {
        this.hold(id, row.DBIndex, cluster, undefined);
        this.counts.skipped++;
        return;
      }
      const job = jobRecord(row, cluster, state, this.clock);
      this.hold(id, row.DBIndex, cluster, job);
      if (job === undefined) {
        this.counts.skipped++;
        this.warn(`${state} job ${id} has no End yet; skipped`);
      }
    } catch (err) {
      if (!(err instanceof BadInput)) throw err;
      this.hold(id, row.DBIndex, cluster, undefined);
      this.bad(err.message);
    }
  }

  // A step row (`8.batch`) folds into the job row before it: its peak MaxRSS, its steps. A
  // step of no job before it (input cut inside a job) is an orphan, reported and not counted.
  private step(id: string, named: string | undefined, db: string | undefined, rss: string | undefined): void {
    const held = this.held;
    const mine =
      held !== undefined && id.length > held.id.length && id.charCodeAt(held.id.length) === 46 && id.startsWith(held.id) &&
      this.sameCluster(named, held.cluster) && (!db || !held.db || db === held.db);
    if (!mine) {
      this.counts.orphans++;
      this.warn(`step ${id} does not follow its job's row; not counted`);
      return;
    }
    const job = held.job;
    if (job === undefined) {
      this.counts.skipped++;
      return;
    }
    let bytes: number | null = null;
    try {
      if (rss) bytes = sizeBytes('MaxRSS', rss, 1);
    } catch (err) {
      if (!(err instanceof BadInput)) throw err;
      this.bad(err.message);
      return;
    }
    if (bytes !== null && (job.max_rss_bytes === null || bytes > job.max_rss_bytes)) job.max_rss_bytes = bytes;
    job.steps++;
    this.counts.steps++;
  }

  // Whether a step row's cluster (its record's, its Cluster field, else the fallback) is its
  // job's; a job row naming no valid cluster holds '', as do its steps.
  private sameCluster(named: string | undefined, cluster: string): boolean {
    if (this.forced !== undefined) return this.forced === cluster;
    if (!named) return this.fallback() === cluster;
    return named === cluster || (cluster === '' && !isClusterName(named));
  }

  private fallback(): string {
    if (this.fallbackCluster === undefined) {
      const get = this.opts.cluster;
      if (get === undefined) throw new UsageError('the rows do not name their cluster: give --cluster NAME');
      this.fallbackCluster = get();
    }
    return this.fallbackCluster;
  }

  // Prints the job held, if it is to be printed, and holds the next one.
  private hold(id: string, db: string | undefined, cluster: string, job: JobRecord | undefined): void {
    this.flush();
    this.held = { id, db, cluster, job };
  }

  private flush(): void {
    const job = this.held?.job;
    if (job !== undefined) {
      this.sink.job(job);
      this.counts.jobs++;
    }
    this.held = undefined;
  }

  private bad(message: string): void {
    this.sink.bad(this.line, this.sub > 0 ? `rows line ${this.sub}: ${message}` : message);
  }

  private warn(message: string): void {
    this.sink.warn(this.line, this.sub > 0 ? `rows line ${this.sub}: ${message}` : message);
  }
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
  const clock = new SacctClock(optString(args, 'tz'));
  const input = await open(args._[0]);
  const where = (line: number): { source: string; line: number } => ({ source: input.source, line });
  const parser = new Parser(
    {
      job: (job) => {
        const values = jobValues(job);
        out.put(JOB_WRITER.most(values), JOB_WRITER, values);
      },
      line: (text) => out.line(text),
      bad: (line, message) => report.badLine(where(line), message),
      warn: (line, message) => report.warn(message, where(line)),
    },
    {
      ...(fields !== undefined ? { fields } : {}),
      ...(delimiter !== undefined ? { delimiter } : {}),
      // never a silent guess: say where the name of rows that name none came from
      cluster: () => {
        if (given !== undefined) return given;
        const name = localClusterName(io.env);
        const from = io.env['SB_CLUSTER'] ? '$SB_CLUSTER' : "ClusterName in 'scontrol show config'";
        report.warn(`the rows name no cluster: counting them as cluster '${name}' (${from}); give --cluster NAME, or ask sacct for -o Cluster,...`);
        return name;
      },
      clock,
    },
  );
  let line = 0;
  for await (const batch of readLineBatches(input.stream)) {
    for (const text of batch) parser.push(text, ++line);
    await out.drain();
  }
  parser.end();
  if (args['verbose'] === true) {
    const c = parser.counts;
    report.info(`rows ${c.rows}, jobs ${c.jobs}, steps ${c.steps}, skipped ${c.skipped}, orphan steps ${c.orphans}, bad ${report.bad}, passed through ${c.passed}`);
  }
}

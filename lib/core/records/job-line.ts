import { isUtf8 } from 'node:buffer';
import type { Rec } from '../cli/input.js';

// The fast path of sb-dedupe and sb-reduce: a `job` line exactly as sb-parse prints it (every
// field of JobRecord in its order, compact, strings without escapes or control characters, whole
// numbers of at most 15 digits, valid UTF-8) is read in its bytes, without decoding it or
// JSON.parse: most tools' time went to those. A line read so is valid JSON by construction, and
// JSON.stringify of JSON.parse of it gives the line back byte for byte (no escapes to undo, no
// number to round, no key twice), so a tool may pass its bytes through as they came. Any other
// line, valid or not, is not read and takes the full parse: the fast path never decides what is
// bad input. A line that is not valid UTF-8 is not read either: decoded, its bad bytes become
// U+FFFD as on the full path.

// What a value may be: "job" (the kind), a string, a string or null, a whole number below
// 10^15 (exact as a double, printed back the same), one or null, true or false.
type Value = 'job' | 'str' | 'str?' | 'num' | 'num?' | 'bool';

// The fields of sb-parse's job line in order.
const FIELDS = [
  ['kind', 'job'],
  ['cluster', 'str'],
  ['key', 'str'],
  ['job_id', 'str'],
  ['job_id_raw', 'str'],
  ['db_index', 'num?'],
  ['user', 'str'],
  ['uid', 'num?'],
  ['account', 'str'],
  ['partition', 'str'],
  ['qos', 'str'],
  ['state', 'str'],
  ['exit_code', 'str'],
  ['failed', 'bool'],
  ['submit', 'str?'],
  ['start', 'str?'],
  ['end', 'str'],
  ['elapsed_s', 'num'],
  ['timelimit_s', 'num?'],
  ['cpus', 'num'],
  ['nodes', 'num'],
  ['gpus', 'num'],
  ['req_mem_bytes', 'num'],
  ['max_rss_bytes', 'num?'],
  ['steps', 'num'],
] as const satisfies ReadonlyArray<readonly [string, Value]>;

export type JobLineField = (typeof FIELDS)[number][0];

// The field names in order (sb-parse's JOB_FIELDS must be the same: test/job-line.test.ts).
export const JOB_LINE_FIELDS: readonly JobLineField[] = FIELDS.map(([k]) => k);

// The place of a field in JobLineReader.at: its value is at[2i] up to at[2i + 1].
export function fieldIndex(name: JobLineField): number {
  return JOB_LINE_FIELDS.indexOf(name);
}

// ASCII bytes a string's content may hold (1): any but control characters, the quote and the
// backslash. Bytes past 127 may be there too (then the line must be valid UTF-8: checked once
// it is read), but stop the plain loop.
const PLAIN = new Uint8Array(256).fill(1, 32, 128);
PLAIN[34] = 0;
PLAIN[92] = 0;
const DIGIT = new Uint8Array(256).fill(1, 48, 58);

const N = FIELDS.length;
// distinct names JobLineReader.name keeps
const NAMES_KEPT = 65_536;

// What a value may be, as a small number (compared at every field: cheaper than the strings).
const STR = 0;
const STR_OR_NULL = 1;
const NUM = 2;
const NUM_OR_NULL = 3;
const BOOL = 4;
const JOB = 5;
const KIND_OF: Record<Value, number> = { job: JOB, str: STR, 'str?': STR_OR_NULL, num: NUM, 'num?': NUM_OR_NULL, bool: BOOL };
const KINDS = Uint8Array.from(FIELDS, ([, v]) => KIND_OF[v]);

// Each field's name as sb-parse prints it, with the comma before it and a string's opening
// quote (`{"kind":`, `,"cluster":"`, ...): its length, and three 8-byte words, read as
// little-endian doubles, at 0, 8 and 16, each moved back to end at the name's end at the latest
// (so overlapping when the name is shorter than 24 bytes). Comparing always three words, whatever
// the name, costs less than a loop as long as the name (no branch to mispredict at its end) and
// less than five 32-bit words. A double of printable ASCII bytes is neither NaN nor zero, so it
// equals only a double of the same bytes. A name shorter than 8 bytes (`,"uid":`) is compared
// from the closing quote of the string before it.
const NAMES = FIELDS.map(([k, v], f) => Buffer.from(`${f === 0 ? '{' : ','}"${k}":${v === 'str' ? '"' : ''}`, 'latin1'));
const LENGTH = Int32Array.from(NAMES, (name) => name.length);
const WORD_AT = new Int32Array(3 * N);
const WORD = new Float64Array(3 * N);
NAMES.forEach((name, f) => {
  const quoted = name.length < 8 && FIELDS[f - 1]?.[1] === 'str';
  const words = quoted ? Buffer.concat([Buffer.from('"'.repeat(8 - name.length)), name]) : name;
  if (words.length < 8 || words.length > 24) throw new Error(`job-line: the name of '${FIELDS[f]?.[0]}' must be 8 to 24 bytes, or follow a string`);
  for (let k = 0; k < 3; k++) {
    const at = Math.min(8 * k, words.length - 8);
    WORD_AT[3 * f + k] = at - (words.length - name.length);
    WORD[3 * f + k] = words.readDoubleLE(at);
  }
});
// `"job`, `null`, `true`, `fals` as little-endian 32-bit words
const JOB_WORD = Buffer.from('"job', 'latin1').readInt32LE(0);
const NULL_WORD = Buffer.from('null', 'latin1').readInt32LE(0);
const TRUE_WORD = Buffer.from('true', 'latin1').readInt32LE(0);
const FALS_WORD = Buffer.from('fals', 'latin1').readInt32LE(0);

// Whether the view holds field f's name at i (and it ends by `end`).
function hasName(view: DataView<ArrayBufferLike>, i: number, end: number, f: number): boolean {
  if (i + (LENGTH[f] as number) > end) return false;
  const w = 3 * f;
  return view.getFloat64(i + (WORD_AT[w] as number), true) === WORD[w] &&
    view.getFloat64(i + (WORD_AT[w + 1] as number), true) === WORD[w + 1] &&
    view.getFloat64(i + (WORD_AT[w + 2] as number), true) === WORD[w + 2];
}

// Whether the view holds the 32-bit word w at i (and it ends by `end`).
function hasWord(view: DataView<ArrayBufferLike>, i: number, end: number, w: number): boolean {
  return i + 4 <= end && view.getInt32(i, true) === w;
}

// Set by stringEnd when a string holds a byte past 127 (the line must then be valid UTF-8).
let wide = false;

// The index of the quote that ends the string whose content starts at i, or -1. (The scan
// stops at the line's end at the latest: a newline is no plain byte.)
function stringEnd(b: Uint8Array, i: number, end: number): number {
  let c: number | undefined;
  for (;;) {
    while (PLAIN[(c = b[i]) as number] === 1) i++;
    if ((c as number) < 128 || i >= end) break;
    wide = true;
    i++;
  }
  return c === 34 && i < end ? i : -1;
}

// The index after the digits of a whole number at i (1 to 15 of them, no leading 0) that ends
// before `end`, or -1. (The scan may pass `end` only over digits, and then fails.)
function numberEnd(b: Uint8Array, i: number, end: number): number {
  const s = i;
  if (b[i] === 48) i++;
  else while (DIGIT[b[i] as number] === 1) i++;
  return i === s || i - s > 15 || i >= end || DIGIT[b[i] as number] === 1 ? -1 : i;
}

// The end of the job line in the exact form at b[start] (its '}' + 1, then a '\n', a '\r\n' or
// `end`), or -1; at[] says where its values are. Every scan stops at a '\n' (no name, word or
// value holds one), so what is read is all of one line.
function readLine(b: Uint8Array, view: DataView<ArrayBufferLike>, at: Int32Array, start: number, end: number): number {
  let i = start;
  wide = false;
  for (let f = 0; f < N; f++) {
    if (!hasName(view, i, end, f)) return -1;
    i += LENGTH[f] as number;
    const kind = KINDS[f] as number;
    let s = i;
    let e: number;
    if (b[i] === 110 && (kind === STR_OR_NULL || kind === NUM_OR_NULL)) {
      if (!hasWord(view, i, end, NULL_WORD)) return -1;
      s = e = -1;
      i += 4;
    } else if (kind <= STR_OR_NULL) {
      if (kind === STR_OR_NULL) {
        if (b[i] !== 34) return -1;
        s = ++i;
      }
      e = stringEnd(b, i, end);
      if (e < 0) return -1;
      i = e + 1;
    } else if (kind <= NUM_OR_NULL) {
      e = i = numberEnd(b, i, end);
    } else if (kind === BOOL) {
      e = i = hasWord(view, i, end, TRUE_WORD) ? i + 4 : hasWord(view, i, end, FALS_WORD) && b[i + 4] === 101 && i + 5 <= end ? i + 5 : -1;
    } else {
      if (!hasWord(view, i, end, JOB_WORD) || b[i + 4] !== 34 || i + 5 > end) return -1;
      s = i + 1;
      e = i + 4;
      i += 5;
    }
    if (i < 0) return -1;
    at[2 * f] = s;
    at[2 * f + 1] = e;
  }
  if (i >= end || b[i] !== 125) return -1;
  const e = i + 1;
  if (e < end && b[e] !== 10 && (b[e] !== 13 || (e + 1 < end && b[e + 1] !== 10))) return -1;
  return !wide || isUtf8(b.subarray(start, e)) ? e : -1;
}

// Reads job lines in the exact form; `at` says where each value of the last line read is.
export class JobLineReader {
  // field i's value is the bytes at[2i] up to at[2i + 1] of the line: a string's between its
  // quotes, a number's digits; a null string or number is at -1, -1.
  readonly at = new Int32Array(2 * N);
  private names = new Map<number, { bytes: Uint8Array; text: string }>();
  private buf: Uint8Array | undefined;
  private view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));

  // Is the line b[start, end) (without its newline) a job line in the exact form?
  read(b: Uint8Array, start: number, end: number): boolean {
    return this.readTo(b, start, end) === end;
  }

  // The end of the job line in the exact form at b[start] (before its '\n' or '\r\n', or at
  // `limit`), or -1.
  readTo(b: Uint8Array, start: number, limit: number): number {
    if (b !== this.buf) {
      this.buf = b;
      this.view = new DataView(b.buffer, b.byteOffset, b.length);
    }
    return readLine(b, this.view, this.at, start, limit);
  }

  // A string field of the line last read, decoded (undefined when null).
  text(b: Buffer, field: number): string | undefined {
    const s = this.at[2 * field] as number;
    return s < 0 ? undefined : b.toString('utf8', s, this.at[2 * field + 1]);
  }

  // A string field of the line last read, decoded once for every value (names repeat: users,
  // accounts, states): the same string as text() gives.
  name(b: Buffer, field: number): string {
    const s = this.at[2 * field] as number;
    const e = this.at[2 * field + 1] as number;
    const h = this.hash(b, field);
    const known = this.names.get(h);
    if (known !== undefined && this.equals(b, field, known.bytes)) return known.text;
    // (bounded: a stream of ever new names must not grow the table)
    if (this.names.size >= NAMES_KEPT) this.names.clear();
    const text = b.toString('utf8', s, e);
    this.names.set(h, { bytes: new Uint8Array(b.subarray(s, e)), text });
    return text;
  }

  // A hash (FNV-1a) of a string field's bytes, of the line last read: what tables of names key
  // on before they compare the bytes (name, and sb-reduce's names by their bytes).
  hash(b: Uint8Array, field: number): number {
    const e = this.at[2 * field + 1] as number;
    let h = 0x811c9dc5;
    for (let i = this.at[2 * field] as number; i < e; i++) h = Math.imul(h ^ (b[i] as number), 16777619);
    return h;
  }

  // A number field of the line last read (null when null), read by its digits.
  number(b: Uint8Array, field: number): number | null {
    const s = this.at[2 * field] as number;
    if (s < 0) return null;
    const e = this.at[2 * field + 1] as number;
    let v = 0;
    for (let i = s; i < e; i++) v = v * 10 + (b[i] as number) - 48;
    return v;
  }

  // Is a string field of the line last read all ASCII, no DEL (so no control character, no C1,
  // no U+FFFD: what names are checked for)?
  plain(b: Uint8Array, field: number): boolean {
    const e = this.at[2 * field + 1] as number;
    for (let i = this.at[2 * field] as number; i < e; i++) if ((b[i] as number) >= 127) return false;
    return true;
  }

  // The bytes of a field's value are these (a string's content)?
  equals(b: Uint8Array, field: number, bytes: Uint8Array): boolean {
    const s = this.at[2 * field] as number;
    const e = this.at[2 * field + 1] as number;
    if (e - s !== bytes.length) return false;
    for (let i = 0; i < bytes.length; i++) if (b[s + i] !== bytes[i]) return false;
    return true;
  }

  // What sb-dedupe and sb-reduce read of the line last read, as JSON.parse gives it.
  fields(b: Buffer): JobFields {
    return {
      kind: 'job',
      cluster: this.text(b, CLUSTER) as string,
      key: this.text(b, KEY) as string,
      user: this.text(b, USER) as string,
      account: this.text(b, ACCOUNT) as string,
      state: this.text(b, STATE) as string,
      failed: b[this.at[2 * FAILED] as number] === 116,
      end: this.text(b, END) as string,
      elapsed_s: this.number(b, ELAPSED) as number,
      cpus: this.number(b, CPUS) as number,
      nodes: this.number(b, NODES) as number,
      gpus: this.number(b, GPUS) as number,
      req_mem_bytes: this.number(b, REQ) as number,
      max_rss_bytes: this.number(b, RSS),
    };
  }
}

const CLUSTER = fieldIndex('cluster');
const KEY = fieldIndex('key');
const USER = fieldIndex('user');
const ACCOUNT = fieldIndex('account');
const STATE = fieldIndex('state');
const FAILED = fieldIndex('failed');
const END = fieldIndex('end');
const ELAPSED = fieldIndex('elapsed_s');
const CPUS = fieldIndex('cpus');
const NODES = fieldIndex('nodes');
const GPUS = fieldIndex('gpus');
const REQ = fieldIndex('req_mem_bytes');
const RSS = fieldIndex('max_rss_bytes');

// What sb-dedupe and sb-reduce read of a job record: the same values JSON.parse gives.
export interface JobFields extends Rec {
  kind: 'job';
  cluster: string;
  key: string;
  user: string;
  account: string;
  state: string;
  failed: boolean;
  end: string;
  elapsed_s: number;
  cpus: number;
  nodes: number;
  gpus: number;
  req_mem_bytes: number;
  max_rss_bytes: number | null;
}

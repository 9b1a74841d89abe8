// sb-parse's row kernel, in AssemblyScript (compiled to dist/wasm/rows.wasm by `make build`).
//
// It reads sacct text rows (or the strings of a `rows` record's JSON) from its input area and
// folds away, without JavaScript, the rows that are the common case: a step row (`123.batch`)
// of the job sb-parse holds, well formed, whose MaxRSS is plain digits or empty. Every other
// row (job rows, orphans, bad rows, rows with '\r', a MaxRSS with a unit, the last row without
// a newline) is handed back to JavaScript, which reads it exactly as it would without the
// kernel; with it go its field bounds and its times, read as JavaScript reads them. So the
// kernel can only make sb-parse faster, never different: lib/core/row-kernel.ts drives it, and
// test/parse-kernel.test.ts reads every kind of row with and without it.
//
// Memory (bytes): 0 the held job's id, 256 its DBIndex, 512 its cluster; 1024 the counters
// (i32 slots below; the peak RSS as f64 at 1088; the times of the row handed back as f64 at
// 1096: Submit, Start, End); 2048 the field starts of the row handed back (i32 each); 4096
// where the strings of a `rows` record end (ENDS); static data from 65536 (asc --memoryBase);
// input from INPUT.

const HELD_ID: usize = 0;
const HELD_DB: usize = 256;
const HELD_CLUSTER: usize = 512;
const COUNTS: usize = 1024;
const RSS_AT: usize = 1088;
const TIMES_AT: usize = 1096;
const STARTS: usize = 2048;
// Field starts kept for a row: rows with more fields are always handed back.
const MAX_FIELDS: i32 = 480;
export const INPUT: usize = 131072;

// counter slots (i32), read and reset by JavaScript after each run
const ROWS = 0; // rows folded
const STEPS = 1; // steps of a held job to print
const SKIPPED = 2; // steps of a held job not printed (running, dropped)
const ROW_END = 3; // end of the row handed back (before its '\n'); -1: input used up
const FIELDS = 4; // fields of the row handed back
const ROW_START = 5; // start of the string handed back by runStrings()
const ESCAPED = 6; // whether it has escapes

// the layout: fields a row has, its delimiter byte, the columns read (-1: not in the input)
let width: i32 = 0;
let delimiter: i32 = 0x1f;
let idCol: i32 = -1;
let rawCol: i32 = -1;
let clusterCol: i32 = -1;
let dbCol: i32 = -1;
let rssCol: i32 = -1;
let submitCol: i32 = -1;
let startCol: i32 = -1;
let endCol: i32 = -1;

// the held job: 0 none (hand back every row), 1 a job to print, 2 a job not printed
let held: i32 = 0;
let idLen: i32 = 0;
let dbLen: i32 = 0;
let clusterLen: i32 = 0;
// how a step row's cluster is matched: 0 by its Cluster field, an empty one handed back;
// 1 by its Cluster field, an empty one matching; 2 all match (the record names the held
// job's cluster); 3 none match
let clusterMode: i32 = 0;

export function layout(w: i32, d: i32, id: i32, raw: i32, cluster: i32, db: i32, rss: i32): void {
  width = w;
  delimiter = d;
  idCol = id;
  rawCol = raw;
  clusterCol = cluster;
  dbCol = db;
  rssCol = rss;
}

// The columns of the times read in rows handed back (-1: not in the input).
export function times(submit: i32, start: i32, end: i32): void {
  submitCol = submit;
  startCol = start;
  endCol = end;
}

export function hold(state: i32, id: i32, db: i32, cluster: i32, mode: i32): void {
  held = state;
  idLen = id;
  dbLen = db;
  clusterLen = cluster;
  clusterMode = mode;
}

@inline function count(slot: i32): i32 {
  return load<i32>(COUNTS + (<usize>slot << 2));
}

@inline function bump(slot: i32): void {
  store<i32>(COUNTS + (<usize>slot << 2), count(slot) + 1);
}

@inline function fieldStart(k: i32): i32 {
  return load<i32>(STARTS + (<usize>k << 2));
}

// The end of field k of a row with `last` + 1 fields ending at nl.
@inline function fieldEnd(k: i32, last: i32, nl: i32): i32 {
  return k < last ? fieldStart(k + 1) - 1 : nl;
}

function same(at: i32, ref: usize, n: i32): bool {
  for (let i = 0; i < n; i++) {
    if (load<u8>(INPUT + <usize>(at + i)) != load<u8>(ref + <usize>i)) return false;
  }
  return true;
}

// Folds rows from pos until the input [pos, end) is used up or a row must go to JavaScript.
// Returns where it stopped; the counter ROW_END says why: -1, the input is used up (a row
// without its '\n' is left from the returned position unless `last`); else the row from the
// returned position to ROW_END is handed back, its field starts at STARTS.
// Needs 16 readable bytes after end (the input area is padded).
export function run(pos: i32, end: i32, last: i32): i32 {
  const dv = i8x16.splat(<i8>delimiter);
  const nv = i8x16.splat(10);
  while (pos < end) {
    // the row's field starts and its newline, 16 bytes at a time
    store<i32>(STARTS, pos);
    let n: i32 = 0; // delimiters seen
    let nl: i32 = -1;
    let i = pos;
    while (i < end) {
      const v = v128.load(INPUT + <usize>i);
      let m: i32 = i8x16.bitmask(i8x16.eq(v, dv));
      let l: i32 = i8x16.bitmask(i8x16.eq(v, nv));
      if (end - i < 16) {
        const valid = (1 << (end - i)) - 1;
        m &= valid;
        l &= valid;
      }
      // delimiters before the newline, if the block has one
      if (l != 0) m &= (l & -l) - 1;
      while (m != 0) {
        n++;
        if (n < MAX_FIELDS) store<i32>(STARTS + (<usize>n << 2), i + ctz(m) + 1);
        m &= m - 1;
      }
      if (l != 0) {
        nl = i + ctz(l);
        break;
      }
      i += 16;
    }
    if (nl < 0) {
      if (last == 0) break;
      nl = end;
    }
    store<i32>(COUNTS + (<usize>FIELDS << 2), n + 1);
    // the last row of the input goes back (JavaScript reads it as it reads a row cut short)
    if (nl == end || !fold(pos, nl, n)) {
      readTimes(n, nl);
      return handBack(pos, nl);
    }
    pos = nl + 1;
  }
  store<i32>(COUNTS + (<usize>ROW_END << 2), -1);
  return pos;
}

// Folds the row [pos, nl) with n delimiters (its field starts at STARTS) when it is a plain
// step row of the held job; false when it must go to JavaScript: empty, '\r' at its end, the
// wrong number of fields (a trailing delimiter adds an empty one), not a step of the held job,
// a MaxRSS that is not plain digits.
function fold(pos: i32, nl: i32, n: i32): bool {
  if (nl == pos || load<u8>(INPUT + <usize>(nl - 1)) == 13 || n >= MAX_FIELDS) return false;
  if (n + 1 != width && !(n == width && fieldStart(n) == nl)) return false;
  // the id: JobIDRaw, or JobID where JobIDRaw is empty; a step's has a '.' after its job's id
  let col = idCol;
  if (rawCol >= 0 && fieldStart(rawCol) != fieldEnd(rawCol, n, nl)) col = rawCol;
  if (col < 0 || held == 0) return false;
  const s = fieldStart(col);
  const e = fieldEnd(col, n, nl);
  // (held ids have no '.': JavaScript holds none, so the '.' after it is the id's first)
  if (e - s <= idLen || load<u8>(INPUT + <usize>(s + idLen)) != 46 || !same(s, HELD_ID, idLen)) return false;
  if (clusterMode == 3) return false;
  if (clusterMode < 2) {
    const cs = clusterCol < 0 ? 0 : fieldStart(clusterCol);
    const ce = clusterCol < 0 ? 0 : fieldEnd(clusterCol, n, nl);
    if (cs != ce) {
      if (ce - cs != clusterLen || !same(cs, HELD_CLUSTER, clusterLen)) return false;
    } else if (clusterMode == 0) return false;
  }
  if (dbCol >= 0 && dbLen > 0) {
    const ds = fieldStart(dbCol);
    const de = fieldEnd(dbCol, n, nl);
    if (ds != de && (de - ds != dbLen || !same(ds, HELD_DB, dbLen))) return false;
  }
  if (held != 1) {
    bump(SKIPPED);
  } else if (rssCol >= 0 && fieldStart(rssCol) != fieldEnd(rssCol, n, nl)) {
    const rs = fieldStart(rssCol);
    const re = fieldEnd(rssCol, n, nl);
    if (re - rs > 15) return false;
    let v: f64 = 0;
    for (let k = rs; k < re; k++) {
      const c = <i32>load<u8>(INPUT + <usize>k) - 48;
      if (c < 0 || c > 9) return false;
      v = v * 10 + <f64>c;
    }
    if (v > load<f64>(RSS_AT)) store<f64>(RSS_AT, v);
    bump(STEPS);
  } else {
    bump(STEPS);
  }
  bump(ROWS);
  return true;
}

// JSON: a `rows` record's "lines" as sb-sacct writes them, read in place. strings() checks
// that the input [pos, end) is the inside of a JSON array of strings written without spaces
// ("…","…",…) and notes where each string ends; runStrings() then folds them as rows, each
// string one row. A string with escapes goes back to JavaScript whole, to be read by JSON.

// where each string ends (the offset of its closing quote; ~offset when it has escapes)
const ENDS: usize = 4096;
const MAX_STRINGS: i32 = 15360; // (65536 - ENDS) / 4
let stringCount: i32 = 0;
let stringNext: i32 = 0;
let stringAt: i32 = 0;

// The number of strings; -1 when [pos, end) is not such an array, -2 when it has more than
// MAX_STRINGS.
export function strings(pos: i32, end: i32): i32 {
  const qv = i8x16.splat(34);
  const bv = i8x16.splat(92);
  const cv = i8x16.splat(32);
  stringCount = 0;
  stringNext = 0;
  stringAt = pos + 1;
  if (pos == end) return 0;
  let k: i32 = 0;
  let i = pos;
  while (true) {
    if (load<u8>(INPUT + <usize>i) != 34) return -1;
    i++;
    let escaped = false;
    // to the closing quote: a quote, a backslash or a control character, 16 bytes at a time
    while (true) {
      if (i >= end) return -1;
      const v = v128.load(INPUT + <usize>i);
      let m: i32 = i8x16.bitmask(v128.or(v128.or(i8x16.eq(v, qv), i8x16.eq(v, bv)), i8x16.lt_u(v, cv)));
      if (end - i < 16) m &= (1 << (end - i)) - 1;
      if (m == 0) {
        i += 16;
        continue;
      }
      i += ctz(m);
      const c = load<u8>(INPUT + <usize>i);
      if (c == 34) break;
      if (c < 32) return -1;
      // an escape: \" \\ \/ \b \f \n \r \t or \u and four hex digits
      escaped = true;
      if (i + 1 >= end) return -1;
      const x = load<u8>(INPUT + <usize>(i + 1));
      if (x == 34 || x == 92 || x == 47 || x == 98 || x == 102 || x == 110 || x == 114 || x == 116) {
        i += 2;
      } else if (x == 117) {
        if (i + 6 > end) return -1;
        for (let h = i + 2; h < i + 6; h++) {
          const d = load<u8>(INPUT + <usize>h) | 32;
          if (!((d >= 48 && d <= 57) || (d >= 97 && d <= 102))) return -1;
        }
        i += 6;
      } else {
        return -1;
      }
    }
    if (k >= MAX_STRINGS) return -2;
    store<i32>(ENDS + (<usize>k << 2), escaped ? ~i : i);
    k++;
    i++;
    if (i == end) break;
    if (load<u8>(INPUT + <usize>i) != 44 || i + 1 >= end) return -1;
    i++;
  }
  stringCount = k;
  return k;
}

// Folds the strings strings() found, from the next one, as rows; returns the index of a string
// handed back (its bytes from ROW_START to ROW_END, ESCAPED 1 when it has escapes), or -1 once
// all are read. The next call goes on after the string handed back.
export function runStrings(): i32 {
  const dv = i8x16.splat(<i8>delimiter);
  while (stringNext < stringCount) {
    const k = stringNext;
    const raw = load<i32>(ENDS + (<usize>k << 2));
    const pos = stringAt;
    const end = raw < 0 ? ~raw : raw;
    stringNext = k + 1;
    stringAt = end + 3;
    store<i32>(COUNTS + (<usize>ROW_START << 2), pos);
    store<i32>(COUNTS + (<usize>ROW_END << 2), end);
    if (raw < 0) {
      store<i32>(COUNTS + (<usize>ESCAPED << 2), 1);
      return k;
    }
    store<i32>(COUNTS + (<usize>ESCAPED << 2), 0);
    store<i32>(STARTS, pos);
    let n: i32 = 0;
    for (let i = pos; i < end; i += 16) {
      let m: i32 = i8x16.bitmask(i8x16.eq(v128.load(INPUT + <usize>i), dv));
      if (end - i < 16) m &= (1 << (end - i)) - 1;
      while (m != 0) {
        n++;
        if (n < MAX_FIELDS) store<i32>(STARTS + (<usize>n << 2), i + ctz(m) + 1);
        m &= m - 1;
      }
    }
    store<i32>(COUNTS + (<usize>FIELDS << 2), n + 1);
    if (!fold(pos, end, n)) {
      readTimes(n, end);
      return k;
    }
  }
  store<i32>(COUNTS + (<usize>ROW_END << 2), -1);
  return -1;
}

// The times of a row handed back with n delimiters ending at nl, as sacct's UTC times
// (`2024-01-31T23:59:59`, or a space for the T) read as JavaScript's SacctClock reads them;
// NaN where the field is not such a time (or the row too short to have it).
function readTimes(n: i32, nl: i32): void {
  store<f64>(TIMES_AT, timeAt(submitCol, n, nl));
  store<f64>(TIMES_AT + 8, timeAt(startCol, n, nl));
  store<f64>(TIMES_AT + 16, timeAt(endCol, n, nl));
}

function timeAt(col: i32, n: i32, nl: i32): f64 {
  if (col < 0 || col > n || n >= MAX_FIELDS) return NaN;
  const s = fieldStart(col);
  if (fieldEnd(col, n, nl) - s != 19) return NaN;
  const c1 = two(s);
  const c2 = two(s + 2);
  const mo = two(s + 5);
  const d = two(s + 8);
  const h = two(s + 11);
  const mi = two(s + 14);
  const sec = two(s + 17);
  if ((c1 | c2 | h | mi | sec) < 0 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59) return NaN;
  const sep = load<u8>(INPUT + <usize>(s + 10));
  if (load<u8>(INPUT + <usize>(s + 4)) != 45 || load<u8>(INPUT + <usize>(s + 7)) != 45 || (sep != 84 && sep != 32)) return NaN;
  if (load<u8>(INPUT + <usize>(s + 13)) != 58 || load<u8>(INPUT + <usize>(s + 16)) != 58) return NaN;
  const y = c1 * 100 + c2;
  if (d > daysInMonth(y, mo)) return NaN;
  return <f64>(daysFromCivil(y, mo, d)) * 86400 + <f64>(h * 3600 + mi * 60 + sec);
}

// Two ASCII digits at input offset i, or -1.
function two(i: i32): i32 {
  const a = <i32>load<u8>(INPUT + <usize>i) - 48;
  const b = <i32>load<u8>(INPUT + <usize>(i + 1)) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

function daysInMonth(y: i32, m: i32): i32 {
  if (m == 2) return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 ? 29 : 28;
  return m == 4 || m == 6 || m == 9 || m == 11 ? 30 : 31;
}

// Days from 1970-01-01 (Hinnant's days_from_civil; floor division for the year before 0).
function daysFromCivil(y: i32, m: i32, d: i32): i32 {
  y -= m <= 2 ? 1 : 0;
  const era = (y >= 0 ? y : y - 399) / 400;
  const yoe = y - era * 400;
  const doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

function handBack(pos: i32, nl: i32): i32 {
  store<i32>(COUNTS + (<usize>ROW_END << 2), nl);
  return pos;
}

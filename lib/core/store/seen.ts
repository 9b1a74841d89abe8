import { crc32 } from 'node:zlib';
import { isClusterName, notClusterName } from '../records/cluster.js';
import { BadInput } from '../cli/errors.js';
import { stringField, type Rec } from '../cli/input.js';
import { parseTime, parseTimeAt } from '../records/time.js';
import { fieldIndex, type JobLineReader } from '../records/job-line.js';

// A job record's dedupe key (lib/core/records/job.ts jobKey) in a compact, exact form:
//   db     `<cluster>/db/<DBIndex>`                 → the DBIndex (a whole number < 2^53)
//   id     `<cluster>/id/<JobIDRaw>/<submit epoch>` → JobIDRaw·2^32 + submit (both < 2^32)
//   other  a canonical key that fits neither (huge numbers, Submit unknown) → the text itself
export type KeyCode = { kind: 'db'; n: number } | { kind: 'id'; v: bigint } | { kind: 'other'; s: string };

const DIGITS = /^(0|[1-9]\d*)$/;
const U32 = 2 ** 32;

// The key of a job of `cluster` in compact form, or undefined if it does not start with
// `<cluster>/`. Keys are canonical (as jobKey writes them) or bad input: `c/db/0100` and
// `c/db/100` must not be two jobs.
export function encodeKey(key: string, cluster: string): KeyCode | undefined {
  if (key.length <= cluster.length + 1 || !key.startsWith(cluster) || key.charCodeAt(cluster.length) !== 47) return undefined;
  const n = dbIndexOf(key, cluster.length + 1);
  if (n !== undefined) return { kind: 'db', n };
  const rest = key.slice(cluster.length + 1);
  const parts = rest.split('/');
  if (parts[0] === 'db' && parts.length === 2) {
    const d = parts[1] as string;
    if (DIGITS.test(d)) {
      const n = Number(d);
      return Number.isSafeInteger(n) ? { kind: 'db', n } : { kind: 'other', s: rest };
    }
  } else if (parts[0] === 'id' && parts.length === 3) {
    const id = parts[1] as string;
    const submit = parts[2] as string;
    if (DIGITS.test(id) && (DIGITS.test(submit) || submit === 'unknown')) {
      if (id.length <= 10 && submit.length <= 10 && submit !== 'unknown') {
        const a = Number(id);
        const b = Number(submit);
        if (a < U32 && b < U32) return { kind: 'id', v: (BigInt(a) << 32n) | BigInt(b) };
      }
      return { kind: 'other', s: rest };
    }
  }
  throw new BadInput(`key '${key}' is not canonical (expected ${cluster}/db/DBINDEX or ${cluster}/id/JOBIDRAW/SUBMIT, numbers without leading zeros)`);
}

// `db/<digits>` at `at` in key, canonical and below 2^53, as a number; else undefined (and
// encodeKey decides): the common key, read without slicing or splitting it.
function dbIndexOf(key: string, at: number): number | undefined {
  if (key.charCodeAt(at) !== 100 || key.charCodeAt(at + 1) !== 98 || key.charCodeAt(at + 2) !== 47) return undefined;
  const first = at + 3;
  const len = key.length - first;
  if (len < 1 || len > 15 || (len > 1 && key.charCodeAt(first) === 48)) return undefined;
  let n = 0;
  for (let i = first; i < key.length; i++) {
    const c = key.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return undefined;
    n = n * 10 + c;
  }
  return n;
}

// The exact set of job keys of one cluster-month, kept sorted in typed arrays (8 bytes a key in
// memory; a Set of numbers costs about five times that). Immutable: `with` returns a new set.
export class SeenSet {
  constructor(
    readonly db: Float64Array = new Float64Array(0),
    readonly id: BigUint64Array = new BigUint64Array(0),
    readonly other: readonly string[] = [],
  ) {}

  // where the last DBIndex looked up was found (a stream's keys come mostly in order)
  private near = -1;

  get size(): number {
    return this.db.length + this.id.length + this.other.length;
  }

  has(code: KeyCode): boolean {
    switch (code.kind) {
      case 'db':
        return this.hasDb(code.n);
      case 'id':
        return search(this.id, code.v);
      case 'other':
        return search(this.other, code.s);
    }
  }

  // has() of the db key with this DBIndex. The key after the last one found is tried first:
  // jobs come in order of their DBIndex, mostly, so most look-ups cost one comparison (and a key
  // past the last, see searchAt).
  hasDb(n: number): boolean {
    const a = this.db;
    const next = this.near + 1;
    if (next < a.length && a[next] === n) {
      this.near = next;
      return true;
    }
    const at = searchAt(a, n);
    if (at < 0) return false;
    this.near = at;
    return true;
  }

  // This set plus keys not in it (the caller checked has() for each; duplicates are tolerated).
  with(add: KeyBatch): SeenSet {
    if (add.size === 0) return this;
    return new SeenSet(
      mergeSorted(this.db, Float64Array.from(add.db).sort(), Float64Array),
      mergeSorted(this.id, BigUint64Array.from(add.id).sort(), BigUint64Array),
      mergeStrings(this.other, [...add.other].sort(compareStrings)),
    );
  }
}

// The keys one batch adds, with membership: the in-stream half of dedupe.
export class KeyBatch {
  readonly db = new Set<number>();
  readonly id = new Set<bigint>();
  readonly other = new Set<string>();

  get size(): number {
    return this.db.size + this.id.size + this.other.size;
  }

  has(code: KeyCode): boolean {
    switch (code.kind) {
      case 'db':
        return this.db.has(code.n);
      case 'id':
        return this.id.has(code.v);
      case 'other':
        return this.other.has(code.s);
    }
  }

  // add(), and whether the key is new to the batch (one look-up, where has() and add() are two).
  addNew(code: KeyCode): boolean {
    const before = this.size;
    this.add(code);
    return this.size !== before;
  }

  add(code: KeyCode): void {
    switch (code.kind) {
      case 'db':
        this.db.add(code.n);
        break;
      case 'id':
        this.id.add(code.v);
        break;
      case 'other':
        this.other.add(code.s);
        break;
    }
  }
}

function search<T extends number | bigint | string>(a: ArrayLike<T>, x: T): boolean {
  return searchAt(a, x) >= 0;
}

// The index of x in the sorted a, or -1. A key past the last (a stream's new jobs: DBIndex and
// job ids grow with time) is answered with one comparison, not a search.
function searchAt<T extends number | bigint | string>(a: ArrayLike<T>, x: T): number {
  if (a.length === 0 || (a[a.length - 1] as T) < x) return -1;
  const i = lowerBound(a, x);
  return i < a.length && a[i] === x ? i : -1;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

type Typed<T> = { length: number; [i: number]: T; subarray(a: number, b?: number): Typed<T>; set(src: ArrayLike<T>, at?: number): void };

// a and b merged (each sorted, without repeats), keys in both once. The keys of a below b's
// first, and those above b's last, are copied as a block: a stream adds keys mostly after the
// month's (DBIndex and job ids grow with time), so most of a month is copied, not compared.
function mergeSorted<T extends number | bigint, A extends Typed<T>>(a: A, b: A, Ctor: new (n: number) => A): A {
  if (b.length === 0) return a;
  const out = new Ctor(a.length + b.length);
  let i = lowerBound(a, b[0] as T);
  out.set(a.subarray(0, i));
  let j = 0;
  let k = i;
  while (j < b.length) {
    let v: T;
    if (i < a.length && (a[i] as T) <= (b[j] as T)) v = a[i++] as T;
    else v = b[j++] as T;
    if (k === 0 || (out[k - 1] as T) !== v) out[k++] = v;
  }
  if (i < a.length && k > 0 && (out[k - 1] as T) === (a[i] as T)) i++;
  out.set(a.subarray(i), k);
  k += a.length - i;
  return (k === out.length ? out : out.subarray(0, k)) as A;
}

// The first index of sorted a whose key is not below x (a.length if none).
function lowerBound<T extends number | bigint | string>(a: ArrayLike<T>, x: T): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((a[mid] as T) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function mergeStrings(a: readonly string[], b: string[]): string[] {
  if (b.length === 0) return a as string[];
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const v = j >= b.length || (i < a.length && (a[i] as string) <= (b[j] as string)) ? (a[i++] as string) : (b[j++] as string);
    if (out.length === 0 || out[out.length - 1] !== v) out.push(v);
  }
  return out;
}

// The state file of one cluster-month (docs/store.md, "state/seen"): a 32-byte header, the
// cluster-month it belongs to, then the sorted keys as LEB128 varints of their differences.
//   0  8 bytes  magic "SBSEEN" 0x00 0x02 (0x01: before the file named its cluster-month)
//   8  u32 LE   number of db keys          12 u32 LE  number of id keys
//  16  u32 LE   number of other keys       20 u32 LE  payload length in bytes
//  24  u32 LE   CRC-32 of the payload      28 u32 LE  CRC-32 of bytes 0..27
// payload: varint length + `<cluster>/<YYYY-MM>` (version 2 only), then the keys.
const MAGIC = Buffer.from('SBSEEN\x00\x02', 'latin1');
// Where the high and the low 32 bits of a 64-bit key sit in a Uint32Array over its BigUint64Array.
const HI = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1 ? 1 : 0;
const LO = 1 - HI;
const MAGIC_V1 = Buffer.from('SBSEEN\x00\x01', 'latin1');
const HEADER = 32;

export class CorruptState extends Error {
  override name = 'CorruptState';
}

// Whose keys a state file holds: `<cluster>/<YYYY-MM>`.
export function seenOwner(cluster: string, month: string): string {
  return `${cluster}/${month}`;
}

export function encodeSeen(set: SeenSet, owner: string): Buffer {
  const w = new VarintWriter(set.db.length * 2 + set.id.length * 6 + 16 + owner.length);
  const id = Buffer.from(owner, 'utf8');
  w.number(id.length);
  w.bytes(id);
  let prev = 0;
  for (let i = 0; i < set.db.length; i++) {
    const v = set.db[i] as number;
    w.number(i === 0 ? v : v - prev);
    prev = v;
  }
  // id keys as their two 32-bit halves: a difference below 2^52 is exact as a double, and
  // written as one (a BigInt subtraction a key cost ten times the db keys' encoding)
  const halves = new Uint32Array(set.id.buffer, set.id.byteOffset, set.id.length * 2);
  for (let i = 0; i < set.id.length; i++) {
    const hi = halves[2 * i + HI] as number;
    const dHi = i === 0 ? hi : hi - (halves[2 * i - 2 + HI] as number);
    if (dHi < 2 ** 20) w.number(dHi * 2 ** 32 + (halves[2 * i + LO] as number) - (i === 0 ? 0 : (halves[2 * i - 2 + LO] as number)));
    else w.bigint(i === 0 ? (set.id[i] as bigint) : (set.id[i] as bigint) - (set.id[i - 1] as bigint));
  }
  for (const s of set.other) {
    const b = Buffer.from(s, 'utf8');
    w.number(b.length);
    w.bytes(b);
  }
  const payload = w.done();
  const head = Buffer.alloc(HEADER);
  MAGIC.copy(head, 0);
  head.writeUInt32LE(set.db.length, 8);
  head.writeUInt32LE(set.id.length, 12);
  head.writeUInt32LE(set.other.length, 16);
  head.writeUInt32LE(payload.length, 20);
  head.writeUInt32LE(crc32(payload), 24);
  head.writeUInt32LE(crc32(head.subarray(0, 28)), 28);
  return Buffer.concat([head, payload]);
}

// Reads a state file; throws CorruptState saying what is wrong (truncated, checksum, order, or
// the keys of another cluster-month than `owner`).
export function decodeSeen(buf: Buffer, owner?: string): SeenSet {
  if (buf.length < HEADER) throw new CorruptState(`truncated: ${buf.length} bytes, shorter than its ${HEADER}-byte header`);
  const magic = buf.subarray(0, 8);
  const v1 = magic.equals(MAGIC_V1);
  if (!v1 && !magic.equals(MAGIC)) throw new CorruptState('not a dedupe state file (bad magic number)');
  if (buf.readUInt32LE(28) !== crc32(buf.subarray(0, 28))) throw new CorruptState('header checksum mismatch');
  const nDb = buf.readUInt32LE(8);
  const nId = buf.readUInt32LE(12);
  const nOther = buf.readUInt32LE(16);
  const len = buf.readUInt32LE(20);
  if (buf.length !== HEADER + len) {
    throw new CorruptState(`${buf.length < HEADER + len ? 'truncated' : 'trailing bytes'}: ${buf.length} bytes, expected ${HEADER + len}`);
  }
  const payload = buf.subarray(HEADER);
  if (crc32(payload) !== buf.readUInt32LE(24)) throw new CorruptState('payload checksum mismatch');
  const r = new VarintReader(payload);
  if (!v1) {
    const holds = r.bytes(r.number()).toString('utf8');
    if (owner !== undefined && holds !== owner) throw new CorruptState(`it holds the keys of ${holds}, not of ${owner} (a file moved or swapped)`);
  }
  const db = new Float64Array(nDb);
  let prev = 0;
  for (let i = 0; i < nDb; i++) {
    const d = r.number();
    if (i > 0 && d === 0) throw new CorruptState('keys out of order');
    prev = i === 0 ? d : prev + d;
    if (!Number.isSafeInteger(prev)) throw new CorruptState('key out of range');
    db[i] = prev;
  }
  const id = new BigUint64Array(nId);
  // summed in 32-bit halves while a difference fits in 7 bytes (below 2^49), as encodeSeen wrote it
  const halves = new Uint32Array(id.buffer);
  let hi = 0;
  let lo = 0;
  for (let i = 0; i < nId; i++) {
    const d = r.short();
    if (d >= 0) {
      if (i > 0 && d === 0) throw new CorruptState('keys out of order');
      const dHi = Math.floor(d / 2 ** 32);
      lo += d - dHi * 2 ** 32;
      hi += dHi;
      if (lo >= 2 ** 32) {
        lo -= 2 ** 32;
        hi++;
      }
      if (hi >= 2 ** 32) throw new CorruptState('key out of range');
      halves[2 * i + LO] = lo;
      halves[2 * i + HI] = hi;
    } else {
      const dB = r.bigint();
      if (i > 0 && dB === 0n) throw new CorruptState('keys out of order');
      const v = ((BigInt(hi) << 32n) | BigInt(lo)) + dB;
      if (v >= 1n << 64n) throw new CorruptState('key out of range');
      id[i] = v;
      hi = Number(v >> 32n);
      lo = Number(v & 0xffffffffn);
    }
  }
  const other: string[] = [];
  for (let i = 0; i < nOther; i++) {
    const s = r.bytes(r.number()).toString('utf8');
    if (i > 0 && !((other[i - 1] as string) < s)) throw new CorruptState('keys out of order');
    other.push(s);
  }
  if (!r.atEnd()) throw new CorruptState('payload longer than its keys');
  return new SeenSet(db, id, other);
}

class VarintWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(Math.max(64, size));
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  number(v: number): void {
    this.room(10);
    const buf = this.buf;
    let p = this.pos;
    if (v >= 2 ** 28) {
      // the low 28 bits first, then what is left (below 2^25): 32-bit arithmetic from there
      let low = v % 2 ** 28;
      v = (v - low) / 2 ** 28;
      for (let k = 0; k < 4; k++) {
        buf[p++] = (low & 127) | 128;
        low >>>= 7;
      }
    }
    while (v >= 128) {
      buf[p++] = (v & 127) | 128;
      v >>>= 7;
    }
    buf[p++] = v;
    this.pos = p;
  }

  bigint(v: bigint): void {
    if (v < 9007199254740992n) {
      this.number(Number(v));
      return;
    }
    this.room(10);
    while (v >= 128n) {
      this.buf[this.pos++] = Number(v & 127n) | 128;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  bytes(b: Buffer): void {
    this.room(b.length);
    b.copy(this.buf, this.pos);
    this.pos += b.length;
  }

  done(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

class VarintReader {
  private pos = 0;

  constructor(private readonly buf: Buffer) {}

  atEnd(): boolean {
    return this.pos === this.buf.length;
  }

  number(): number {
    let v = 0;
    let mul = 1;
    for (;;) {
      if (this.pos >= this.buf.length) throw new CorruptState('payload ends inside a key');
      const b = this.buf[this.pos++] as number;
      v += (b & 127) * mul;
      if (b < 128) break;
      mul *= 128;
      if (mul > 2 ** 56) throw new CorruptState('key out of range');
    }
    return v;
  }

  // The next varint as a number when it is at most 7 bytes long (below 2^49); else -1, and the
  // varint is left for bigint() (which says what is wrong with it, if anything).
  short(): number {
    const buf = this.buf;
    let v = 0;
    let mul = 1;
    for (let p = this.pos; p < buf.length && p - this.pos < 7; p++) {
      const b = buf[p] as number;
      v += (b & 127) * mul;
      if (b < 128) {
        this.pos = p + 1;
        return v;
      }
      mul *= 128;
    }
    return -1;
  }

  bigint(): bigint {
    const start = this.pos;
    let n = 0;
    while (this.pos < this.buf.length && (this.buf[this.pos] as number) >= 128) {
      this.pos++;
      if (++n > 9) throw new CorruptState('key out of range');
    }
    if (this.pos >= this.buf.length) throw new CorruptState('payload ends inside a key');
    this.pos++;
    if (this.pos - start <= 7) {
      this.pos = start;
      return BigInt(this.number());
    }
    let v = 0n;
    for (let i = this.pos - 1; i >= start; i--) v = (v << 7n) | BigInt((this.buf[i] as number) & 127);
    return v;
  }

  bytes(n: number): Buffer {
    if (this.pos + n > this.buf.length) throw new CorruptState('payload ends inside a key');
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
}

// The last cluster name found good: a stream is mostly of one cluster.
let lastCluster = '';

// What dedupe needs of a job record (sb-dedupe and sb-reduce): its cluster, month and key;
// throws BadInput naming what is wrong.
export function jobIdentity(rec: Rec): { cluster: string; month: string; code: KeyCode } {
  const cluster = stringField(rec, 'cluster');
  if (cluster !== lastCluster) {
    if (!isClusterName(cluster)) throw new BadInput(`'cluster' ${JSON.stringify(cluster)} ${notClusterName(cluster)}`);
    lastCluster = cluster;
  }
  const key = stringField(rec, 'key');
  const code = encodeKey(key, cluster);
  if (code === undefined) throw new BadInput(`key '${key}' does not start with the job's cluster '${cluster}/'`);
  const end = stringField(rec, 'end');
  if (parseTime(end) === undefined) throw new BadInput(`'end' '${end}' is not a UTC time like 2024-01-01T00:00:00Z`);
  return { cluster, month: end.slice(0, 7), code };
}

const CLUSTER = fieldIndex('cluster');
const KEY = fieldIndex('key');
const END = fieldIndex('end');

// jobIdentity of a job line the exact-form reader has just read, from its bytes: the same
// identity, or the same BadInput. The usual line (the cluster of the line before, a `db` key,
// a good end) is decided in its bytes; any other is decoded and left to jobIdentity.
export class JobIdentityReader {
  // the cluster of the last line (a '"' at first: in no string's content)
  private clusterBytes: Uint8Array = Buffer.from('"');
  // the day (YYYY-MM-DD) of the last good end (a '"' at first: in no time)
  private dayBytes = Buffer.from('"'.repeat(10));

  // The cluster and month of the last line dbIndex() or read() decided in its bytes (a DBIndex
  // found, a key read).
  cluster = '';
  month = '';

  read(r: JobLineReader, b: Buffer): { cluster: string; month: string; code: KeyCode } {
    const at = r.at;
    if (!r.equals(b, CLUSTER, this.clusterBytes) || !this.goodEnd(b, at[2 * END] as number, at[2 * END + 1] as number)) return this.slow(r, b);
    const code = this.key(b, at[2 * KEY] as number, at[2 * KEY + 1] as number);
    if (code === undefined) return this.slow(r, b);
    return { cluster: this.cluster, month: this.month, code };
  }

  // The DBIndex of the line's key when its identity is the usual one (the cluster of the line
  // before, a good end, a key `<cluster>/db/<DBIndex>`), with `cluster` and `month` set: read()'s
  // identity without making it. Else -1, and read() says.
  dbIndex(r: JobLineReader, b: Buffer): number {
    const at = r.at;
    if (!r.equals(b, CLUSTER, this.clusterBytes) || !this.goodEnd(b, at[2 * END] as number, at[2 * END + 1] as number)) return -1;
    const s = at[2 * KEY] as number;
    const c = this.clusterBytes;
    const i = s + c.length;
    // (a key too short for these ends in its closing quote, which none of them is)
    if (b[i] !== 47 || b[i + 1] !== 100 || b[i + 2] !== 98 || b[i + 3] !== 47) return -1;
    for (let k = 0; k < c.length; k++) if (b[s + k] !== c[k]) return -1;
    return wholeAt(b, i + 4, at[2 * KEY + 1] as number, 15);
  }

  // Is b[s, e) a good end (parseTimeAt)? Then `month` is its month. A stream's jobs end mostly on
  // the day of the job before: a day found good is only compared again, the time of day checked.
  private goodEnd(b: Buffer, s: number, e: number): boolean {
    if (e - s === 20 && b[s + 10] === 84 && b[s + 13] === 58 && b[s + 16] === 58 && b[s + 19] === 90 && goodTimeOfDay(b, s + 11)) {
      const day = this.dayBytes;
      let k = 0;
      while (k < 10 && b[s + k] === day[k]) k++;
      if (k === 10) return true;
    }
    if (parseTimeAt(b, s, e) === undefined) return false;
    this.dayBytes.set(b.subarray(s, s + 10));
    this.month = b.toString('latin1', s, s + 7);
    return true;
  }

  // The key at b[s, e) in compact form when it is `<cluster>/db/<DBIndex>` or
  // `<cluster>/id/<JobIDRaw>/<submit>` with numbers encodeKey makes a db or an id code of (the
  // cluster that of the line), else undefined (and encodeKey decides).
  private key(b: Uint8Array, s: number, e: number): KeyCode | undefined {
    const c = this.clusterBytes;
    let i = s + c.length;
    if (e - i < 5 || b[i] !== 47 || b[i + 3] !== 47) return undefined;
    for (let k = 0; k < c.length; k++) if (b[s + k] !== c[k]) return undefined;
    i += 4;
    if (b[i - 3] === 100 && b[i - 2] === 98) {
      const n = wholeAt(b, i, e, 15);
      return n < 0 ? undefined : { kind: 'db', n };
    }
    if (b[i - 3] !== 105 || b[i - 2] !== 100) return undefined;
    let slash = i;
    while (slash < e && b[slash] !== 47) slash++;
    const id = wholeAt(b, i, slash, 10);
    const submit = wholeAt(b, slash + 1, e, 10);
    if (id < 0 || submit < 0 || id >= U32 || submit >= U32) return undefined;
    return { kind: 'id', v: (BigInt(id) << 32n) | BigInt(submit) };
  }

  private slow(r: JobLineReader, b: Buffer): { cluster: string; month: string; code: KeyCode } {
    const rec = { cluster: r.text(b, CLUSTER), key: r.text(b, KEY), end: r.text(b, END) };
    const id = jobIdentity(rec);
    if (id.cluster !== this.cluster) {
      this.cluster = id.cluster;
      this.clusterBytes = Buffer.from(id.cluster, 'latin1');
    }
    return id;
  }
}

// Is b[i, i + 8) a time of day from 00:00:00 to 23:59:59 (its colons checked already)?
function goodTimeOfDay(b: Uint8Array, i: number): boolean {
  const h = twoDigits(b, i);
  const m = twoDigits(b, i + 3);
  const s = twoDigits(b, i + 6);
  return h >= 0 && h <= 23 && m >= 0 && m <= 59 && s >= 0 && s <= 59;
}

// The two digits at b[i] as a number, or -1.
function twoDigits(b: Uint8Array, i: number): number {
  const hi = (b[i] as number) - 48;
  const lo = (b[i + 1] as number) - 48;
  return hi >= 0 && hi <= 9 && lo >= 0 && lo <= 9 ? hi * 10 + lo : -1;
}

// The canonical whole number of at most `most` digits at b[s, e) (no leading 0), or -1.
function wholeAt(b: Uint8Array, s: number, e: number, most: number): number {
  if (e <= s || e - s > most || (e - s > 1 && b[s] === 48)) return -1;
  let n = 0;
  for (let i = s; i < e; i++) {
    const d = (b[i] as number) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

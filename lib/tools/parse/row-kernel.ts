import { readFileSync } from 'node:fs';
import { SbError, UsageError } from '../../core/cli/errors.js';

// The row kernel (wasm/rows.ts, built to dist/wasm/rows.wasm): folds the step rows of the job
// sb-parse holds without JavaScript and hands every other row back. This is its driver: the
// kernel's memory, its input window, the held job. The memory map is the kernel's.
const HELD_ID = 0;
const HELD_DB = 256;
const HELD_CLUSTER = 512;
const HELD_MAX = [255, 255, 511];
const COUNTS = 1024;
const RSS_AT = 1088;
const TIMES_AT = 1096;
const STARTS = 2048;
// fields a row may have for the kernel to fold it (its MAX_FIELDS less a spare)
export const KERNEL_MAX_FIELDS = 478;
// SIMD loads read up to 16 bytes past the input
const PAD = 16;
const PAGE = 65536;
// input bytes the window holds at first; it grows for longer rows or texts
const WINDOW = 1 << 20;
// room fill() makes for a read
const READ = 256 * 1024;

// counter slots
const ROWS = 0;
const STEPS = 1;
const SKIPPED = 2;
const ROW_END = 3;
const FIELDS = 4;
const ROW_START = 5;
const ESCAPED = 6;

// What the kernel holds: no job (every row comes back), a job to print, a job not printed.
export const HELD_NONE = 0;
export const HELD_JOB = 1;
export const HELD_OTHER = 2;
// How step rows' clusters match the held job's: by a non-empty Cluster field (an empty one comes
// back), by the field with empty matching too, all (a `rows` record of the job's cluster), none.
export const CLUSTER_FIELD = 0;
export const CLUSTER_FIELD_OR_EMPTY = 1;
export const CLUSTER_ALL = 2;
export const CLUSTER_NONE = 3;

interface Utf8Slice {
  utf8Slice(start: number, end: number): string;
}

interface Exports {
  memory: WebAssembly.Memory;
  INPUT: WebAssembly.Global;
  layout(width: number, delimiter: number, id: number, raw: number, cluster: number, db: number, rss: number): void;
  times(submit: number, start: number, end: number): void;
  hold(state: number, id: number, db: number, cluster: number, mode: number): void;
  run(pos: number, end: number, last: number): number;
  strings(pos: number, end: number): number;
  runStrings(): number;
}

let module: WebAssembly.Module | Error | undefined;

// The compiled kernel, or why there is none (not built, no WebAssembly SIMD, a big-endian
// machine: WebAssembly memory is little-endian, and the counters are read through typed arrays,
// which are the machine's).
function compiled(): WebAssembly.Module | Error {
  if (module !== undefined) return module;
  try {
    if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) throw new Error('this machine is big-endian');
    module = new WebAssembly.Module(readFileSync(new URL('../../../dist/wasm/rows.wasm', import.meta.url)));
  } catch (err) {
    module = err as Error;
  }
  return module;
}

// Buffer's own utf8Slice where it has one (toString's argument checks cost more than decoding a
// row; it is not in Node's documentation, so toString stands in where it is gone).
const utf8Slice: (buf: Buffer, start: number, end: number) => string =
  typeof (Buffer.prototype as unknown as Partial<Utf8Slice>).utf8Slice === 'function'
    ? (buf, start, end) => (buf as unknown as Utf8Slice).utf8Slice(start, end)
    : (buf, start, end) => buf.toString('utf8', start, end);

export class RowKernel {
  private readonly k: Exports;
  private readonly base: number;
  private u8!: Uint8Array;
  private i32!: Int32Array;
  private f64!: Float64Array;
  private timesView!: Float64Array;
  private buf!: Buffer;
  // The input window: bytes [start, end) of the input area are not read yet.
  start = 0;
  end = 0;
  // Whether the row handed back last ended at a newline (else it was the input's last).
  private newline = true;
  // The cluster in the kernel's memory (undefined: none that it can hold).
  private cluster: string | undefined;

  private constructor(instance: WebAssembly.Instance) {
    this.k = instance.exports as unknown as Exports;
    this.base = this.k.INPUT.value as number;
    this.room(WINDOW);
    this.reset();
  }

  // The kernel as SB_PARSE_KERNEL asks: unset, where it can run; `js`, none; `wasm`, this
  // one or an error saying why it cannot run.
  static load(env: NodeJS.ProcessEnv = process.env): RowKernel | undefined {
    const want = env['SB_PARSE_KERNEL'] ?? '';
    if (want !== '' && want !== 'js' && want !== 'wasm') throw new UsageError(`SB_PARSE_KERNEL='${want}': expected 'wasm' or 'js'`);
    if (want === 'js') return undefined;
    const m = compiled();
    if (!(m instanceof Error)) return new RowKernel(new WebAssembly.Instance(m, {}));
    if (want === 'wasm') throw new SbError(`SB_PARSE_KERNEL=wasm, but the row kernel cannot load: ${m.message}`);
    return undefined;
  }

  layout(width: number, delimiter: number, id: number, raw: number, cluster: number, db: number, rss: number): void {
    this.k.layout(width, delimiter, id, raw, cluster, db, rss);
  }

  // The columns of Submit, Start and End (-1: none): the kernel reads them in the rows it hands
  // back, as SacctClock reads sacct's UTC times (see times).
  timeColumns(submit: number, start: number, end: number): void {
    this.k.times(submit, start, end);
  }

  // Submit, Start and End of the row handed back in epoch seconds, NaN where the field is not a
  // plain `2024-01-31T23:59:59` (or with a space) time: valid until the next call.
  get times(): Float64Array {
    return this.timesView;
  }

  // The job rows are folded into. Strings the kernel cannot compare byte for byte (not ASCII,
  // too long, an id with a '.') make it hand every row back instead.
  hold(state: number, id: string, db: string, cluster: string, mode: number): void {
    if (state !== HELD_NONE) {
      if (cluster !== this.cluster) {
        this.cluster = this.ascii(cluster, HELD_CLUSTER, 2) ? cluster : undefined;
      }
      if (this.cluster === undefined || id.includes('.') || !this.ascii(id, HELD_ID, 0) || !this.ascii(db, HELD_DB, 1)) state = HELD_NONE;
    }
    this.k.hold(state, id.length, db.length, cluster.length, mode);
  }

  private ascii(text: string, at: number, slot: number): boolean {
    if (text.length > (HELD_MAX[slot] as number)) return false;
    const u8 = this.u8;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c > 127) return false;
      u8[at + i] = c;
    }
    return true;
  }

  // Appends input bytes to the window.
  append(chunk: Uint8Array): void {
    this.free(chunk.length);
    this.u8.set(chunk, this.base + this.end);
    this.end += chunk.length;
  }

  // Reads into the window with `read` (bytes read, 0 at the end of input); returns its result.
  fill(read: (into: Uint8Array, offset: number, length: number) => number): number {
    this.free(READ);
    const n = read(this.u8, this.base + this.end, this.capacity - this.end);
    this.end += n;
    return n;
  }

  // Makes room for `bytes` more after the window's end: what was read goes, then the memory grows.
  private free(bytes: number): void {
    if (this.capacity - this.end >= bytes) return;
    if (this.start > 0) {
      this.u8.copyWithin(this.base, this.base + this.start, this.base + this.end);
      this.end -= this.start;
      this.start = 0;
    }
    if (this.capacity - this.end < bytes) this.room(this.end + bytes);
  }

  // Empties the window.
  clear(): void {
    this.start = 0;
    this.end = 0;
  }

  // Appends the UTF-8 bytes of `text` to the window.
  appendText(text: string): void {
    // UTF-8 takes at most 3 bytes for each UTF-16 unit
    if (this.end + text.length * 3 > this.capacity) this.room(this.end + text.length * 3);
    this.end += this.buf.write(text, this.base + this.end, 'utf8');
  }

  private get capacity(): number {
    return this.u8.length - this.base - PAD;
  }

  // Grows the memory until the window holds `bytes`.
  private room(bytes: number): void {
    const need = this.base + bytes + PAD;
    const mem = this.k.memory;
    if (mem.buffer.byteLength < need) mem.grow(Math.ceil((need - mem.buffer.byteLength) / PAGE));
    if (this.u8 === undefined || this.u8.buffer !== mem.buffer) {
      this.u8 = new Uint8Array(mem.buffer);
      this.i32 = new Int32Array(mem.buffer, 0, (STARTS >> 2) + 512);
      this.f64 = new Float64Array(mem.buffer, 0, STARTS / 8);
      this.timesView = new Float64Array(mem.buffer, TIMES_AT, 3);
      this.buf = Buffer.from(mem.buffer);
    }
  }

  // Folds rows from the window's start. Returns the end of a row handed back (the row is
  // [start, end), read it with text()), or -1 once the window is used up; a row without its
  // newline stays in the window unless `last`.
  next(last: boolean): number {
    this.start = this.k.run(this.start, this.end, last ? 1 : 0);
    const end = this.i32[(COUNTS >> 2) + ROW_END] as number;
    if (end >= 0) this.newline = end < this.end;
    return end;
  }

  // The window's bytes (a view: valid until the window changes).
  get window(): Buffer {
    return this.buf.subarray(this.base + this.start, this.base + this.end);
  }

  // JSON strings: window offsets [from, to) hold the inside of a JSON array of strings (a
  // `rows` record's "lines"), written without spaces. Returns how many strings it holds, or -1
  // when it is not such an array (or holds more than the kernel can note).
  strings(from: number, to: number): number {
    const n = this.k.strings(this.start + from, this.start + to);
    return n < 0 ? -1 : n;
  }

  // Folds the strings as rows, from the one after the last handed back. Returns the index of a
  // string handed back (its bytes from `start` to `rowEnd`; `escaped` says whether JSON must
  // read it), or -1 once all are read.
  nextString(): number {
    const k = this.k.runStrings();
    if (k >= 0) this.start = this.i32[(COUNTS >> 2) + ROW_START] as number;
    return k;
  }

  get rowEnd(): number {
    return this.i32[(COUNTS >> 2) + ROW_END] as number;
  }

  get escaped(): boolean {
    return this.i32[(COUNTS >> 2) + ESCAPED] === 1;
  }

  // The string handed back with its quotes, as text (for JSON.parse).
  quoted(end: number): string {
    return utf8Slice(this.buf, this.base + this.start - 1, this.base + end + 1);
  }

  // The row handed back, as text.
  text(end: number): string {
    return utf8Slice(this.buf, this.base + this.start, this.base + end);
  }

  // Fields of the row handed back (its delimiters + 1).
  get fields(): number {
    return this.i32[(COUNTS >> 2) + FIELDS] as number;
  }

  // The bounds of the first `count` fields of the row handed back (ending at `end`),
  // relative to its start. count <= fields, KERNEL_MAX_FIELDS.
  bounds(starts: Int32Array, ends: Int32Array, count: number, end: number): void {
    const i32 = this.i32;
    const at = STARTS >> 2;
    const fields = this.fields;
    const s = this.start;
    for (let k = 0; k < count; k++) {
      starts[k] = (i32[at + k] as number) - s;
      ends[k] = (k + 1 < fields ? (i32[at + k + 1] as number) - 1 : end) - s;
    }
  }

  // Moves past the row handed back.
  skip(end: number): void {
    this.start = this.newline ? end + 1 : end;
  }

  // Rows folded since the last reset, and of them steps of a job to print and steps skipped.
  get rows(): number {
    return this.i32[(COUNTS >> 2) + ROWS] as number;
  }

  get steps(): number {
    return this.i32[(COUNTS >> 2) + STEPS] as number;
  }

  get skipped(): number {
    return this.i32[(COUNTS >> 2) + SKIPPED] as number;
  }

  // The largest MaxRSS of the steps folded, or -1.
  get rss(): number {
    return this.f64[RSS_AT >> 3] as number;
  }

  reset(): void {
    const i32 = this.i32;
    i32[(COUNTS >> 2) + ROWS] = 0;
    i32[(COUNTS >> 2) + STEPS] = 0;
    i32[(COUNTS >> 2) + SKIPPED] = 0;
    this.f64[RSS_AT >> 3] = -1;
  }
}

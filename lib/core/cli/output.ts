import type { Writable } from 'node:stream';
import { PipeClosed } from './errors.js';

const FLUSH_AT = 64 * 1024;
// Lines held back longer than this while the input is quiet go out anyway: a stage must not sit
// on a window's last record (a chunk-done, a commit) waiting for 64 KB more that may never come
// until the stage downstream answers (sb-rendezvous gate waits for that very commit).
const IDLE_MS = 25;

// Buffered line output that honours backpressure and turns EPIPE into PipeClosed. Lines are
// encoded as they come into buffers that are written whole (no string joins, no second copy),
// and a buffer is used again once the stream has taken it.
const CAP = 256 * 1024;
const SPILL = 16 * 1024;
const NEWLINE = Uint8Array.of(10);

// What Output.put lets write a line straight into its buffer.
export interface LineWriter<T> {
  write(b: Buffer, at: number, value: T): number;
}

export class Output {
  private buf: Buffer;
  private used = 0;
  private text = '';
  // Filled buffers not yet written, and buffers the stream is done with.
  private full: Buffer[] = [];
  private fullSize = 0;
  private free: Buffer[] = [];
  private closed = false;
  private failure: Error | undefined;
  private waiters: Array<() => void> = [];
  private idle: NodeJS.Timeout | undefined;
  // Lines queued as bytes and not yet copied: run[runStart, runEnd), whole lines that followed
  // one another in the input, each with its newline. Copied at the latest by drain().
  private run: Uint8Array | undefined;
  private runStart = 0;
  private runEnd = 0;

  constructor(private readonly stream: Writable) {
    this.buf = Buffer.allocUnsafeSlow(CAP);
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') this.closed = true;
      else this.failure = err;
      this.wake();
    });
    stream.on('close', () => this.wake());
  }

  // Queue one line (without its newline).
  line(text: string): void {
    if (this.run !== undefined) this.endRun();
    // Lines are joined as text first: encoding one long string costs less than many short ones.
    this.text += text + '\n';
    if (this.text.length >= SPILL) this.spill();
  }

  // Encodes the lines joined so far into the buffer.
  private spill(): void {
    const text = this.text;
    this.text = '';
    const most = text.length * 3;
    if (this.used + most > this.buf.length) this.next(most);
    this.used += this.buf.write(text, this.used);
  }

  // Queue one line given as its UTF-8 bytes, b[start, end) without its newline. A line that
  // follows the one before in b, each ending in '\n' there, joins it: they are copied at once.
  bytes(b: Uint8Array, start: number, end: number): void {
    if (b[end] === 10) {
      if (b === this.run && start === this.runEnd) {
        this.runEnd = end + 1;
        return;
      }
      if (this.run !== undefined) this.endRun();
      else if (this.text.length > 0) this.spill();
      this.run = b;
      this.runStart = start;
      this.runEnd = end + 1;
      return;
    }
    if (this.run !== undefined) this.endRun();
    else if (this.text.length > 0) this.spill();
    this.copy(b, start, end);
    this.copy(NEWLINE, 0, 1);
  }

  // Copies the run of lines queued as bytes.
  private endRun(): void {
    const run = this.run as Uint8Array;
    this.run = undefined;
    this.copy(run, this.runStart, this.runEnd);
    this.runStart = this.runEnd = 0;
  }

  private copy(b: Uint8Array, start: number, end: number): void {
    if (this.used + end - start > this.buf.length) this.next(end - start);
    this.buf.set(b.subarray(start, end), this.used);
    this.used += end - start;
  }

  // Queue one line put down in place: w.write(buf, at, value) writes the line and its '\n' at
  // buf[at..], at most `most` bytes, and returns where they end (no string made, nor copied).
  put<T>(most: number, w: LineWriter<T>, value: T): void {
    if (this.run !== undefined) this.endRun();
    else if (this.text.length > 0) this.spill();
    if (this.used + most > this.buf.length) this.next(most);
    this.used = w.write(this.buf, this.used, value);
  }

  // Queue a record as one NDJSON line.
  record(rec: object): void {
    this.line(JSON.stringify(rec));
  }

  // Bytes queued.
  get pending(): number {
    return this.fullSize + this.used + this.text.length + (this.runEnd - this.runStart);
  }

  // Flush when enough is queued; call once per input batch. Waits while the reader is slow.
  async drain(): Promise<void> {
    // (the input's buffer may be used again once its batch is done)
    if (this.run !== undefined) this.endRun();
    if (this.fullSize + this.used + this.text.length >= FLUSH_AT) await this.flush();
    else {
      this.check();
      this.flushWhenIdle();
    }
  }

  // Arms one timer that flushes what is queued unless a flush happens first.
  private flushWhenIdle(): void {
    if (this.idle !== undefined || this.pending === 0) return;
    this.idle = setTimeout(() => {
      this.idle = undefined;
      // a failed write is kept by the stream's error handler for the next check()
      this.flush().catch(() => undefined);
    }, IDLE_MS);
    this.idle.unref();
  }

  // Write everything queued and wait until the stream accepts more.
  async flush(): Promise<void> {
    if (this.idle !== undefined) clearTimeout(this.idle);
    this.idle = undefined;
    this.check();
    if (this.run !== undefined) this.endRun();
    if (this.text.length > 0) this.spill();
    if (this.used > 0) this.next(0);
    if (this.full.length === 0) return;
    const full = this.full;
    this.full = [];
    this.fullSize = 0;
    let ok = true;
    for (const b of full) {
      const whole = b.buffer;
      ok = this.stream.write(b, () => {
        if (whole.byteLength === CAP && this.free.length < 8) this.free.push(Buffer.from(whole, 0, CAP));
      });
    }
    if (!ok) {
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        this.stream.once('drain', () => this.wake());
      });
    }
    this.check();
  }

  // Queues the bytes so far and takes a buffer with room for at least `room` bytes.
  private next(room: number): void {
    if (this.used > 0) {
      this.full.push(this.buf.subarray(0, this.used));
      this.fullSize += this.used;
    }
    this.used = 0;
    if (room > CAP) this.buf = Buffer.allocUnsafeSlow(room);
    else this.buf = this.free.pop() ?? Buffer.allocUnsafeSlow(CAP);
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private check(): void {
    if (this.failure) throw this.failure;
    if (this.closed || this.stream.destroyed) throw new PipeClosed();
  }
}

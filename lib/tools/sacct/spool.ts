import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const BLOCK = 1024 * 1024;
const SPILL_AT = 16 * 1024 * 1024;
const TEXT_AT = 16 * 1024;

// Text held back until a whole unit of work has succeeded (all of a window's rows, or none).
// Text is encoded into 1 MiB blocks 16 KiB at a time (encoding one long string costs less than
// many short ones, and no string lives long, so the garbage collector stays idle); past 16 MiB the blocks go to a temporary file that is unlinked as soon
// as it is opened, so nothing is left on disk whatever kills the process. Memory stays flat for
// any window size.
export class Spool {
  private blocks: Buffer[] = [];
  private held = 0;
  private cur: Buffer = Buffer.allocUnsafe(BLOCK);
  private off = 0;
  private fd: number | undefined;
  private written = 0;
  private text = '';

  constructor(private readonly dir: string = tmpdir()) {}

  // Appends text as it is.
  write(text: string): void {
    this.text += text;
    if (this.text.length >= TEXT_AT) this.encode();
  }

  // Everything written, in order, as byte blocks (each new, so a caller may hand it to a stream
  // that writes later).
  *buffers(): Generator<Buffer> {
    this.encode();
    this.nextBlock(0);
    if (this.fd === undefined) {
      yield* this.blocks;
      return;
    }
    for (let pos = 0; pos < this.written; ) {
      const buf = Buffer.allocUnsafe(Math.min(BLOCK * 4, this.written - pos));
      const n = readSync(this.fd, buf, 0, buf.length, pos);
      if (n <= 0) break;
      pos += n;
      yield n === buf.length ? buf : buf.subarray(0, n);
    }
  }

  // Releases the memory and the file.
  close(): void {
    this.blocks = [];
    this.held = 0;
    this.off = 0;
    this.text = '';
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private encode(): void {
    const text = this.text;
    this.text = '';
    const need = text.length * 3;
    if (this.off + need > this.cur.length) this.nextBlock(need);
    this.off += this.cur.write(text, this.off);
  }

  private nextBlock(need: number): void {
    if (this.off > 0) {
      this.blocks.push(this.cur.subarray(0, this.off));
      this.held += this.off;
      this.cur = Buffer.allocUnsafe(Math.max(BLOCK, need));
      this.off = 0;
    } else if (need > this.cur.length) {
      this.cur = Buffer.allocUnsafe(need);
    }
    if (this.held >= SPILL_AT || (this.fd !== undefined && this.held > 0)) this.spill();
  }

  private spill(): void {
    if (this.fd === undefined) {
      const d = mkdtempSync(path.join(this.dir, 'sb-spool-'));
      this.fd = openSync(path.join(d, 'rows'), 'w+', 0o600);
      rmSync(d, { recursive: true, force: true });
    }
    for (const b of this.blocks) {
      let done = 0;
      while (done < b.length) done += writeSync(this.fd, b, done, b.length - done, this.written + done);
      this.written += b.length;
    }
    this.blocks = [];
    this.held = 0;
  }
}

import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const BLOCK = 1024 * 1024;
const SPILL_AT = 16 * 1024 * 1024;

// Lines held back until a whole unit of work has succeeded (all of a window's rows, or none).
// Each line is encoded into 1 MiB blocks at once (no string outlives its line, so the garbage
// collector stays idle); past 16 MiB the blocks go to a temporary file that is unlinked as soon
// as it is opened, so nothing is left on disk whatever kills the process. Memory stays flat for
// any window size.
export class Spool {
  private blocks: Buffer[] = [];
  private held = 0;
  private cur: Buffer = Buffer.allocUnsafe(BLOCK);
  private off = 0;
  private fd: number | undefined;
  private written = 0;
  count = 0;

  constructor(private readonly dir: string = tmpdir()) {}

  push(line: string): void {
    const need = line.length * 3 + 1;
    if (this.off + need > this.cur.length) this.nextBlock(need);
    this.off += this.cur.write(line, this.off);
    this.cur[this.off++] = 10;
    this.count++;
  }

  // Appends text as it is (no newline, not counted as a line).
  write(text: string): void {
    const need = text.length * 3;
    if (this.off + need > this.cur.length) this.nextBlock(need);
    this.off += this.cur.write(text, this.off);
  }

  // Appends bytes src[start, end) as they are (no newline, not counted as a line).
  writeBytes(src: Buffer, start: number, end: number): void {
    const need = end - start;
    if (this.off + need > this.cur.length) this.nextBlock(need);
    this.off += src.copy(this.cur, this.off, start, end);
  }

  // Room for `need` more bytes at the end of the current block: the block and the offset to
  // write at; then commit(offset after the last byte written). For callers that fill bytes
  // themselves (no intermediate string).
  reserve(need: number): Buffer {
    if (this.off + need > this.cur.length) this.nextBlock(need);
    return this.cur;
  }

  get offset(): number {
    return this.off;
  }

  commit(off: number): void {
    this.off = off;
  }

  // Everything written, in order, as byte blocks (no decoding; each block is new, so a caller
  // may hand it to a stream that writes later).
  *buffers(): Generator<Buffer> {
    this.nextBlock(0);
    if (this.fd === undefined) {
      yield* this.blocks;
      return;
    }
    let pos = 0;
    while (pos < this.written) {
      const buf = Buffer.allocUnsafe(Math.min(BLOCK * 4, this.written - pos));
      const n = readSync(this.fd, buf, 0, buf.length, pos);
      if (n <= 0) break;
      pos += n;
      yield n === buf.length ? buf : buf.subarray(0, n);
    }
  }

  // The lines in order, in batches of whole lines joined with '\n' (no final newline).
  *batches(): Generator<string> {
    this.nextBlock(0);
    if (this.fd === undefined) {
      for (const b of this.blocks) yield b.toString('utf8', 0, b.length - 1);
      return;
    }
    const buf = Buffer.allocUnsafe(BLOCK);
    let pos = 0;
    let rest = '';
    while (pos < this.written) {
      const n = readSync(this.fd, buf, 0, BLOCK, pos);
      if (n <= 0) break;
      pos += n;
      // Cut after the last '\n', so only whole lines (and whole UTF-8 sequences) are decoded.
      let cut = n;
      while (cut > 0 && buf[cut - 1] !== 10) cut--;
      if (cut === 0) {
        rest += buf.toString('utf8', 0, n);
        continue;
      }
      const text = rest + buf.toString('utf8', 0, cut - 1);
      rest = buf.toString('utf8', cut, n);
      yield text;
    }
    if (rest.length > 0) yield rest;
  }

  // Releases the memory and the file.
  close(): void {
    this.blocks = [];
    this.held = 0;
    this.off = 0;
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
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

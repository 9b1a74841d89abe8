// Rows go out in large chunks with blocking writes: a slow reader holds the generator back,
// a reader that went away (| head) ends the run quietly.
import * as fs from 'node:fs';

export class ReaderGone extends Error {}

const CHUNK = 1 << 20;
const pause = new Int32Array(new SharedArrayBuffer(4));

export function writeAll(fd: number, text: string): void {
  writeBuffer(fd, Buffer.from(text, 'utf8'));
}

export function writeBuffer(fd: number, buf: Buffer): void {
  let off = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(fd, buf, off, buf.length - off);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        Atomics.wait(pause, 0, 0, 2);
        continue;
      }
      if (code === 'EPIPE') throw new ReaderGone();
      throw e;
    }
  }
}

export class Output {
  private buf: Buffer;
  private off = 0;
  private lines = 0;
  private faults = 0;
  // Everything held back until the end (SB_SIM_TRUNCATE).
  private readonly held: Buffer[] = [];

  constructor(
    private readonly fd: number,
    private readonly garbleEvery: number,
    private readonly holdAll: boolean,
    private readonly delimiter: string,
  ) {
    this.buf = Buffer.allocUnsafe(CHUNK);
  }

  // Unaltered text (the header).
  raw(s: string): void {
    this.put(s);
  }

  row(s: string): void {
    if (this.garbleEvery > 0 && ++this.lines % this.garbleEvery === 0) s = this.garble(s);
    this.put(s);
  }

  // Each row goes into the buffer at once, so no string outlives its row.
  private put(s: string): void {
    if (this.off + s.length * 3 > this.buf.length) {
      this.flush();
      if (s.length * 3 > this.buf.length) this.buf = Buffer.allocUnsafe(s.length * 3);
    }
    this.off += this.buf.write(s, this.off);
  }

  // Alternately a line cut short and a line with junk (and so one field too many) in its middle.
  private garble(s: string): string {
    const body = s.slice(0, -1);
    const mid = Math.floor(body.length / 2);
    this.faults++;
    if (this.faults % 2 === 1) return body.slice(0, mid) + '\n';
    return body.slice(0, mid) + '\u0000#?' + this.delimiter + '%garbled%' + body.slice(mid) + '\n';
  }

  flush(): void {
    if (this.off === 0) return;
    if (this.holdAll) {
      this.held.push(this.buf.subarray(0, this.off));
      this.buf = Buffer.allocUnsafe(CHUNK);
    } else {
      writeBuffer(this.fd, this.buf.subarray(0, this.off));
    }
    this.off = 0;
  }

  // SB_SIM_TRUNCATE: print the first half of everything, ending mid-line.
  flushHalf(): void {
    this.flush();
    const all = Buffer.concat(this.held);
    let cut = Math.floor(all.length / 2);
    while (cut > 0 && all[cut - 1] === 0x0a) cut--;
    if (cut > 0) writeBuffer(this.fd, all.subarray(0, cut));
  }
}

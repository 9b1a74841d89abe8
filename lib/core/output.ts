import type { Writable } from 'node:stream';
import { PipeClosed } from './errors.js';

const FLUSH_AT = 64 * 1024;

// Buffered line output that honours backpressure and turns EPIPE into PipeClosed.
export class Output {
  private parts: string[] = [];
  private size = 0;
  private closed = false;
  private failure: Error | undefined;
  private waiters: Array<() => void> = [];

  constructor(private readonly stream: Writable) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') this.closed = true;
      else this.failure = err;
      this.wake();
    });
    stream.on('close', () => this.wake());
  }

  // Queue one line (without its newline).
  line(text: string): void {
    this.parts.push(text);
    this.size += text.length + 1;
  }

  // Queue a record as one NDJSON line.
  record(rec: object): void {
    this.line(JSON.stringify(rec));
  }

  get pending(): number {
    return this.size;
  }

  // Flush when enough is queued; call once per input batch. Waits while the reader is slow.
  async drain(): Promise<void> {
    if (this.size >= FLUSH_AT) await this.flush();
    else this.check();
  }

  // Write everything queued and wait until the stream accepts more.
  async flush(): Promise<void> {
    this.check();
    if (this.parts.length === 0) return;
    const text = this.parts.join('\n') + '\n';
    this.parts = [];
    this.size = 0;
    const ok = this.stream.write(text);
    if (!ok) {
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        this.stream.once('drain', () => this.wake());
      });
    }
    this.check();
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

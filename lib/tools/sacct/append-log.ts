import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { SbError } from '../../core/cli/errors.js';

// An NDJSON file that several processes append to at once: opened with O_APPEND and written one
// whole line per write(2), so lines never interleave (on a local filesystem; NFS does not
// promise O_APPEND).
export class AppendLog {
  private fd: number | undefined;

  constructor(readonly path: string) {}

  // Opens the file now, so a path that cannot be written is an error before any work is done.
  open(): void {
    if (this.fd !== undefined) return;
    try {
      // The ledger usually lives in the store (state/failed.ndjson), which may not exist yet.
      mkdirSync(dirname(this.path), { recursive: true });
      this.fd = openSync(this.path, 'a', 0o644);
    } catch (err) {
      throw new SbError(`cannot open '${this.path}' for appending: ${(err as Error).message}`);
    }
  }

  append(rec: object): void {
    this.open();
    const buf = Buffer.from(JSON.stringify(rec) + '\n');
    const n = writeSync(this.fd as number, buf);
    if (n !== buf.length) throw new SbError(`short write to '${this.path}' (${n} of ${buf.length} bytes)`);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

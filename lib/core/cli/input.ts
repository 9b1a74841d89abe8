import { createReadStream, open } from 'node:fs';
import { promisify } from 'node:util';
import type { Readable } from 'node:stream';
import { BadInput, SbError } from './errors.js';
import { fileChunks, readByteBatches, readLineBatches } from './lines.js';
import type { Output } from './output.js';
import type { Reporter, Where } from './report.js';

export type Rec = Record<string, unknown>;

// Handles one record of a kind the tool knows, given its line as read (for passing it on
// untouched). Throw BadInput to skip the line with a report.
export type Handler = (rec: Rec, where: Where, text: string) => void | Promise<void>;

// A reader of the lines a tool reads most (sb-parse's job lines) in their bytes, before anything
// decodes them: given the bytes from a line's start up to `limit` (whole lines, the last one's
// newline optional), it handles the line and returns where it ends, at its '\n' or '\r\n' (or a
// promise of it), or leaves it (-1) to be decoded and read as any other line. (Finding the end
// as it reads costs less than a search for the newline first.) Throw BadInput to skip the line
// with a report.
export type ByteReader = (b: Buffer, start: number, limit: number) => number | Promise<number>;

export interface Input {
  readonly stream: Readable;
  source: string;
  // a file's descriptor (the stream's, which the byte reader reads itself; destroying the stream
  // closes it)
  fd?: number;
}

// stdin for '-' or no path, else the named file; a missing file is a plain one-line error.
export async function openInput(path: string | undefined, io: { readonly stdin: Readable }): Promise<Input> {
  if (path === undefined || path === '-') return { stream: io.stdin, source: 'stdin' };
  let fd: number;
  try {
    fd = await promisify(open)(path, 'r');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new SbError(`cannot open '${path}': ${e.code === 'ENOENT' ? 'No such file or directory' : e.message}`);
  }
  // 256 KiB reads: a quarter of the calls of the default 64 KiB, for a few MB more memory (the
  // byte path reads the file itself, 1 MiB at a time: fileChunks)
  return { stream: createReadStream('', { fd, highWaterMark: 1 << 18 }), source: path, fd };
}

// Parses one NDJSON line into an object record, or says why it cannot.
export function parseRecordLine(text: string): Rec {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new BadInput(`not JSON: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new BadInput('not a JSON object');
  }
  return value as Rec;
}

export function isBlank(text: string): boolean {
  return text.trim().length === 0;
}

// The NDJSON loop every filter shares: records of the kinds in `handlers` go to their handler,
// every other line (other kinds, no kind) passes through untouched and in order, unless a '*'
// handler takes them; bad lines are reported with their place and skipped.
export async function forEachRecord(
  input: Input,
  out: Output,
  report: Reporter,
  handlers: Record<string, Handler>,
  // Lines that are not JSON objects (do not start with '{'), for inputs that mix in another
  // form (sb-chunk's CSV); without it they are bad lines.
  other?: (text: string, where: Where) => void,
  opts: LoopOptions = {},
): Promise<void> {
  const { bytes, idle, pass } = opts;
  let line = 0;
  const batches: AsyncGenerator<string[] | Buffer> =
    bytes === undefined ? readLineBatches(input.stream) : readByteBatches(input.fd !== undefined ? fileChunks(input.fd) : input.stream);
  try {
    for (;;) {
      const next = batches.next();
      let got: IteratorResult<string[] | Buffer> | typeof QUIET;
      if (idle !== undefined && idle.pending()) {
        let timer: NodeJS.Timeout | undefined;
        got = await Promise.race([next, new Promise<typeof QUIET>((resolve) => (timer = setTimeout(resolve, idle.ms, QUIET)))]);
        clearTimeout(timer);
        if (got === QUIET) {
          await idle.run();
          got = await next;
        }
      } else got = await next;
      if (got.done === true) break;
      if (Buffer.isBuffer(got.value)) await eachByteLine(got.value, bytes as ByteReader);
      else await eachLine(got.value);
    }
  } finally {
    await batches.return(undefined);
    // (read here, not by the stream: closes the descriptor)
    if (bytes !== undefined && input.fd !== undefined) input.stream.destroy();
  }

  async function eachLine(batch: string[]): Promise<void> {
    for (const text of batch) {
      line++;
      const pending = oneLine(text);
      if (pending) await pending;
    }
    await out.drain();
  }

  // Whole lines (each but the stream's last ends in '\n'), offered to the byte reader first.
  async function eachByteLine(b: Buffer, reader: ByteReader): Promise<void> {
    for (let pos = 0; pos < b.length; ) {
      const start = pos;
      line++;
      let taken: number | Promise<number>;
      try {
        taken = reader(b, start, b.length);
        if (typeof taken !== 'number') taken = await taken;
      } catch (err) {
        if (!(err instanceof BadInput)) throw err;
        report.badLine({ source: input.source, line }, err.message);
        const nl = b.indexOf(10, start);
        pos = nl < 0 ? b.length : nl + 1;
        continue;
      }
      if (taken >= 0) {
        pos = taken + (b[taken] === 13 ? 2 : 1);
        continue;
      }
      let nl = b.indexOf(10, start);
      if (nl < 0) nl = b.length;
      const end = nl > start && b[nl - 1] === 13 ? nl - 1 : nl;
      pos = nl + 1;
      const pending = oneLine(b.toString('utf8', start, end));
      if (pending) await pending;
    }
    await out.drain();
  }

  // One line of text (the current `line`): to its handler, passed on, or reported.
  function oneLine(text: string): Promise<void> | undefined {
    if (isBlank(text)) return undefined;
    const where = { source: input.source, line };
    let rec: Rec;
    try {
      if (other !== undefined && text.trimStart()[0] !== '{') {
        other(text, where);
        return undefined;
      }
      rec = parseRecordLine(text);
    } catch (err) {
      if (other !== undefined && !(err instanceof BadInput)) throw err;
      report.badLine(where, (err as Error).message);
      return undefined;
    }
    const kind = rec['kind'];
    const handler = typeof kind === 'string' && Object.hasOwn(handlers, kind) ? handlers[kind] : handlers['*'];
    if (handler === undefined) {
      if (pass !== undefined) pass(text);
      else out.line(text);
      return undefined;
    }
    let pending: void | Promise<void>;
    try {
      pending = handler(rec, where, text);
    } catch (err) {
      if (!(err instanceof BadInput)) throw err;
      report.badLine(where, err.message);
      return undefined;
    }
    if (!pending) return undefined;
    return pending.catch((err: unknown) => {
      if (!(err instanceof BadInput)) throw err;
      report.badLine(where, err.message);
    });
  }
}

const QUIET = Symbol('quiet');

export interface LoopOptions {
  // offered each line in its bytes before it is decoded (see ByteReader)
  bytes?: ByteReader;
  // where lines of kinds without a handler go (default: out.line, at once)
  pass?: (text: string) => void;
  // While pending() says work is held back, input quiet for `ms` runs run() (sb-reduce commits
  // the windows it holds rather than wait for more).
  idle?: { ms: number; pending: () => boolean; run: () => Promise<void> };
}

// Reads a required string field of a record, or throws BadInput naming it.
export function stringField(rec: Rec, name: string): string {
  const v = rec[name];
  if (typeof v !== 'string' || v.length === 0) throw new BadInput(`'${name}' is missing or not a string`);
  return v;
}

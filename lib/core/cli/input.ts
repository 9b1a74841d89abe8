import { createReadStream, open } from 'node:fs';
import { promisify } from 'node:util';
import type { Readable } from 'node:stream';
import { BadInput, SbError } from './errors.js';
import { readLineBatches } from './lines.js';
import type { Output } from './output.js';
import type { Reporter, Where } from './report.js';

export type Rec = Record<string, unknown>;

// Handles one record of a kind the tool knows, given its line as read (for passing it on
// untouched). Throw BadInput to skip the line with a report.
export type Handler = (rec: Rec, where: Where, text: string) => void | Promise<void>;

export interface Input {
  readonly stream: Readable;
  source: string;
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
  return { stream: createReadStream('', { fd }), source: path };
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
): Promise<void> {
  let line = 0;
  for await (const batch of readLineBatches(input.stream)) {
    for (const text of batch) {
      line++;
      if (isBlank(text)) continue;
      const where = { source: input.source, line };
      let rec: Rec;
      try {
        if (other !== undefined && text.trimStart()[0] !== '{') {
          other(text, where);
          continue;
        }
        rec = parseRecordLine(text);
      } catch (err) {
        if (other !== undefined && !(err instanceof BadInput)) throw err;
        report.badLine(where, (err as Error).message);
        continue;
      }
      const kind = rec['kind'];
      const handler = typeof kind === 'string' && Object.hasOwn(handlers, kind) ? handlers[kind] : handlers['*'];
      if (handler === undefined) {
        out.line(text);
        continue;
      }
      try {
        const pending = handler(rec, where, text);
        if (pending) await pending;
      } catch (err) {
        if (!(err instanceof BadInput)) throw err;
        report.badLine(where, err.message);
      }
    }
    await out.drain();
  }
}

// Reads a required string field of a record, or throws BadInput naming it.
export function stringField(rec: Rec, name: string): string {
  const v = rec[name];
  if (typeof v !== 'string' || v.length === 0) throw new BadInput(`'${name}' is missing or not a string`);
  return v;
}

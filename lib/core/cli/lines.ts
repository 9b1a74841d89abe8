import { read } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

// Lines of a byte stream in batches, one batch per chunk read, without their '\n' (nor a '\r'
// before it); the last line needs no newline; never throws on content. A line longer than a
// chunk (a `rows` record: ~1 MB) is kept in pieces and joined once it ends: joining the text
// so far to each chunk and splitting it again would cost the line's length for every chunk.
export async function* readLineBatches(input: AsyncIterable<Buffer | string>): AsyncGenerator<string[]> {
  const decoder = new StringDecoder('utf8');
  let pieces: string[] = [];
  for await (const chunk of input) {
    const text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
    if (text.indexOf('\n') < 0) {
      if (text.length > 0) pieces.push(text);
      continue;
    }
    const lines = text.split('\n');
    const rest = lines.pop() as string;
    if (pieces.length > 0) {
      pieces.push(lines[0] as string);
      lines[0] = pieces.join('');
      pieces = [];
    }
    if (rest.length > 0) pieces.push(rest);
    yield stripCr(lines);
  }
  pieces.push(decoder.end());
  const last = pieces.join('');
  if (last.length > 0) yield stripCr([last]);
}

function stripCr(lines: string[]): string[] {
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i] as string;
    if (l.length > 0 && l.charCodeAt(l.length - 1) === 13) lines[i] = l.slice(0, -1);
  }
  return lines;
}

// Lines of a byte stream as the bytes they came in, for readers that look at bytes before (or
// instead of) decoding them: each buffer yielded holds whole lines, each ending in '\n' but the
// stream's last, which may have none. A line longer than a chunk is kept in pieces and joined
// once it ends, as readLineBatches does. A '\n' byte is never part of a UTF-8 sequence, so a
// line decoded alone is what decoding the stream gives (a bad byte before it cannot take it).
// The chunks may be buffers used again once the next is asked for (fileChunks): what is kept of
// one for later is copied.
export async function* readByteBatches(input: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer> {
  let pieces: Buffer[] = [];
  for await (const c of input) {
    const chunk = typeof c === 'string' ? Buffer.from(c) : c;
    const last = chunk.lastIndexOf(10);
    if (last < 0) {
      if (chunk.length > 0) pieces.push(Buffer.from(chunk));
      continue;
    }
    let from = 0;
    if (pieces.length > 0) {
      from = chunk.indexOf(10) + 1;
      pieces.push(chunk.subarray(0, from));
      yield Buffer.concat(pieces);
      pieces = [];
    }
    if (last + 1 > from) yield chunk.subarray(from, last + 1);
    if (last + 1 < chunk.length) pieces.push(Buffer.from(chunk.subarray(last + 1)));
  }
  if (pieces.length > 0) yield Buffer.concat(pieces);
}

// A file's bytes in chunks of at most `size`, read into two buffers in turn, the next read running
// while the caller handles a chunk: a chunk is the caller's until it asks for the next. (A new
// buffer for every read, as a file stream makes, costs more than the copy into it; and 1 MiB
// reads cost less than 256 KiB ones: sb-dedupe over 464 MB, 0.1 CPU-s.)
export async function* fileChunks(fd: number, size = 1 << 20): AsyncGenerator<Buffer> {
  const buffers = [Buffer.allocUnsafeSlow(size), Buffer.allocUnsafeSlow(size)];
  let k = 0;
  let next = readInto(fd, buffers[0] as Buffer);
  try {
    for (;;) {
      const n = await next;
      if (n === 0) return;
      const b = buffers[k] as Buffer;
      k ^= 1;
      next = readInto(fd, buffers[k] as Buffer);
      yield b.subarray(0, n);
    }
  } finally {
    // a read still running when the caller stops is waited for (its bytes or error are of no
    // use): the descriptor may be closed once this returns
    await next.catch(() => 0);
  }
}

function readInto(fd: number, b: Buffer): Promise<number> {
  return new Promise((resolve, reject) => read(fd, b, 0, b.length, null, (err, n) => (err ? reject(err) : resolve(n))));
}

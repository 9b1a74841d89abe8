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
export async function* readByteBatches(input: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer> {
  let pieces: Buffer[] = [];
  for await (const c of input) {
    const chunk = typeof c === 'string' ? Buffer.from(c) : c;
    const last = chunk.lastIndexOf(10);
    if (last < 0) {
      if (chunk.length > 0) pieces.push(chunk);
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
    if (last + 1 < chunk.length) pieces.push(chunk.subarray(last + 1));
  }
  if (pieces.length > 0) yield Buffer.concat(pieces);
}

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

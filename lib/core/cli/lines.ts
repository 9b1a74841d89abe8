import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';

// Lines of a byte stream in batches (one batch per chunk read); never throws on content.
// A trailing '\r' is removed, so CRLF files read like LF ones. The last line needs no newline.
export async function* readLineBatches(input: Readable | AsyncIterable<Buffer | string>): AsyncGenerator<string[]> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  for await (const chunk of input as AsyncIterable<Buffer | string>) {
    const text = rest + (typeof chunk === 'string' ? chunk : decoder.write(chunk));
    const lines = text.split('\n');
    rest = lines.pop() ?? '';
    if (lines.length > 0) yield stripCr(lines);
  }
  rest += decoder.end();
  if (rest.length > 0) yield stripCr([rest]);
}

function stripCr(lines: string[]): string[] {
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i] as string;
    if (l.length > 0 && l.charCodeAt(l.length - 1) === 13) lines[i] = l.slice(0, -1);
  }
  return lines;
}

// The two line readers of lib/core/cli/lines.ts: the byte reader's buffers, split at '\n' (a CR
// before it dropped) and each line decoded alone, are the lines of the text reader, however the
// stream is cut into chunks (a line, a CRLF or a UTF-8 sequence cut in two, a line over many
// chunks, bytes that are not UTF-8).
import { Readable } from 'node:stream';
import t from 'tap';
import { closeSync, mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileChunks, readByteBatches, readLineBatches } from '../lib/core/cli/lines.js';
import { LONG } from './helpers/run.js';

// make test-fast (LONG set) cuts the stream 20 ways, make test 300
const CUTS = LONG ? 20 : 300;

async function textLines(chunks: Buffer[]): Promise<string[]> {
  const out: string[] = [];
  for await (const batch of readLineBatches(Readable.from(chunks))) out.push(...batch);
  return out;
}

// (each buffer read as it comes, as forEachRecord does: a file's chunks are buffers used again)
async function byteLines(chunks: Buffer[] | AsyncIterable<Buffer>): Promise<string[]> {
  const out: string[] = [];
  let end = 10;
  for await (const b of readByteBatches(Array.isArray(chunks) ? Readable.from(chunks) : chunks)) {
    if (b.length === 0 || end !== 10) t.fail('a buffer that does not end in a newline, or none');
    end = b[b.length - 1] as number;
    for (let pos = 0; pos < b.length; ) {
      let nl = b.indexOf(10, pos);
      if (nl < 0) nl = b.length;
      out.push(b.toString('utf8', pos, nl > pos && b[nl - 1] === 13 ? nl - 1 : nl));
      pos = nl + 1;
    }
  }
  return out;
}

t.test('the byte reader gives the lines the text reader gives, cut anywhere', async (t) => {
  const text = Buffer.concat([
    Buffer.from('{"a":1}\n\nplain\r\ncrlf only\r\n\r\n'),
    Buffer.from('é日本😀 and more\n'),
    Buffer.from([0x62, 0xff, 0x62, 0x0a, 0xc3, 0x0a, 0xe6, 0x97, 0x0a, 0xed, 0xa0, 0x80, 0x0a, 0xf0, 0x9f, 0x98]),
    Buffer.from('\n' + 'x'.repeat(5000) + '\n'),
    Buffer.from('last line, no newline\r'),
  ]);
  let seed = 3;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  for (let i = 0; i < CUTS; i++) {
    const chunks: Buffer[] = [];
    for (let at = 0; at < text.length; ) {
      const n = 1 + rand(i % 3 === 0 ? 8 : 700);
      chunks.push(text.subarray(at, at + n));
      at += n;
    }
    const want = await textLines(chunks);
    const got = await byteLines(chunks);
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      t.same(got, want, `cut ${i}: ${chunks.map((c) => c.length).join(',')}`);
      return;
    }
  }
  t.same(await byteLines([text]), await textLines([text]), 'one chunk');
  t.same(await byteLines([]), [], 'nothing');
  t.same(await byteLines([Buffer.from('\n')]), [''], 'one empty line');
});

t.test('a file read into two buffers in turn: the same lines, whatever the read size', async (t) => {
  const text = Buffer.concat([
    Buffer.from('{"a":1}\n\nplain\r\ncrlf only\r\n'),
    Buffer.from('é日本😀 and more\n'),
    Buffer.from([0x62, 0xff, 0x62, 0x0a, 0xc3, 0x0a, 0xe6, 0x97, 0x0a]),
    Buffer.from('y'.repeat(3000) + '\n' + 'x'.repeat(20_000) + '\n'), // lines over many reads
    Buffer.from('last line, no newline'),
  ]);
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'sb-lines-')), 'in');
  writeFileSync(file, text);
  const want = await textLines([text]);
  // (make test-fast leaves out the reads of 1 to 7 bytes: 45,000 reads of the 23 KB, 4 of its CPU-s)
  for (const size of LONG ? [64, 700, 4096, 1 << 20] : [1, 2, 3, 7, 64, 700, 4096, 1 << 20]) {
    const fd = openSync(file, 'r');
    t.same(await byteLines(fileChunks(fd, size)), want, `${size}-byte reads`);
    closeSync(fd);
  }
  writeFileSync(file, '');
  const fd = openSync(file, 'r');
  t.same(await byteLines(fileChunks(fd)), [], 'an empty file');
  closeSync(fd);
});

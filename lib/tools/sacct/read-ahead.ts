import { Transform, pipeline } from 'node:stream';
import type { Input } from '../../core/cli/input.js';

// The input, read ahead of the windows being fetched and its chunk records counted as they
// arrive, so that the progress line knows the total long before the last window is taken:
// sb-chunk prints a backfill's thousand windows (100 KB) at once, but sb-sacct takes each
// only when a slot is free. Up to `maxBytes` are held; past that, reading waits as before.
// `onCount(n, ended)`: chunk lines seen so far, and whether the input has ended.
export function readAhead(input: Input, onCount: (n: number, ended: boolean) => void, maxBytes = 32 * 1024 * 1024): Input {
  let count = 0;
  // Whether the next byte starts a line; a line is counted by its start (`{"kind":"chunk"`,
  // as sb-chunk and sb-rendezvous print it), so a line split between reads counts once.
  let atStart = true;
  let head = '';
  const counter = new Transform({
    readableHighWaterMark: maxBytes,
    transform(chunk: Buffer, _encoding, done) {
      let from = 0;
      while (from < chunk.length) {
        if (atStart) {
          const nl = chunk.indexOf(10, from);
          const stop = Math.min(nl === -1 ? chunk.length : nl, from + PREFIX.length - head.length);
          head += chunk.toString('latin1', from, stop);
          if (head.length >= PREFIX.length || nl !== -1) {
            if (head === PREFIX) count++;
            atStart = false;
            head = '';
          }
          from = stop;
          continue;
        }
        const nl = chunk.indexOf(10, from);
        if (nl === -1) break;
        atStart = true;
        from = nl + 1;
      }
      onCount(count, false);
      done(null, chunk);
    },
    flush(done) {
      onCount(count, true);
      done();
    },
  });
  // Errors reach the reader through the counter (pipeline destroys it with the error).
  pipeline(input.stream, counter, () => undefined);
  return { stream: counter, source: input.source };
}

const PREFIX = '{"kind":"chunk"';

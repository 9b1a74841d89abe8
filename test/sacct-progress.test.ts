// sb-sacct's progress line: the total read ahead, rows, jobs, an ETA, and a summary at the end,
// only on a terminal.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import t from 'tap';
import { progressText, summaryText } from '../lib/tools/sacct/progress.js';
import { readAhead } from '../lib/tools/sacct/read-ahead.js';
import { BIN, LONG, ROOT, runShell } from './helpers/run.js';

t.test('the progress line: done/total, rows, jobs, failed, an ETA once a window is done', async (t) => {
  const s = { done: 0, total: undefined, rows: 0, jobs: 0, failed: 0 };
  t.equal(progressText(s, 0), '0/? windows, 0 rows, 0 jobs, 0 failed');
  t.equal(progressText({ ...s, total: 1066 }, 5), '0/1,066 windows, 0 rows, 0 jobs, 0 failed', 'no ETA before a window is done');
  t.equal(progressText({ done: 36, total: 1066, rows: 123456, jobs: 4567, failed: 1 }, 72), '36/1,066 windows, 123,456 rows, 4,567 jobs, 1 failed, ETA 34.3 min');
  t.equal(progressText({ done: 1066, total: 1066, rows: 1, jobs: 1, failed: 0 }, 72), '1,066/1,066 windows, 1 row, 1 job, 0 failed', 'no ETA when done');
});

t.test('the summary: plural forms, none failed', async (t) => {
  t.equal(summaryText({ done: 1, total: 1, rows: 1, jobs: 1, failed: 0 }, 3), '1 window, 1 row, 1 job, none failed, in 3 s');
  t.equal(summaryText({ done: 1066, total: 1066, rows: 2345678, jobs: 123456, failed: 2 }, 2160), '1,066 windows, 2,345,678 rows, 123,456 jobs, 2 failed, in 36 min');
});

t.test('readAhead counts chunk lines as they arrive, split anywhere, and passes every byte on', async (t) => {
  const chunk = (h: number): string => JSON.stringify({ kind: 'chunk', cluster: 'c', start: `2024-01-01T0${h}:00:00Z`, end: `2024-01-01T0${h}:59:59Z` });
  const text = [chunk(0), '{"kind":"chunk-done","cluster":"c"}', '', 'x', chunk(1), '{"kind":"other"}', chunk(2)].join('\n');
  for (const size of [1, 3, 7, 1000]) {
    const parts: Buffer[] = [];
    for (let i = 0; i < text.length; i += size) parts.push(Buffer.from(text.slice(i, i + size)));
    const counts: Array<[number, boolean]> = [];
    const input = readAhead({ stream: Readable.from(parts), source: 'stdin' }, (n, ended) => counts.push([n, ended]));
    let out = '';
    for await (const b of input.stream) out += String(b);
    t.equal(out, text, `bytes unchanged (reads of ${size})`);
    t.same(counts.at(-1), [3, true], `three chunk lines, then the end (reads of ${size})`);
  }
});

t.test('readAhead reads past what the reader has taken', async (t) => {
  const src = new PassThrough();
  let seen = 0;
  const input = readAhead({ stream: src, source: 'stdin' }, (n) => (seen = n));
  for (let i = 0; i < 1000; i++) src.write('{"kind":"chunk","cluster":"c","start":"2024-01-01T00:00:00Z","end":"2024-01-01T00:59:59Z"}\n');
  src.end();
  await new Promise((r) => setTimeout(r, 50));
  t.equal(seen, 1000, 'all 1000 counted while nothing was read from it');
  input.stream.destroy();
});

const hasScript = ((): boolean => {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

t.test('on a terminal: the line, then one summary line; elsewhere nothing', { skip: hasScript ? LONG : 'no script(1) for a terminal' }, async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sb-progress-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const windows = (n: number): string => `${BIN}/sb-chunk new -c hammer -s 2024-01-01 -e '2024-01-01 0${n - 1}:59:59' --step 1 | ${BIN}/sb-sacct --sacct ${ROOT}/sim/sacct --rate 0 > /dev/null`;
  const pipeline = windows(6);
  const env = { XDG_RUNTIME_DIR: dir, SB_SIM_NOW: '2024-03-01T00:00:00Z', NO_COLOR: '' };
  const tty = await runShell(`script -qec ${JSON.stringify(pipeline)} /dev/null`, { env });
  t.equal(tty.status, 0, tty.stderr);
  const shown = tty.stdout.split(/\r|\n/).filter((l) => l.trim() !== '' && !/^\x1b\[K$/.test(l));
  t.match(shown.at(-1), /^(\x1b\[K)?sb-sacct: 6 windows, [\d,]+ rows, [\d,]+ jobs, none failed, in [\d.]+ s$/, 'the summary stays');
  t.ok(shown.some((l) => /sb-sacct: \d\/6 windows/.test(l)), 'the line knew the total');
  // where nothing is drawn, two windows show it as well as six
  const pipe = await runShell(windows(2), { env });
  t.same([pipe.status, pipe.stderr], [0, ''], 'not a terminal: nothing on stderr');
  const noColor = await runShell(`script -qec ${JSON.stringify(windows(2))} /dev/null`, { env: { ...env, NO_COLOR: '1' } });
  t.equal(noColor.stdout.trim(), '', 'NO_COLOR: nothing');
});

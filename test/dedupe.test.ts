import { isUtf8 } from 'node:buffer';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { KeyBatch, SeenSet } from '../lib/core/store/seen.js';
import { jobIdentity } from '../lib/core/store/seen.js';
import { Deduper } from '../lib/tools/dedupe/main.js';
import { goldenCases } from './helpers/golden.js';
import { byteLines } from './helpers/byte-lines.js';
import { records, runBin, runShell } from './helpers/run.js';

const tmp = (): string => mkdtempSync(path.join(tmpdir(), 'sb-dedupe-'));
const job = (key: string, over: Record<string, unknown> = {}): Record<string, unknown> => ({
  kind: 'job', cluster: 'c', key, job_id: '1', user: 'alice', state: 'COMPLETED', failed: false, end: '2024-03-05T11:00:00Z',
  elapsed_s: 60, cpus: 1, nodes: 1, gpus: 0, req_mem_bytes: 0, max_rss_bytes: null, steps: 1, ...over,
});
const ndjson = (recs: Array<Record<string, unknown>>): string => recs.map((r) => JSON.stringify(r)).join('\n') + '\n';

t.test('Deduper: drops what the store holds and repeats in the stream; requeues and recycled ids pass', async (t) => {
  const stored = new KeyBatch();
  stored.add({ kind: 'db', n: 5 });
  const reads: string[] = [];
  const d = new Deduper((cluster, month) => {
    reads.push(`${cluster} ${month}`);
    return month === '2024-03' ? new SeenSet().with(stored) : new SeenSet();
  });
  const pass = (key: string, month = '2024-03'): boolean => d.pass('c', month, jobIdentity(job(key, { end: `${month}-05T11:00:00Z` })).code);
  t.equal(pass('c/db/5'), false, 'in the store');
  t.equal(pass('c/db/2'), true);
  t.equal(pass('c/db/19'), true, 'a requeued run: same job id, new DBIndex');
  t.equal(pass('c/db/2'), false, 'a repeat in the stream');
  t.equal(pass('c/id/77/1709600000'), true);
  t.equal(pass('c/id/77/1709700000'), true, 'a recycled job id');
  t.equal(pass('c/db/2', '2024-04'), true, 'a key is per month: another month is another store file');
  t.same(d.counts, { read: 7, passed: 5, stored: 1, repeated: 1 });
  t.same(reads, ['c 2024-03', 'c 2024-04'], 'each month is read once');
});

t.test('Deduper: in-stream keys are folded into sorted arrays and stay exact', async (t) => {
  const d = new Deduper(() => new SeenSet());
  let passed = 0;
  for (let i = 0; i < 150_000; i++) if (d.pass('c', '2024-03', { kind: 'db', n: i })) passed++;
  for (let i = 0; i < 150_000; i += 7) if (d.pass('c', '2024-03', { kind: 'db', n: i })) passed++;
  t.equal(passed, 150_000);
  t.equal(d.counts.repeated, Math.ceil(150_000 / 7));
});

t.test('sb-dedupe against a store sb-reduce wrote, with -v counts', async (t) => {
  const root = tmp();
  await runBin('sb-reduce', ['--root', root], { input: ndjson([job('c/db/1'), job('c/db/2')]) });
  const input = ndjson([job('c/db/1'), { kind: 'chunk-done', cluster: 'c', start: '2024-03-05T00:00:00Z', end: '2024-03-05T23:59:59Z' }, job('c/db/3'), job('c/db/3'), job('c/db/4')]);
  const r = await runBin('sb-dedupe', ['--root', root, '-v'], { input });
  t.equal(r.status, 0);
  t.same(records(r.stdout).map((x) => x['key'] ?? x['kind']), ['chunk-done', 'c/db/3', 'c/db/4'], 'other kinds pass through in order');
  t.equal(r.stderr, 'sb-dedupe: 4 jobs read, 2 passed, 1 already in the store, 1 repeated in the stream\n');
  const empty = await runBin('sb-dedupe', ['--root', path.join(root, 'nothing-here')], { input });
  t.equal(records(empty.stdout).length, 4, 'an empty store drops only repeats');
});

t.test('bad lines in the middle are reported and skipped; --strict exits 65', async (t) => {
  const input = [JSON.stringify(job('c/db/1')), 'not json', JSON.stringify(job('x/db/2')), JSON.stringify(job('c/db/3')), ''].join('\n');
  const r = await runBin('sb-dedupe', ['--root', tmp()], { input });
  t.equal(r.status, 0);
  t.same(records(r.stdout).map((x) => x['key']), ['c/db/1', 'c/db/3']);
  const err = r.stderr.trim().split('\n');
  t.match(err[0], /^sb-dedupe: stdin:2: not JSON/);
  t.equal(err[1], "sb-dedupe: stdin:3: key 'x/db/2' does not start with the job's cluster 'c/'");
  const strict = await runBin('sb-dedupe', ['--root', tmp(), '--strict'], { input });
  t.equal(strict.status, 65);
});

t.test('no store (the rest of the checklist: test/contract.test.ts)', async (t) => {
  const none = await runBin('sb-dedupe', [], { env: { SB_ROOT: '' } });
  t.equal(none.status, 2);
  t.match(none.stderr, /no store: give --root DIR or set SB_ROOT/);
});

goldenCases('dedupe');

t.test("sb-parse's job lines pass byte for byte; other forms as JSON.stringify prints them; bad lines reported as before", async (t) => {
  const full = (key: string, over: Record<string, unknown> = {}): string => JSON.stringify({
    kind: 'job', cluster: 'c', key, job_id: '1', job_id_raw: '1', db_index: Number(key.split('/')[2]), user: 'alice', uid: null, account: 'a', partition: 'p', qos: 'q',
    state: 'COMPLETED', exit_code: '0:0', failed: false, submit: null, start: null, end: '2024-03-05T11:00:00Z', elapsed_s: 60, timelimit_s: null,
    cpus: 1, nodes: 1, gpus: 0, req_mem_bytes: 0, max_rss_bytes: null, steps: 1, ...over,
  });
  const spaced = '{ "kind": "job", "cluster": "c", "key": "c/db/3", "user": "bob", "end": "2024-03-05T11:00:00Z" }';
  const input = [full('c/db/1'), full('c/db/2', { user: 'zoë' }), spaced, full('c/db/1'), full('c/db/4', { end: '2024-13-05T11:00:00Z' }), '{"kind":"job",'].join('\n') + '\n';
  const r = await runBin('sb-dedupe', ['--root', tmp()], { input });
  t.equal(r.stdout, [full('c/db/1'), full('c/db/2', { user: 'zoë' }), JSON.stringify(JSON.parse(spaced))].join('\n') + '\n');
  t.match(r.stderr, /stdin:5: .*'end' '2024-13-05T11:00:00Z' is not a UTC time/);
  t.match(r.stderr, /stdin:6: not JSON/);
});

t.test('the byte path: job lines read in their bytes come out as the string path prints them, bad lines reported alike', async (t) => {
  const dir = tmp();
  const { a, b, at } = byteLines('c');
  writeFileSync(path.join(dir, 'a'), a);
  writeFileSync(path.join(dir, 'b'), b);
  // stdout as bytes (base64 through the shell: the harness would decode it)
  const run = async (cmd: string): Promise<{ out: Buffer; err: string[] }> => {
    const r = await runShell(`${cmd} | base64 -w0`);
    t.equal(r.status, 0, r.stderr);
    return { out: Buffer.from(r.stdout, 'base64'), err: r.stderr.split('\n').filter((l) => l !== '') };
  };
  const root = path.join(dir, 'store');
  const fromA = await run(`sb-dedupe --root '${root}' '${dir}/a'`);
  const fromB = await run(`sb-dedupe --root '${root}' '${dir}/b'`);
  const piped = await run(`cat '${dir}/a' | sb-dedupe --root '${root}'`);
  t.ok(fromA.out.equals(fromB.out), 'the same bytes out as when every line is parsed');
  t.same(fromA.err, fromB.err.map((l) => l.replace(`${dir}/b`, `${dir}/a`)), 'the same diagnostics, at the same line numbers');
  t.ok(piped.out.equals(fromA.out), 'through a pipe (other chunks) too');
  t.same(piped.err, fromA.err.map((l) => l.replace(`${dir}/a`, 'stdin')));
  t.same(fromA.err, [
    `sb-dedupe: ${dir}/a:${at['not json']}: not JSON: Unexpected end of JSON input`,
    `sb-dedupe: ${dir}/a:${at['non-canonical key']}: key 'c/db/0100' is not canonical (expected c/db/DBINDEX or c/id/JOBIDRAW/SUBMIT, numbers without leading zeros)`,
    `sb-dedupe: ${dir}/a:${at['bad end']}: 'end' '2024-02-30T12:00:00Z' is not a UTC time like 2024-01-01T00:00:00Z`,
  ]);
  t.ok(isUtf8(fromA.out), 'invalid UTF-8 is not passed through: its bytes are U+FFFD, as JSON.parse read them');
  t.notOk(fromA.out.includes(0x0d), 'no CR');
  const lines = fromA.out.toString('utf8').split('\n');
  t.equal(lines.pop(), '', 'every line ends in a newline');
  const inA = a.toString('utf8').split('\n').map((l) => l.replace(/\r$/, ''));
  t.equal(lines.length, inA.length - 6, 'all pass but the three bad lines, the blank one and two repeats (one with an escaped key)');
  t.ok(lines.includes(inA[at['long'] as number - 1] as string), 'a line of 700 KB, over three chunks, passes whole');
  t.ok(lines.includes(inA[at['astral user'] as number - 1] as string));
  t.ok(lines.some((l) => l.includes('"user":"b\ufffdb"')), 'the user with a bad byte, as U+FFFD');
  t.ok(lines.some((l) => l.includes('"key":"c/db/10004"')), 'an escaped key, printed as JSON.stringify prints it');
  t.equal(lines[lines.length - 1], inA[inA.length - 1], 'the last line, with no newline in, has one out');
});

// sb-parse's one serializer (lib/tools/parse/json-writer.ts) writes a job record's line in bytes:
// it must be what encoding JSON.stringify's text gives, byte for byte, for any values, and never
// take more room than it asks for.
import { PassThrough } from 'node:stream';
import t from 'tap';
import { Output } from '../lib/core/cli/output.js';
import type { JobRecord } from '../lib/core/records/job.js';
import { JsonWriter } from '../lib/tools/parse/json-writer.js';
import { JOB_FIELDS, JOB_WRITER, jobLine, jobValues } from '../lib/tools/parse/main.js';
import { random } from './helpers/random.js';

const r = random(20261201);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;

// Pieces of strings: plain ASCII, what JSON escapes, what UTF-8 takes several bytes for, and
// what is no character (lone surrogates, either half alone or the halves the wrong way round).
const PIECES = ['a', 'Z', '0', ' ', '~', '/', 'hammer/db/', '2024-01-01T00:00:00Z', '"', '\\', '\\"', '\u0000', '\u0001', '\b', '\t', '\n', '\f', '\r',
  '\u001f', '\u007f', '\u0080', '\u0085', '\u009f', '\u00a0', 'é', 'ñ', '\u2028', '\u2029', '日本', '\ufeff', '\ufffd', '\uffff', '\ud800', '\udbff',
  '\udc00', '\udfff', '\udc00\ud800', '\u{1f600}', '\u{10ffff}', '\u{1d11e}x'];
const NUMBERS = [0, -0, 1, -1, 7, 9, 10, 99, 100, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), -(2 ** 31) - 1, 2 ** 32, 2 ** 47, 2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 53, 2 ** 53 + 2,
  1e15, 999999999999999, 1e16, 1e21, 1e22, 1.5, -0.5, 0.1, 1e-7, 123.456, Number.MAX_VALUE, Number.MIN_VALUE, -Number.MAX_VALUE, Number.NaN, Infinity, -Infinity];

function randomString(): string {
  const n = pick([0, 1, 2, 3, 5, 8, 20, 60]);
  let s = '';
  for (let i = 0; i < n; i++) s += r() < 0.6 ? String.fromCharCode(0x20 + Math.floor(r() * 95)) : pick(PIECES);
  return s;
}

function randomValue(): unknown {
  const x = r();
  if (x < 0.4) return randomString();
  if (x < 0.55) return pick(NUMBERS);
  if (x < 0.75) return Math.floor(r() * 2 ** (1 + Math.floor(r() * 53))) * (r() < 0.1 ? -1 : 1);
  if (x < 0.85) return null;
  return r() < 0.5;
}

function randomRecord(): Record<string, unknown> {
  return Object.fromEntries(JOB_FIELDS.map((k) => [k, randomValue()]));
}

// The line write() puts down for rec, in a buffer of exactly the room most() asks for, set at an
// odd place among other bytes (which must stay as they were).
function written(w: JsonWriter, rec: Record<string, unknown>): Buffer {
  const values = w.fields.map((k) => rec[k]);
  const most = w.most(values);
  const b = Buffer.alloc(most + 10, 0xee);
  const end = w.write(b.subarray(3, 3 + most), 0, values);
  if (b.subarray(0, 3).some((c) => c !== 0xee) || b.subarray(3 + most).some((c) => c !== 0xee)) throw new Error('wrote outside its room');
  return b.subarray(3, 3 + end);
}

t.test('random records: the bytes of JSON.stringify, within the room asked for', async (t) => {
  let differ = 0;
  let first: string | undefined;
  for (let i = 0; i < 20_000; i++) {
    const rec = randomRecord();
    const want = Buffer.from(JSON.stringify(rec) + '\n');
    const got = written(JOB_WRITER, rec);
    if (!got.equals(want)) {
      differ++;
      first ??= `${JSON.stringify(rec)}: ${JSON.stringify(got.toString('latin1'))}`;
    }
  }
  t.equal(differ, 0, first ?? 'every line the same');
});

t.test('each kind of value alone, and the largest room any value needs', async (t) => {
  const w = new JsonWriter(['a', 'b\u00e9"\n']);
  const values: unknown[] = [...NUMBERS, ...PIECES, null, true, false, '', 'x'.repeat(100_000), '\u0001'.repeat(5000), '\ud800'.repeat(5000), '"\\'.repeat(3000),
    '\u{1f600}'.repeat(3000), '\u0800'.repeat(3000)];
  for (const v of values) {
    for (const u of [0, 'plain', '\u0000']) {
      const rec = { a: v, 'b\u00e9"\n': u };
      t.same(written(w, rec), Buffer.from(JSON.stringify(rec) + '\n'), `${typeof v} ${Buffer.from(String(v).slice(0, 20)).toString('hex')}`);
    }
  }
});

t.test('a value no job line holds is an error, not a line', async (t) => {
  const w = new JsonWriter(['a', 'b']);
  for (const v of [undefined, {}, [1], 1n, Symbol('s'), () => 1]) {
    t.throws(() => w.line([1, v]), { name: 'TypeError', message: "'b' is " }, typeof v);
  }
});

t.test("a job record's line: its values in JOB_FIELDS order, as JSON.stringify prints the record", async (t) => {
  const job: JobRecord = {
    kind: 'job', cluster: 'hammer', key: 'hammer/db/25502416888', job_id: '5499274_7', job_id_raw: '5499274', db_index: 25502416888, user: 'José',
    uid: 20060, account: 'hep', partition: 'cpu', qos: 'high', state: 'COMPLETED', exit_code: '0:0', failed: false, submit: '2023-12-31T22:14:16Z',
    start: null, end: '2023-12-31T23:56:01Z', elapsed_s: 2199, timelimit_s: null, cpus: 8, nodes: 1, gpus: 0, req_mem_bytes: 34359738368,
    max_rss_bytes: 30101504, steps: 2,
  };
  t.same(Object.keys(job), [...JOB_FIELDS]);
  t.same(jobValues(job), Object.values(job));
  t.equal(jobLine(job), JSON.stringify(job));
  t.equal(jobLine({ ...job, user: 'a"b\\c\u0007', max_rss_bytes: null, failed: true }), JSON.stringify({ ...job, user: 'a"b\\c\u0007', max_rss_bytes: null, failed: true }));
});

t.test('Output.put: lines put down in place keep their order among text lines and byte lines', async (t) => {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  const out = new Output(stream);
  const w = new JsonWriter(['n', 's']);
  const src = Buffer.from('x\nbytes one\nbytes two\ny');
  const want: string[] = [];
  for (let i = 0; i < 30_000; i++) {
    const values = [i, 'é'.repeat(i % 50)];
    if (i % 3 === 0) {
      out.line(`text ${i}`);
      want.push(`text ${i}`);
    }
    out.put(w.most(values), w, values);
    want.push(JSON.stringify({ n: i, s: values[1] }));
    if (i % 7 === 0) {
      out.bytes(src, 2, 11);
      out.bytes(src, 12, 21);
      want.push('bytes one', 'bytes two');
    }
    if (i % 1000 === 0) await out.drain();
  }
  await out.flush();
  t.equal(Buffer.concat(chunks).toString('utf8'), want.join('\n') + '\n');
});

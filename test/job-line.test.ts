// The fast reader of sb-parse's job lines (lib/core/records/job-line.ts), which reads a line in
// its bytes: whatever it reads, it reads as JSON.parse of the decoded line does, and the line is
// what JSON.stringify prints; whatever it cannot be sure of, it leaves to JSON.parse.
import { isUtf8 } from 'node:buffer';
import t from 'tap';
import { JOB_LINE_FIELDS, JobLineReader, fieldIndex } from '../lib/core/records/job-line.js';
import { JOB_FIELDS } from '../lib/tools/parse/main.js';

const base = {
  kind: 'job', cluster: 'hammer', key: 'hammer/db/100', job_id: '4242_7', job_id_raw: '4249', db_index: 100, user: 'alice', uid: 1001,
  account: 'phys', partition: 'gpu', qos: 'normal', state: 'COMPLETED', exit_code: '0:0', failed: false,
  submit: '2024-03-05T09:00:00Z', start: '2024-03-05T10:00:00Z', end: '2024-03-05T11:00:00Z', elapsed_s: 3600, timelimit_s: 7200,
  cpus: 4, nodes: 1, gpus: 2, req_mem_bytes: 4 * 1024 ** 3, max_rss_bytes: 1024 ** 3, steps: 2,
};
const READ = ['kind', 'cluster', 'key', 'user', 'account', 'state', 'failed', 'end', 'elapsed_s', 'cpus', 'nodes', 'gpus', 'req_mem_bytes', 'max_rss_bytes'];
const pick = (o: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(READ.map((k) => [k, o[k]]));
const reader = new JobLineReader();

// The fields read of `line` (bytes or text) set in a larger buffer, between other bytes, or
// undefined when the reader leaves it.
function read(line: string | Buffer): Record<string, unknown> | undefined {
  const bytes = typeof line === 'string' ? Buffer.from(line) : line;
  const b = Buffer.concat([Buffer.from('{"kind":"job"}\n'), bytes, Buffer.from('\n{"kind":"job"')]);
  const start = 15;
  if (!reader.read(b, start, start + bytes.length)) return undefined;
  return { ...reader.fields(b) };
}

t.test("sb-parse's field order is the one the reader expects", async (t) => {
  t.same(Object.keys(base), [...JOB_FIELDS]);
  t.same(JOB_LINE_FIELDS, [...JOB_FIELDS]);
});

t.test('a line in the exact form: the values JSON.parse gives, and the line is what JSON.stringify prints', async (t) => {
  const cases: Array<Record<string, unknown>> = [
    base,
    { ...base, db_index: null, key: 'hammer/id/4249/1709629200', uid: null, submit: null, start: null, timelimit_s: null, max_rss_bytes: null },
    { ...base, failed: true, state: 'OUT_OF_MEMORY', user: 'José Ñ', account: '', gpus: 0, max_rss_bytes: 0 },
    { ...base, user: 'a\u007fb\u0085c\u2028', req_mem_bytes: 999999999999999, elapsed_s: 0 },
    { ...base, user: '😀', account: '日本' }, // astral and other valid UTF-8: read in the bytes
  ];
  cases.forEach((rec, i) => {
    const line = JSON.stringify(rec);
    // (no line in the message: U+0085 and U+2028 would break the TAP report)
    t.same(read(line), pick(JSON.parse(line) as Record<string, unknown>), `case ${i}`);
    t.equal(JSON.stringify(JSON.parse(line)), line);
  });
  // where the values are
  const b = Buffer.from(JSON.stringify(base));
  t.ok(reader.read(b, 0, b.length));
  const at = (name: (typeof JOB_LINE_FIELDS)[number]): string => {
    const f = fieldIndex(name);
    return reader.at[2 * f] === -1 ? 'null' : b.toString('utf8', reader.at[2 * f], reader.at[2 * f + 1]);
  };
  t.same(JOB_LINE_FIELDS.map(at), JOB_LINE_FIELDS.map((k) => String((base as Record<string, unknown>)[k])));
  t.equal(reader.text(b, fieldIndex('submit')), '2024-03-05T09:00:00Z');
  t.equal(reader.number(b, fieldIndex('uid')), 1001);
  t.ok(reader.plain(b, fieldIndex('user')));
  t.ok(reader.equals(b, fieldIndex('cluster'), Buffer.from('hammer')));
  t.notOk(reader.equals(b, fieldIndex('cluster'), Buffer.from('hamme')));
  const nulls = Buffer.from(JSON.stringify({ ...base, uid: null, submit: null }));
  t.ok(reader.read(nulls, 0, nulls.length));
  t.equal(reader.number(nulls, fieldIndex('uid')), null);
  t.equal(reader.text(nulls, fieldIndex('submit')), undefined);
});

// The base line with the user's name made of these bytes.
function userBytes(bytes: number[]): Buffer {
  const [head, tail] = JSON.stringify(base).split('"user":"alice"') as [string, string];
  return Buffer.concat([Buffer.from(`${head}"user":"`), Buffer.from(bytes), Buffer.from(`"${tail}`)]);
}

t.test('anything else is left to JSON.parse (not read), valid JSON or not', async (t) => {
  const line = JSON.stringify(base);
  const others: Array<string | Buffer> = [
    line.replace('{"kind":"job",', '{ "kind":"job",'), // whitespace
    line.replace('"user":"alice"', '"user":"al\\u0069ce"'), // an escape
    line.replace('"user":"alice"', '"user":"al\\"ice"'),
    line.replace('"user":"alice"', '"user":"al\tice"'), // a raw control character: not JSON
    line.replace('"elapsed_s":3600', '"elapsed_s":-1'),
    line.replace('"elapsed_s":3600', '"elapsed_s":3600.0'),
    line.replace('"elapsed_s":3600', '"elapsed_s":3.6e3'),
    line.replace('"elapsed_s":3600', '"elapsed_s":03600'),
    line.replace('"elapsed_s":3600', '"elapsed_s":"3600"'),
    line.replace('"req_mem_bytes":4294967296', '"req_mem_bytes":1000000000000000'), // 16 digits
    line.replace('"failed":false', '"failed":0'),
    line.replace('"failed":false', '"failed":fals'),
    line.replace('"uid":1001', '"uid":nul'),
    line.replace('"submit":"2024-03-05T09:00:00Z"', '"submit":nulll'),
    line.replace('"steps":2}', '"steps":2,"extra":1}'), // a field more
    line.replace('"steps":2}', '"steps":2}x'),
    line.replace('"steps":2}', '"steps":2'),
    line.replace('"steps":2}', '"steps":2}}'),
    line.replace(',"qos":"normal"', ''), // a field less
    line.replace('"cluster":"hammer","key":"hammer/db/100"', '"key":"hammer/db/100","cluster":"hammer"'), // order
    line.replace('"uid":1001', '"uid":1001,"uid":7'),
    line.replace('"kind":"job"', '"kind":"jab"'),
    line.replace('"user":"alice"', '"User":"alice"'),
    `${line} `,
    `${line}\r`, // (the loop takes the '\r' of a CRLF off; a reader given it leaves the line)
    `\ufeff${line}`, // a byte order mark
    '{"kind":"chunk-done","cluster":"hammer"}',
    '',
    line.slice(0, -1),
    line.slice(0, 100),
    // not valid UTF-8: decoded, the bad bytes are U+FFFD, as on the full path
    userBytes([0x61, 0xc3, 0x28]), // a lead byte without its continuation
    userBytes([0x61, 0xc3]),
    userBytes([0xa9]), // a continuation byte alone
    userBytes([0xff]),
    userBytes([0xed, 0xa0, 0x80]), // a surrogate in UTF-8
    userBytes([0xc0, 0xaf]), // an overlong '/'
    userBytes([0xf4, 0x90, 0x80, 0x80]), // past U+10FFFF
  ];
  others.forEach((o, i) => t.equal(read(o), undefined, `case ${i}`));
});

t.test('random mutations, of bytes too: the reader never disagrees with JSON.parse', async (t) => {
  let seed = 7;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const alphabet = Buffer.from('{}[]":,\\0123456789-.eEnulltruefalse aZ\u0000\u001f\u00e9\u{1f600}');
  const line = Buffer.from(JSON.stringify({ ...base, user: 'ali\u00e9e' }));
  let read = 0;
  let wide = 0;
  for (let i = 0; i < 20000; i++) {
    let s = line;
    for (let k = 1 + rand(3); k > 0; k--) {
      const at = rand(s.length);
      const op = rand(4);
      // a byte of the alphabet (a piece of a UTF-8 sequence, at times), or any byte
      const c = Buffer.from([op === 3 ? rand(256) : (alphabet[rand(alphabet.length)] as number)]);
      s = op === 0 ? Buffer.concat([s.subarray(0, at), s.subarray(at + 1)]) : op === 1 ? Buffer.concat([s.subarray(0, at), c, s.subarray(at)]) : Buffer.concat([s.subarray(0, at), c, s.subarray(at + 1)]);
    }
    const got = reader.read(s, 0, s.length) ? { ...reader.fields(s) } : undefined;
    if (got === undefined) continue;
    read++;
    if (s.some((x) => x > 127)) wide++;
    if (!isUtf8(s)) {
      t.fail(`read a line that is not UTF-8: ${s.toString('hex')}`);
      continue;
    }
    const text = s.toString('utf8');
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(text) as Record<string, unknown>;
    } catch {
      t.fail(`read a line that is not JSON: ${JSON.stringify(text)}`);
      continue;
    }
    if (JSON.stringify(pick(parsed)) !== JSON.stringify(got) || JSON.stringify(parsed) !== text) t.fail(`disagrees with JSON.parse: ${JSON.stringify(text)}`);
  }
  t.ok(read > 100, `${read} mutated lines were still read fast (${wide} not ASCII), each as JSON.parse reads it`);
});

t.test('readTo: a line in the exact form is found to its end, before a newline, a CR LF or the limit; never past one', async (t) => {
  const good = JSON.stringify(base);
  const lines = [good, good.slice(0, -1), good + ' ', good + '\r', good + '\r\r', `${good.slice(0, 30)}\n${good.slice(30)}`, good + 'x', good];
  const b = Buffer.from(lines.join('\n'));
  const got: number[] = [];
  for (let pos = 0; pos < b.length; ) {
    const nl = b.indexOf(10, pos) < 0 ? b.length : b.indexOf(10, pos);
    const end = reader.readTo(b, pos, b.length);
    got.push(end < 0 ? -1 : end === nl || (end === nl - 1 && b[end] === 13) ? 1 : 0);
    pos = nl + 1;
  }
  // each line in turn, the halves of the one cut by a newline apart, the last without a newline
  t.same(got, [1, -1, -1, 1, -1, -1, -1, -1, 1]);
  t.equal(reader.readTo(b, 0, good.length - 1), -1, 'the limit inside the line');
});

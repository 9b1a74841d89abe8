// The fast reader of sb-parse's job lines (lib/core/records/job-line.ts): whatever it reads, it
// reads as JSON.parse does; whatever it cannot be sure of, it leaves to JSON.parse.
import t from 'tap';
import { readJobKey, readJobLine } from '../lib/core/records/job-line.js';
import { JOB_FIELDS } from '../lib/tools/parse.js';

const base = {
  kind: 'job', cluster: 'hammer', key: 'hammer/db/100', job_id: '4242_7', job_id_raw: '4249', db_index: 100, user: 'alice', uid: 1001,
  account: 'phys', partition: 'gpu', qos: 'normal', state: 'COMPLETED', exit_code: '0:0', failed: false,
  submit: '2024-03-05T09:00:00Z', start: '2024-03-05T10:00:00Z', end: '2024-03-05T11:00:00Z', elapsed_s: 3600, timelimit_s: 7200,
  cpus: 4, nodes: 1, gpus: 2, req_mem_bytes: 4 * 1024 ** 3, max_rss_bytes: 1024 ** 3, steps: 2,
};
const READ = ['kind', 'cluster', 'key', 'user', 'account', 'state', 'failed', 'end', 'elapsed_s', 'cpus', 'nodes', 'gpus', 'req_mem_bytes', 'max_rss_bytes'];
const pick = (o: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(READ.map((k) => [k, o[k]]));

t.test("sb-parse's field order is the one the reader expects", async (t) => {
  t.same(Object.keys(base), [...JOB_FIELDS]);
});

t.test('a line in the exact form: the values JSON.parse gives, and the line is what JSON.stringify prints', async (t) => {
  const cases: Array<Record<string, unknown>> = [
    base,
    { ...base, db_index: null, key: 'hammer/id/4249/1709629200', uid: null, submit: null, start: null, timelimit_s: null, max_rss_bytes: null },
    { ...base, failed: true, state: 'OUT_OF_MEMORY', user: 'José Ñ', account: '', gpus: 0, max_rss_bytes: 0 },
    { ...base, user: 'a\u007fb\u0085c\u2028', req_mem_bytes: 999999999999999, elapsed_s: 0 },
  ];
  cases.forEach((rec, i) => {
    const line = JSON.stringify(rec);
    const got = readJobLine(line);
    // (no line in the message: U+0085 and U+2028 would break the TAP report)
    t.same(got, pick(JSON.parse(line) as Record<string, unknown>), `case ${i}`);
    t.equal(JSON.stringify(JSON.parse(line)), line);
    t.same(readJobKey(line), { kind: 'job', cluster: rec['cluster'], key: rec['key'], end: rec['end'] });
  });
});

t.test('anything else is left to JSON.parse (undefined), valid JSON or not', async (t) => {
  const line = JSON.stringify(base);
  const others = [
    line.replace('{"kind":"job",', '{ "kind":"job",'), // whitespace
    line.replace('"user":"alice"', '"user":"al\\u0069ce"'), // an escape
    line.replace('"user":"alice"', '"user":"al\\"ice"'),
    line.replace('"user":"alice"', '"user":"al\tice"'), // a raw control character: not JSON
    line.replace('"user":"alice"', '"user":"😀"'), // astral: left to the full parse
    line.replace('"elapsed_s":3600', '"elapsed_s":-1'),
    line.replace('"elapsed_s":3600', '"elapsed_s":3600.0'),
    line.replace('"elapsed_s":3600', '"elapsed_s":3.6e3'),
    line.replace('"elapsed_s":3600', '"elapsed_s":03600'),
    line.replace('"elapsed_s":3600', '"elapsed_s":"3600"'),
    line.replace('"req_mem_bytes":4294967296', '"req_mem_bytes":1000000000000000'), // 16 digits
    line.replace('"failed":false', '"failed":0'),
    line.replace('"steps":2}', '"steps":2,"extra":1}'), // a field more
    line.replace('"steps":2}', '"steps":2}x'),
    line.replace('"steps":2}', '"steps":2'),
    line.replace(',"qos":"normal"', ''), // a field less
    line.replace('"cluster":"hammer","key":"hammer/db/100"', '"key":"hammer/db/100","cluster":"hammer"'), // order
    line.replace('"uid":1001', '"uid":1001,"uid":7'),
    `${line} `,
    '{"kind":"chunk-done","cluster":"hammer"}',
  ];
  others.forEach((o, i) => t.equal(readJobLine(o), undefined, `case ${i}`) && t.equal(readJobKey(o), undefined, `case ${i}, key only`));
});

t.test('random mutations: the reader never disagrees with JSON.parse', async (t) => {
  let seed = 7;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const alphabet = '{}[]":,\\0123456789-.eEnulltruefalse aZ\u0000\u001f\u00e9\ud83d';
  const line = JSON.stringify(base);
  let read = 0;
  for (let i = 0; i < 20000; i++) {
    let s = line;
    for (let k = 1 + rand(3); k > 0; k--) {
      const at = rand(s.length);
      const op = rand(3);
      const c = alphabet[rand(alphabet.length)] as string;
      s = op === 0 ? s.slice(0, at) + s.slice(at + 1) : op === 1 ? s.slice(0, at) + c + s.slice(at) : s.slice(0, at) + c + s.slice(at + 1);
    }
    const got = readJobLine(s);
    if ((readJobKey(s) === undefined) !== (got === undefined)) t.fail(`the two readers disagree: ${JSON.stringify(s)}`);
    if (got === undefined) continue;
    read++;
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(s) as Record<string, unknown>;
    } catch {
      t.fail(`read a line that is not JSON: ${JSON.stringify(s)}`);
      continue;
    }
    if (JSON.stringify(pick(parsed)) !== JSON.stringify(got) || JSON.stringify(parsed) !== s) t.fail(`disagrees with JSON.parse: ${JSON.stringify(s)}`);
  }
  t.ok(read > 100, `${read} mutated lines were still read fast, each as JSON.parse reads it`);
});

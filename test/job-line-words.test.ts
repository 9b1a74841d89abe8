// The job-line reader scans a string's content four bytes at a time: a byte that ends the plain
// run (a quote, a backslash, a control character, one past 127) must stop it wherever it falls
// in its word, and whatever the line's place in the buffer.
import t from 'tap';
import { JobLineReader, fieldIndex } from '../lib/core/records/job-line.js';

const base = {
  kind: 'job', cluster: 'hammer', key: 'hammer/db/100', job_id: '4242_7', job_id_raw: '4249', db_index: 100, user: 'alice', uid: 1001,
  account: 'phys', partition: 'gpu', qos: 'normal', state: 'COMPLETED', exit_code: '0:0', failed: false,
  submit: '2024-03-05T09:00:00Z', start: '2024-03-05T10:00:00Z', end: '2024-03-05T11:00:00Z', elapsed_s: 3600, timelimit_s: 7200,
  cpus: 4, nodes: 1, gpus: 2, req_mem_bytes: 4 * 1024 ** 3, max_rss_bytes: 1024 ** 3, steps: 2,
};
const reader = new JobLineReader();
const USER = fieldIndex('user');

// Whether the reader reads the line (set `pad` bytes into a buffer), and the user it reads.
function read(line: Buffer, pad: number): string | undefined {
  const b = Buffer.concat([Buffer.alloc(pad, 0x20), line, Buffer.from('\n')]);
  return reader.read(b, pad, pad + line.length) ? reader.text(b, USER) : undefined;
}

// A job line whose user is `user` (raw bytes: not escaped, valid JSON or not).
function lineWith(user: Buffer): Buffer {
  const [head, tail] = JSON.stringify({ ...base, user: '\u0000' }).split('\\u0000') as [string, string];
  return Buffer.concat([Buffer.from(head), user, Buffer.from(tail)]);
}

t.test('each byte that ends a plain run, at every place in a long name and every alignment', async (t) => {
  const plain = 'abcdefghijklmnopqrstuvwxyz0123456789';
  // a control character, the quote, the backslash, DEL (plain), a byte past 127 (not UTF-8 alone)
  const cases: Array<[number, 'left' | 'read']> = [[0x00, 'left'], [0x09, 'left'], [0x1f, 'left'], [0x22, 'left'], [0x5c, 'left'], [0x7f, 'read'], [0x20, 'read'], [0x80, 'left'], [0xff, 'left']];
  let checked = 0;
  for (const [byte, want] of cases) {
    for (let at = 0; at < plain.length; at++) {
      const user = Buffer.from(plain);
      user[at] = byte;
      for (let pad = 0; pad < 4; pad++) {
        const got = read(lineWith(user), pad);
        const expect = want === 'read' ? user.toString('latin1') : undefined;
        if (got !== expect) t.fail(`byte ${byte} at ${at}, pad ${pad}: ${JSON.stringify(got)}`);
        checked++;
      }
    }
  }
  // and names of every length up to two words and more, plain or with a UTF-8 letter
  for (let n = 1; n <= 12; n++) {
    for (let pad = 0; pad < 4; pad++) {
      const name = plain.slice(0, n);
      if (read(lineWith(Buffer.from(name)), pad) !== name) t.fail(`'${name}', pad ${pad}`);
      const wide = `${name.slice(0, -1)}é`;
      if (read(lineWith(Buffer.from(wide)), pad) !== wide) t.fail(`'${wide}', pad ${pad}`);
      checked += 2;
    }
  }
  t.ok(checked > 1000, `${checked} lines, each read or left as it must be`);
});

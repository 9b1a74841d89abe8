// An input for the byte path of sb-dedupe and sb-reduce (job lines read in their bytes, the rest
// decoded and parsed): thousands of job lines in sb-parse's exact form, over two of the 1 MiB
// chunks a file is read in (so lines straddle chunk ends), mixed with every kind of line
// the byte path must leave to the string path or read in pieces. `a` is that input; `b` the
// same with each exact-form job line put out of the exact form (a space after its '{'), so that
// every line takes the string path: a tool must answer both alike.
export interface ByteLines {
  a: Buffer;
  b: Buffer;
  // the 1-based line number of each named line of the input
  at: Record<string, number>;
}

export function byteLines(cluster: string): ByteLines {
  const job = (i: number, over: Record<string, unknown> = {}): Record<string, unknown> => ({
    kind: 'job', cluster, key: `${cluster}/db/${i}`, job_id: String(5000 + i), job_id_raw: String(5000 + i), db_index: i, user: `u${i % 7}`, uid: 1000 + (i % 7),
    account: `acct${i % 3}`, partition: 'cpu', qos: 'normal', state: i % 5 === 0 ? 'FAILED' : 'COMPLETED', exit_code: '0:0', failed: i % 5 === 0,
    submit: '2024-03-01T00:00:00Z', start: '2024-03-01T00:00:00Z', end: `2024-0${3 + (i % 2)}-${String(1 + (i % 28)).padStart(2, '0')}T12:00:00Z`,
    elapsed_s: 60 + i, timelimit_s: null, cpus: 1 + (i % 4), nodes: 1, gpus: i % 2, req_mem_bytes: 1 << 20, max_rss_bytes: i % 3 === 0 ? null : 1 << 19, steps: 1, ...over,
  });
  const text = (rec: Record<string, unknown>): Buffer => Buffer.from(JSON.stringify(rec));
  // the line of job i with the bytes of its user (or partition) replaced
  const withBytes = (rec: Record<string, unknown>, field: string, bytes: number[]): Buffer => {
    const [head, tail] = JSON.stringify({ ...rec, [field]: '\u0000' }).split('\\u0000') as [string, string];
    return Buffer.concat([Buffer.from(head), Buffer.from(bytes), Buffer.from(tail)]);
  };
  const lines: Array<[string, Buffer, boolean]> = [];
  const add = (name: string, line: Buffer, exact = false): void => {
    lines.push([name, line, exact]);
  };
  for (let i = 1; i <= 3000; i++) {
    add(`job ${i}`, text(job(i)), true);
    if (i === 10) add('crlf', Buffer.concat([text(job(10_001)), Buffer.from('\r')]), true);
    if (i === 20) add('bad utf-8 user', withBytes(job(10_002), 'user', [0x62, 0xff, 0x62]));
    if (i === 30) add('bad utf-8 partition', withBytes(job(10_003), 'partition', [0x63, 0xc3, 0x28, 0x75]));
    if (i === 40) add('escaped key', Buffer.from(JSON.stringify(job(5)).replace(`"${cluster}/db/5"`, `"${cluster}\\/db\\/5"`)));
    if (i === 50) add('escaped new key', Buffer.from(JSON.stringify(job(10_004)).replace(`"${cluster}/db/10004"`, `"${cluster}\\u002fdb/10004"`)));
    if (i === 60) add('spaced', Buffer.from(JSON.stringify(job(10_005), null, 1).replace(/\n/g, '')));
    if (i === 70) add('not json', Buffer.from(`{"kind":"job","cluster":"${cluster}","key":`));
    if (i === 80) add('blank', Buffer.from('   '));
    if (i === 90) add('long', text(job(10_006, { partition: 'p'.repeat(700_000) })), true);
    if (i === 100) add('astral user', text(job(10_007, { user: 'j\u{1f600}' })), true);
    if (i === 110) add('accented user', text(job(10_008, { user: 'José', account: 'física' })), true);
    if (i === 120) add('DEL in user', text(job(10_009, { user: 'a\u007fb' })), true);
    if (i === 130) add('too many cpus', text(job(10_010, { cpus: 2 ** 24 + 1 })), true);
    if (i === 140) add('repeat', text(job(7)), true);
    if (i === 150) add('other kind', Buffer.from(`{"kind":"note","cluster":"${cluster}","text":"kept"}`));
    if (i === 160) add('id key', text(job(10_011, { db_index: null, key: `${cluster}/id/4711/1709251200` })), true);
    if (i === 170) add('id key, huge', text(job(10_012, { db_index: null, key: `${cluster}/id/99999999999/1709251200` })), true);
    if (i === 180) add('non-canonical key', text(job(10_013, { key: `${cluster}/db/0100` })), true);
    if (i === 190) add('bad end', text(job(10_014, { end: '2024-02-30T12:00:00Z' })), true);
    if (i === 200) add('other cluster', text(job(10_015, { cluster: `${cluster}2`, key: `${cluster}2/db/1` })), true);
    if (i === 210) add('empty user', text(job(10_016, { user: '' })), true);
  }
  add('last, no newline', text(job(10_017)), true);
  const at: Record<string, number> = {};
  lines.forEach(([name], i) => (at[name] = i + 1));
  const join = (ls: Buffer[]): Buffer => Buffer.concat(ls.flatMap((l, i) => (i < ls.length - 1 ? [l, Buffer.from('\n')] : [l])));
  const a = join(lines.map(([, l]) => l));
  const b = join(lines.map(([, l, exact]) => (exact ? Buffer.concat([Buffer.from('{ '), l.subarray(1)]) : l)));
  return { a, b, at };
}

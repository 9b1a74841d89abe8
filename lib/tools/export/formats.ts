import { SbError } from '../../core/cli/errors.js';
import type { parquetWriteBuffer as WriteBuffer } from 'hyparquet-writer';
import type { Row } from './table.js';

type Schema = NonNullable<Parameters<typeof WriteBuffer>[0]['schema']>;

export type Format = 'parquet' | 'csv' | 'ndjson';
export const FORMATS: readonly Format[] = ['parquet', 'csv', 'ndjson'];
export const EXTENSION: Record<Format, string> = { parquet: 'parquet', csv: 'csv', ndjson: 'ndjson' };
export const COLUMNS = ['cluster', 'day', 'user', 'account', 'metric', 'value'] as const;

// DECIMAL(38,0) holds every value below 10^38: byte-seconds pass 2^63 (INT64) long before that.
export const VALUE_LIMIT = 10n ** 38n;

// NDJSON: one row a line; value a decimal string, exact in every JSON reader (a number past
// 2^53 is not, in JavaScript's and most others).
export function ndjsonText(rows: readonly Row[]): string {
  const quoted = new Map<string, string>();
  const q = (v: string | null): string => {
    if (v === null) return 'null';
    let j = quoted.get(v);
    if (j === undefined) quoted.set(v, (j = JSON.stringify(v)));
    return j;
  };
  let out = '';
  for (const r of rows) {
    out += `{"cluster":${q(r.cluster)},"day":"${r.day}","user":${q(r.user)},"account":${q(r.account)},"metric":"${r.metric}","value":"${r.value}"}\n`;
  }
  return out;
}

// RFC 4180 CSV with a header line. A null is an empty field, an empty name a quoted one ("").
export function csvText(rows: readonly Row[]): string {
  let out = COLUMNS.join(',') + '\r\n';
  for (const r of rows) out += `${csvField(r.cluster)},${r.day},${csvField(r.user)},${csvField(r.account)},${r.metric},${r.value}\r\n`;
  return out;
}

function csvField(v: string | null): string {
  if (v === null) return '';
  return v === '' || /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

const DAY_MS = 86_400_000;

// Parquet: day a DATE, value DECIMAL(38,0) (exact and summed exactly by DuckDB, Spark, pandas'
// pyarrow), user and account optional (null as above). hyparquet-writer is loaded only here.
export async function parquetBytes(rows: readonly Row[], createdBy: string, file: string): Promise<Uint8Array> {
  const big = rows.find((r) => r.value >= VALUE_LIMIT);
  if (big !== undefined) throw new SbError(`${file}: ${big.metric} of '${big.user ?? '(opted out)'}' on ${big.day} is ${big.value}, past what Parquet's DECIMAL(38,0) holds`);
  const { parquetWriteBuffer } = await import('hyparquet-writer');
  const n = rows.length;
  const cluster = new Array<string>(n);
  const day = new Int32Array(n);
  const user = new Array<string | null>(n);
  const account = new Array<string | null>(n);
  const metric = new Array<string>(n);
  const value = new Array<bigint>(n);
  rows.forEach((r, i) => {
    cluster[i] = r.cluster;
    day[i] = Date.parse(r.day + 'T00:00:00Z') / DAY_MS;
    user[i] = r.user;
    account[i] = r.account;
    metric[i] = r.metric;
    value[i] = r.value;
  });
  const str = (name: string, optional: boolean): Schema[number] => ({ name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: optional ? 'OPTIONAL' : 'REQUIRED' });
  const schema: Schema = [
    { name: 'root', num_children: COLUMNS.length },
    str('cluster', false),
    { name: 'day', type: 'INT32', converted_type: 'DATE', repetition_type: 'REQUIRED' },
    str('user', true),
    str('account', true),
    str('metric', false),
    { name: 'value', type: 'FIXED_LEN_BYTE_ARRAY', type_length: 16, converted_type: 'DECIMAL', precision: 38, scale: 0, repetition_type: 'REQUIRED' },
  ];
  const buf = parquetWriteBuffer({
    columnData: [
      { name: 'cluster', data: cluster },
      { name: 'day', data: day },
      { name: 'user', data: user },
      { name: 'account', data: account },
      { name: 'metric', data: metric },
      { name: 'value', data: value },
    ],
    schema,
    createdBy,
  });
  return new Uint8Array(buf);
}

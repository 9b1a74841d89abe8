import { SbError } from '../../core/cli/errors.js';
import type { AccountCover } from './table.js';
import { COLUMNS, FORMATS, type Format } from './formats.js';

export const MANIFEST_SCHEMA = 1;

// One file of a partition: where (relative to the export directory), its size and digest,
// its rows, and the digest of what it was made from (the daily file and the opt-outs).
export interface FileEntry {
  path: string;
  rows: number;
  bytes: number;
  sha256: string;
  source: string;
}

export interface MonthEntry {
  accounts: AccountCover;
  files: Partial<Record<Format, FileEntry>>;
}

export interface ClusterEntry {
  watermark: string | null;
  months: Record<string, MonthEntry>;
}

export interface Manifest {
  clusters: Record<string, ClusterEntry>;
  updated: string;
}

// manifest.json: keys in a fixed order, months and clusters sorted, so that equal content is
// equal text.
export function formatManifest(m: Manifest): string {
  const clusters: Record<string, unknown> = {};
  for (const c of Object.keys(m.clusters).sort()) {
    const e = m.clusters[c] as ClusterEntry;
    const months: Record<string, unknown> = {};
    for (const month of Object.keys(e.months).sort()) {
      const me = e.months[month] as MonthEntry;
      const files: Record<string, unknown> = {};
      for (const f of FORMATS) {
        const fe = me.files[f];
        if (fe !== undefined) files[f] = { path: fe.path, rows: fe.rows, bytes: fe.bytes, sha256: fe.sha256, source: fe.source };
      }
      months[month] = { accounts: me.accounts, files };
    }
    clusters[c] = { watermark: e.watermark, months };
  }
  return JSON.stringify({ schema_version: MANIFEST_SCHEMA, columns: COLUMNS, clusters, updated: m.updated }, null, 1) + '\n';
}

// The manifest's text without 'updated': what decides whether it changed.
export function manifestBody(m: Manifest): string {
  return formatManifest({ ...m, updated: '' });
}

const HEX64 = /^[0-9a-f]{64}$/;

export function parseManifest(text: string, file: string): Manifest {
  const bad = (what: string): never => {
    throw new SbError(`${file}: ${what}; not a manifest sb-export wrote (move it away to start afresh)`);
  };
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    return bad(`not JSON (${(err as Error).message})`);
  }
  if (doc === null || typeof doc !== 'object' || doc['schema_version'] !== MANIFEST_SCHEMA) bad(`not schema_version ${MANIFEST_SCHEMA}`);
  const obj = (v: unknown, where: string): Record<string, unknown> =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : bad(`${where} is not an object`);
  const clusters: Record<string, ClusterEntry> = {};
  for (const [c, ce] of Object.entries(obj(doc['clusters'], 'clusters'))) {
    const e = obj(ce, `clusters.${c}`);
    const months: Record<string, MonthEntry> = {};
    for (const [month, me] of Object.entries(obj(e['months'], `clusters.${c}.months`))) {
      const m = obj(me, `clusters.${c}.months.${month}`);
      const accounts = m['accounts'];
      if (accounts !== 'complete' && accounts !== 'partial' && accounts !== 'absent') bad(`clusters.${c}.months.${month}.accounts is not complete, partial or absent`);
      const files: Partial<Record<Format, FileEntry>> = {};
      for (const [f, fe] of Object.entries(obj(m['files'], `clusters.${c}.months.${month}.files`))) {
        const x = obj(fe, `clusters.${c}.months.${month}.files.${f}`);
        if (!FORMATS.includes(f as Format) || typeof x['path'] !== 'string' || typeof x['rows'] !== 'number' || typeof x['bytes'] !== 'number' || typeof x['sha256'] !== 'string' || !HEX64.test(x['sha256']) || typeof x['source'] !== 'string') {
          bad(`clusters.${c}.months.${month}.files.${f} is not a file entry`);
        }
        files[f as Format] = { path: x['path'] as string, rows: x['rows'] as number, bytes: x['bytes'] as number, sha256: x['sha256'] as string, source: x['source'] as string };
      }
      months[month] = { accounts: accounts as AccountCover, files };
    }
    const w = e['watermark'];
    if (w !== null && typeof w !== 'string') bad(`clusters.${c}.watermark is not a time`);
    clusters[c] = { watermark: w as string | null, months };
  }
  return { clusters, updated: typeof doc['updated'] === 'string' ? doc['updated'] : '' };
}

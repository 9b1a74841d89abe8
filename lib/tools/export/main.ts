// sb-export's work, loaded only once the command line asks for more than --help or --version:
// the month tables, their formats (Parquet among them), the manifest and the Prometheus page.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { type Context, maxOperands, optInt, optList, optNumber, optString, version } from '../../core/cli/run.js';
import { tool } from '../export.js';
import { SbError, UsageError } from '../../core/cli/errors.js';
import { isClusterName, notClusterName } from '../../core/records/cluster.js';
import { homeDirs, homeOptouts, readOptoutList } from '../../core/scores/optout.js';
import { readIfExists, removeStaleTemps, writeFilesAtomic, type FileText } from '../../core/store/atomic.js';
import { ledgerPath, readLedger } from '../../core/store/chunk-ledger.js';
import { acquireLock, describeOwner } from '../../core/store/lock.js';
import { listClusters } from '../../core/store/rollup-read.js';
import { storeRoot } from '../../core/store/store.js';
import { EXTENSION, FORMATS, csvText, ndjsonText, parquetBytes, type Format } from './formats.js';
import { formatManifest, manifestBody, parseManifest, type ClusterEntry, type FileEntry, type Manifest } from './manifest.js';
import { currentBoards, exposition, readBoards } from './prometheus.js';
import { monthTable, settledMonths, watermark, type MonthTable } from './table.js';
import { parseDailyFile } from '../../core/store/rollup-files.js';

// Bumped when the same rollups would give other file contents: every partition is made again.
const TABLE_VERSION = '1';

export async function main({ args, io, report, out }: Context): Promise<void> {
  maxOperands(args, 0);
  const root = storeRoot(optString(args, 'root'), io.env);
  if (root === undefined) throw new UsageError('no store: give --root DIR or set SB_ROOT');
  const outDir = optString(args, 'out');
  const promFile = optString(args, 'prometheus');
  if (outDir === undefined && promFile === undefined) throw new UsageError('nothing to do: give --out DIR, --prometheus FILE, or both');
  const formats = [...new Set(optList(args, 'format') ?? ['parquet'])].map(checkFormat);
  const given = optList(args, 'cluster')?.map(checkCluster);
  const top = optInt(args, 'top', 10);
  const waitMs = optNumber(args, 'wait', 60) * 1000;
  const staleMs = optNumber(args, 'stale', 60) * 1000;
  const verbose = args['verbose'] === true;
  const clusters = listClusters(root);
  for (const c of given ?? []) if (!clusters.includes(c)) throw new SbError(`no cluster '${c}' in '${path.join(root, 'clusters')}'`);
  const optouts = new OptOuts(root, io.env);

  if (outDir !== undefined) {
    mkdirSync(outDir, { recursive: true });
    const lockPath = path.join(outDir, '.lock');
    const lock = await acquireLock(lockPath, {
      tool: tool.name,
      what: `the export lock (${lockPath})`,
      waitMs,
      staleMs,
      onBreak: (o, why) => report.warn(`broke the export lock of ${describeOwner(o)}: ${why}`),
    });
    try {
      const manifestFile = path.join(outDir, 'manifest.json');
      const oldText = readIfExists(manifestFile)?.toString('utf8');
      const old: Manifest = oldText === undefined ? { clusters: {}, updated: '' } : parseManifest(oldText, manifestFile);
      const next: Manifest = { clusters: { ...old.clusters }, updated: old.updated };
      const tally = { written: 0, kept: 0, months: 0, pending: [] as string[] };
      for (const cluster of given ?? clusters) {
        const entry = await exportCluster(root, outDir, cluster, formats, old.clusters[cluster], optouts, tally, async (rec) => {
          out.record(rec);
          await out.drain();
        });
        next.clusters[cluster] = entry;
      }
      if (manifestBody(next) !== manifestBody(old) || oldText === undefined) {
        next.updated = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
        await writeFilesAtomic([{ path: manifestFile, text: formatManifest(next) }]);
        const watermarks = Object.fromEntries(Object.entries(next.clusters).map(([c, e]) => [c, e.watermark]));
        out.record({ kind: 'manifest', file: manifestFile, clusters: Object.keys(next.clusters).length, watermarks });
      }
      if (verbose) {
        report.info(`${tally.months} settled month(s): ${tally.written} file(s) written, ${tally.kept} unchanged` +
          (tally.pending.length > 0 ? `; not settled yet, left out: ${tally.pending.join(', ')}` : ''));
      }
      if (optouts.unreadable.size > 0) report.warn(unreadableMessage(optouts.unreadable));
    } finally {
      lock.release();
    }
  }

  if (promFile !== undefined) {
    const boards = currentBoards(readBoards(root));
    if (boards.length === 0) throw new SbError(`no leaderboards in '${path.join(root, 'leaderboards')}' (run 'sb-rank --write' first)`);
    const users = [...new Set(boards.flatMap((b) => b.rows.map((r) => r.user)))];
    const expo = exposition(boards, optouts.hidden(users), top === 0 ? Number.POSITIVE_INFINITY : top);
    const dir = path.dirname(path.resolve(promFile));
    try {
      if (!statSync(dir).isDirectory()) throw new Error('not a directory');
    } catch (err) {
      throw new SbError(`cannot write '${promFile}': its directory '${dir}' is not there (${(err as Error).message})`);
    }
    if (readIfExists(promFile)?.toString('utf8') !== expo.text) {
      await writeFilesAtomic([{ path: promFile, text: expo.text }]);
      out.record({ kind: 'prometheus', file: promFile, boards: expo.boards, samples: expo.samples });
    } else if (verbose) report.info(`${promFile}: unchanged`);
    if (outDir === undefined && optouts.unreadable.size > 0) report.warn(unreadableMessage(optouts.unreadable));
  }
  await out.flush();
}

interface Tally {
  written: number;
  kept: number;
  months: number;
  pending: string[];
}

// One cluster's settled months, each checked against the manifest and the files on disk and
// written where they differ; returns the cluster's manifest entry.
async function exportCluster(
  root: string,
  outDir: string,
  cluster: string,
  formats: readonly Format[],
  prior: ClusterEntry | undefined,
  optouts: OptOuts,
  tally: Tally,
  emit: (rec: Record<string, unknown>) => Promise<void>,
): Promise<ClusterEntry> {
  // The ledger first: a commit renames it after the rollups it counts (docs/store.md, Commits),
  // so a month it holds as settled has its daily file complete by the time that is read.
  const ledger = readLedger(ledgerPath(root, cluster));
  const months = settledMonths(ledger.done);
  const entry: ClusterEntry = { watermark: watermark(months) ?? null, months: { ...(prior?.months ?? {}) } };
  const dailyDir = path.join(root, 'clusters', cluster, 'agg', 'rollups', 'daily');
  for (const m of unsettled(dailyDir, months)) tally.pending.push(`${cluster} ${m}`);
  for (const month of months) {
    tally.months++;
    const file = path.join(dailyDir, `${month}.json`);
    const raw = readIfExists(file);
    const doc = raw === undefined ? { users: new Map(), accounts: undefined } : parseDailyFile(raw.toString('utf8'), file);
    const names = new Set<string>(doc.users.keys());
    for (const byUser of doc.accounts?.values() ?? []) for (const u of byUser.keys()) names.add(u);
    const hidden = optouts.hidden([...names]);
    const source = sha256(`${TABLE_VERSION}\0${raw?.toString('utf8') ?? ''}\0${[...hidden].filter((u) => names.has(u)).sort().join('\n')}`);
    const before = entry.months[month];
    const files = { ...(before?.files ?? {}) };
    const partDir = path.join(outDir, `cluster=${cluster}`, `month=${month}`);
    let table: MonthTable | undefined;
    const writes: Array<FileText & { format: Format; entry: FileEntry; status: string }> = [];
    for (const format of formats) {
      const rel = path.join(`cluster=${cluster}`, `month=${month}`, `rollups.${EXTENSION[format]}`);
      const target = path.join(outDir, rel);
      const had = files[format];
      const onDisk = readIfExists(target);
      if (had !== undefined && had.source === source && onDisk !== undefined && sha256(onDisk) === had.sha256) {
        tally.kept++;
        continue;
      }
      table ??= monthTable(cluster, month, doc, hidden, file);
      const bytes = await render(format, table, file);
      const fe: FileEntry = { path: rel, rows: table.rows.length, bytes: bytes.length, sha256: sha256(bytes), source };
      files[format] = fe;
      if (onDisk !== undefined && Buffer.compare(onDisk, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)) === 0) {
        tally.kept++;
        continue;
      }
      writes.push({ path: target, text: bytes, format, entry: fe, status: onDisk === undefined ? 'new' : 'replaced' });
    }
    const accounts = table?.accounts ?? before?.accounts ?? 'absent';
    entry.months[month] = { accounts, files };
    if (writes.length > 0) {
      mkdirSync(partDir, { recursive: true });
      await removeStaleTemps(partDir);
      await writeFilesAtomic(writes);
      for (const w of writes) {
        tally.written++;
        await emit({ kind: 'export', cluster, month, format: w.format, file: w.path, rows: w.entry.rows, bytes: w.entry.bytes, status: w.status });
      }
    }
  }
  return entry;
}

// Months with a daily file that are not settled yet (for -v).
function unsettled(dailyDir: string, months: readonly string[]): string[] {
  const settled = new Set(months);
  let names: string[];
  try {
    names = readdirSync(dailyDir).sort();
  } catch {
    return [];
  }
  return names.flatMap((n) => /^(\d{4}-\d{2})\.json$/.exec(n)?.slice(1, 2) ?? []).filter((m) => !settled.has(m));
}

async function render(format: Format, table: MonthTable, file: string): Promise<Uint8Array> {
  if (format === 'ndjson') return Buffer.from(ndjsonText(table.rows));
  if (format === 'csv') return Buffer.from(csvText(table.rows));
  return parquetBytes(table.rows, `sb-export ${version()}`, file);
}

function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

// Who opted out: config/optout.txt, and ~user/.slurm_scoreboard_optout looked up once a user.
class OptOuts {
  private listed: Set<string>;
  private home = new Map<string, boolean>();
  unreadable = new Set<string>();

  constructor(root: string, private readonly env: NodeJS.ProcessEnv) {
    this.listed = readOptoutList(root);
  }

  hidden(users: readonly string[]): Set<string> {
    const fresh = users.filter((u) => !this.listed.has(u) && !this.home.has(u));
    if (fresh.length > 0) {
      const found = homeOptouts(homeDirs(fresh, this.env));
      for (const u of fresh) this.home.set(u, found.users.has(u));
      for (const u of found.unreadable) this.unreadable.add(u);
    }
    return new Set(users.filter((u) => this.listed.has(u) || this.home.get(u) === true));
  }
}

function unreadableMessage(users: ReadonlySet<string>): string {
  const list = [...users].sort();
  const some = list.slice(0, 5).join(', ') + (list.length > 5 ? ', ...' : '');
  return `cannot see whether ${list.length} user(s) opted out: home directory not searchable (${some}); list them in config/optout.txt`;
}

function checkFormat(f: string): Format {
  if (!FORMATS.includes(f as Format)) throw new UsageError(`unknown format '${f}' (expected one of ${FORMATS.join(', ')})`);
  return f as Format;
}

function checkCluster(c: string): string {
  if (!isClusterName(c)) throw new UsageError(`'${c}' ${notClusterName(c)}`);
  return c;
}

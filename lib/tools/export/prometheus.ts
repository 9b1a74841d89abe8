import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { SbError } from '../../core/cli/errors.js';
import { isClusterName } from '../../core/records/cluster.js';
import { parseTime } from '../../core/records/time.js';

// A leaderboard file (docs/store.md, leaderboards/): what the exposition needs of it.
export interface BoardFile {
  cluster: string;
  window: string;
  metric: string;
  asof: number;
  title: string;
  unit: string;
  rows: Array<{ rank: number; user: string; value: number; level: number; xp: number }>;
}

function names(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new SbError(`cannot list '${dir}': ${(err as Error).message}`);
  }
}

const BOARD_NAME = /^[a-z0-9-]+_[a-z_]+\.json$/;
const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

export function parseBoard(text: string, file: string): BoardFile {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new SbError(`${file}: not JSON (${(err as Error).message}); the file is corrupt or truncated`);
  }
  const str = (k: string): string => {
    const v = doc?.[k];
    if (typeof v !== 'string' || v === '') throw new SbError(`${file}: '${k}' is not a string`);
    return v;
  };
  const asof = parseTime(str('asof'));
  if (asof === undefined) throw new SbError(`${file}: 'asof' is not a time`);
  const rows = doc['rows'];
  if (!Array.isArray(rows)) throw new SbError(`${file}: 'rows' is not a list`);
  rows.forEach((r: Record<string, unknown>, i) => {
    if (typeof r?.['user'] !== 'string' || !num(r['rank']) || !num(r['value']) || !num(r['level']) || !num(r['xp'])) {
      throw new SbError(`${file}: rows[${i}] is not a leaderboard row`);
    }
  });
  return { cluster: str('cluster'), window: str('window'), metric: str('metric'), asof, title: str('title'), unit: str('unit'), rows: rows as BoardFile['rows'] };
}

// Every leaderboard file of a store: <root>/leaderboards/<window>_<metric>.json and
// by-cluster/<c>/<window>_<metric>.json (the seed's <window>.json copies left out).
export function readBoards(root: string): BoardFile[] {
  const dir = path.join(root, 'leaderboards');
  const files = names(dir).filter((n) => BOARD_NAME.test(n)).map((n) => path.join(dir, n));
  for (const c of names(path.join(dir, 'by-cluster')).filter(isClusterName)) {
    const sub = path.join(dir, 'by-cluster', c);
    files.push(...names(sub).filter((n) => BOARD_NAME.test(n)).map((n) => path.join(sub, n)));
  }
  return files.flatMap((f) => {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new SbError(`cannot read '${f}': ${(err as Error).message}`);
    }
    return [parseBoard(text, f)];
  });
}

// The current boards: month-YYYY-MM and year-YYYY boards only of the month and year of the
// newest board (older ones stay in the store after their month ends); all others.
export function currentBoards(boards: readonly BoardFile[]): BoardFile[] {
  if (boards.length === 0) return [];
  const newest = new Date(Math.max(...boards.map((b) => b.asof)) * 1000).toISOString();
  const month = `month-${newest.slice(0, 7)}`;
  const year = `year-${newest.slice(0, 4)}`;
  return boards.filter((b) => (b.window.startsWith('month-') ? b.window === month : b.window.startsWith('year-') ? b.window === year : true));
}

// Label values and HELP text as the text exposition format escapes them.
export function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function labels(pairs: ReadonlyArray<[string, string]>): string {
  return '{' + pairs.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',') + '}';
}

const FAMILIES: ReadonlyArray<{ name: string; help: string; field: 'value' | 'rank' | 'level' | 'xp' }> = [
  { name: 'sb_leaderboard_value', help: "A user's value on a board, in the board's unit (core-hours, hours, GPU-hours, jobs, GiB-hours; total level for metric overall)", field: 'value' },
  { name: 'sb_leaderboard_rank', help: "A user's rank on a board (1 is first; tied users share a rank)", field: 'rank' },
  { name: 'sb_leaderboard_level', help: "A user's OSRS level on a board (1-99; total level for metric overall)", field: 'level' },
  { name: 'sb_leaderboard_xp', help: "A user's experience points on a board (total for metric overall)", field: 'xp' },
];

export interface Exposition {
  text: string;
  boards: number;
  samples: number;
}

// The boards in the Prometheus text exposition format (version 0.0.4), for node_exporter's
// textfile collector: per row the families above labelled cluster, window, metric, user
// (rows ranked `top` or better; users in `hidden` never appear), and per board its rows and
// the time sb-rank wrote it. Boards in a stable order; no timestamps (the collector refuses them).
export function exposition(boards: readonly BoardFile[], hidden: ReadonlySet<string>, top: number): Exposition {
  const sorted = [...boards].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  const rowsOf = sorted.map((b) => b.rows.filter((r) => !hidden.has(r.user)));
  let text = '';
  let samples = 0;
  for (const f of FAMILIES) {
    text += `# HELP ${f.name} ${escapeHelp(f.help)}\n# TYPE ${f.name} gauge\n`;
    sorted.forEach((b, i) => {
      for (const r of rowsOf[i] as BoardFile['rows']) {
        if (r.rank > top) continue;
        text += `${f.name}${labels([['cluster', b.cluster], ['window', b.window], ['metric', b.metric], ['user', r.user]])} ${formatNumber(r[f.field])}\n`;
        samples++;
      }
    });
  }
  const perBoard: ReadonlyArray<[string, string, (b: BoardFile, i: number) => number]> = [
    ['sb_leaderboard_users', 'Users ranked on a board (opted-out users excluded)', (_b, i) => (rowsOf[i] as unknown[]).length],
    ['sb_leaderboard_asof_timestamp_seconds', 'When sb-rank wrote the board, in seconds since the Unix epoch', (b) => b.asof],
  ];
  for (const [name, help, value] of perBoard) {
    text += `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} gauge\n`;
    sorted.forEach((b, i) => {
      text += `${name}${labels([['cluster', b.cluster], ['window', b.window], ['metric', b.metric]])} ${formatNumber(value(b, i))}\n`;
      samples++;
    });
  }
  return { text, boards: sorted.length, samples };
}

function key(b: BoardFile): string {
  return `${b.cluster === 'all' ? '' : b.cluster}\0${b.window}\0${b.metric}`;
}

function formatNumber(v: number): string {
  return Number.isFinite(v) ? String(v) : v > 0 ? '+Inf' : v < 0 ? '-Inf' : 'NaN';
}

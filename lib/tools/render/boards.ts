import type { BoardRow } from '../../core/scores/xp.js';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import { SbError } from '../../core/cli/errors.js';
import { isClusterName } from '../../core/records/cluster.js';
import { METRICS } from '../../core/scores/metrics.js';

// The skills a board can be of, in the order the hiscores list them: Overall first.
export const SKILL_IDS = ['overall', ...METRICS.map((m) => m.id)] as const;
export type SkillId = (typeof SKILL_IDS)[number];
export const ALL = 'all';

export type Row = BoardRow;

export interface Board {
  window: string;
  metric: SkillId;
  cluster: string;
  // The time the board was ranked (ISO-8601), when the board says.
  asof?: string;
  rows: Row[];
  // Where it was read from: a file, or 'stdin'.
  source: string;
  // YYYY-MM-DD: an account board over days counted before the store kept accounts (sb-rank(1))
  accountsSince?: string;
  // cluster 'all': the clusters counted only to an earlier time than the others, cluster → ISO-8601
  countedTo?: Record<string, string>;
}

// A board's counted_to, as sb-rank writes it: an object of cluster names to times; anything else
// is left out (it is a note, not a reason to refuse the board).
function countedToOf(v: unknown): Record<string, string> | undefined {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [c, t] of Object.entries(v)) if (typeof t === 'string' && isClusterName(c)) out[c] = t;
  return Object.keys(out).length === 0 ? undefined : out;
}

// Where boards come from: the leaderboard files of a store, or rank records. Lists what there
// is; reads a board when first asked (a store of 10,000 users holds ~100 MB of boards).
export interface BoardSource {
  readonly windows: readonly string[];
  readonly clusters: readonly string[];
  readonly skills: readonly SkillId[];
  // The board, undefined if there is none of that window, skill and cluster; throws SbError
  // naming the file when it is unreadable or not a leaderboard.
  board(window: string, skill: SkillId, cluster: string): Board | undefined;
  // Whether board() would answer without reading a file.
  cached(window: string, skill: SkillId, cluster: string): boolean;
  // Reads the board without blocking (the screen's keys): afterwards cached() is true and
  // board() answers or throws, unless reload() came first. Never rejects.
  load(window: string, skill: SkillId, cluster: string): Promise<void>;
  // Forget what was read and list again (the TUI's 'r').
  reload(): void;
}

export function isSkill(s: string): s is SkillId {
  return (SKILL_IDS as readonly string[]).includes(s);
}

// Windows in the order people want them: rolling (shortest first), months and years (newest
// first), then all time.
export function windowOrder(a: string, b: string): number {
  const key = (w: string): [number, number, string] => {
    const r = /^rolling-(\d+)d$/.exec(w);
    if (r) return [0, Number(r[1]), ''];
    if (w.startsWith('month-')) return [1, 0, w];
    if (w.startsWith('year-')) return [2, 0, w];
    if (w === 'alltime') return [3, 0, ''];
    return [4, 0, w];
  };
  const [ka, na, sa] = key(a);
  const [kb, nb, sb] = key(b);
  return ka - kb || na - nb || (sa === sb ? 0 : ka === 4 ? (sa < sb ? -1 : 1) : sa > sb ? -1 : 1);
}

const BOARD_FILE = /^([a-z0-9-]+)_([a-z_]+)\.json$/;

// One leaderboard file (docs/store.md) → a board, or an error naming the file and the place.
export function parseBoardFile(text: string, file: string, want: { window: string; metric: SkillId; cluster: string }): Board {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new SbError(`${file}: not JSON (${(err as Error).message}); the file is corrupt or truncated`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new SbError(`${file}: not a leaderboard (not a JSON object)`);
  const d = doc as Record<string, unknown>;
  if (!Array.isArray(d['rows'])) throw new SbError(`${file}: not a leaderboard ('rows' is not a list)`);
  const rows = d['rows'].map((r: unknown, i) => checkRow(r, `${file}: rows[${i}]`));
  const asof = typeof d['asof'] === 'string' ? d['asof'] : undefined;
  const since = typeof d['accounts_since'] === 'string' ? d['accounts_since'] : undefined;
  const counted = countedToOf(d['counted_to']);
  return { ...want, ...(asof !== undefined ? { asof } : {}), ...(since !== undefined ? { accountsSince: since } : {}), ...(counted !== undefined ? { countedTo: counted } : {}), rows, source: file };
}

function checkRow(r: unknown, where: string): Row {
  if (r === null || typeof r !== 'object') throw new SbError(`${where}: not an object`);
  const o = r as Record<string, unknown>;
  const num = (k: string, whole: boolean): number => {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (whole && !Number.isInteger(v))) {
      throw new SbError(`${where}: '${k}' is ${v === undefined ? 'missing' : `${JSON.stringify(v)}, not a ${whole ? 'whole ' : ''}number`}`);
    }
    return v;
  };
  // an account board's row names its account ('' for jobs without one) where a user's names the user
  const user = typeof o['user'] !== 'string' && typeof o['account'] === 'string' ? o['account'] : o['user'];
  if (typeof user !== 'string' || (user === '' && o['user'] !== undefined)) throw new SbError(`${where}: 'user' is missing or not a string`);
  return { rank: num('rank', true), user: user === '' ? NO_ACCOUNT : user, value: num('value', false), level: num('level', true), xp: num('xp', true) };
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
    throw new SbError(`cannot list '${dir}': ${(err as Error).message}`);
  }
}

// The leaderboard files of a store: <root>/leaderboards/<window>_<metric>.json (cluster 'all')
// and leaderboards/by-cluster/<cluster>/<window>_<metric>.json.
export class StoreBoards implements BoardSource {
  windows: string[] = [];
  clusters: string[] = [];
  skills: SkillId[] = [];
  private files = new Map<string, string>();
  private cache = new Map<string, Board>();
  private failed = new Map<string, SbError>();
  private loading = new Map<string, Promise<void>>();
  private generation = 0;
  // SB_RENDER_DELAY, a test hook: load() waits this long before reading.
  delayMs = 0;

  // sub: the boards' directory below leaderboards/ and by-cluster/<c>/ ('' the user boards,
  // 'accounts', 'account/<name>'; see sb-rank(1), FILES)
  constructor(
    readonly root: string,
    readonly sub = '',
  ) {
    this.scan();
  }

  get dir(): string {
    return path.join(this.root, 'leaderboards', this.sub);
  }

  private scan(): void {
    let st;
    try {
      st = statSync(this.root);
    } catch {
      throw new SbError(`store '${this.root}' does not exist`);
    }
    if (!st.isDirectory()) throw new SbError(`store '${this.root}' is not a directory`);
    const windows = new Set<string>();
    const skills = new Set<SkillId>();
    const clusters: string[] = [];
    const add = (dir: string, cluster: string): boolean => {
      let any = false;
      for (const f of list(dir)) {
        const m = BOARD_FILE.exec(f);
        if (!m || !isSkill(m[2] as string)) continue;
        windows.add(m[1] as string);
        skills.add(m[2] as SkillId);
        this.files.set(key(m[1] as string, m[2] as SkillId, cluster), path.join(dir, f));
        any = true;
      }
      return any;
    };
    if (add(this.dir, ALL)) clusters.push(ALL);
    const byCluster = path.join(this.root, 'leaderboards', 'by-cluster');
    for (const c of list(byCluster).filter(isClusterName).sort()) if (add(path.join(byCluster, c, this.sub), c)) clusters.push(c);
    this.windows = [...windows].sort(windowOrder);
    this.clusters = clusters;
    this.skills = SKILL_IDS.filter((s) => skills.has(s));
  }

  // The file a board would be in, whether or not it is there.
  fileOf(window: string, skill: SkillId, cluster: string): string {
    return this.files.get(key(window, skill, cluster)) ?? (cluster === ALL ? path.join(this.dir, `${window}_${skill}.json`) : path.join(this.root, 'leaderboards', 'by-cluster', cluster, this.sub, `${window}_${skill}.json`));
  }

  board(window: string, skill: SkillId, cluster: string): Board | undefined {
    const k = key(window, skill, cluster);
    const cached = this.cache.get(k);
    if (cached !== undefined) return cached;
    const failed = this.failed.get(k);
    if (failed !== undefined) throw failed;
    const file = this.files.get(k);
    if (file === undefined) return undefined;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw readError(file, err);
    }
    const b = parseBoardFile(text, file, { window, metric: skill, cluster });
    this.cache.set(k, b);
    return b;
  }

  cached(window: string, skill: SkillId, cluster: string): boolean {
    const k = key(window, skill, cluster);
    return this.cache.has(k) || this.failed.has(k) || !this.files.has(k);
  }

  load(window: string, skill: SkillId, cluster: string): Promise<void> {
    const k = key(window, skill, cluster);
    const file = this.files.get(k);
    if (file === undefined || this.cached(window, skill, cluster)) return Promise.resolve();
    let p = this.loading.get(k);
    if (p !== undefined) return p;
    const generation = this.generation;
    const keep = (what: () => void): void => {
      if (generation === this.generation) what();
    };
    p = (async () => {
      try {
        if (this.delayMs > 0) await sleep(this.delayMs);
        let text: string;
        try {
          text = await readFile(file, 'utf8');
        } catch (err) {
          throw readError(file, err);
        }
        if (generation !== this.generation) return;
        const b = parseBoardFile(text, file, { window, metric: skill, cluster });
        keep(() => this.cache.set(k, b));
      } catch (err) {
        const e = err instanceof SbError ? err : new SbError(`cannot read '${file}': ${(err as Error).message}`);
        keep(() => this.failed.set(k, e));
      } finally {
        keep(() => this.loading.delete(k));
      }
    })();
    this.loading.set(k, p);
    return p;
  }

  reload(): void {
    this.generation++;
    this.files.clear();
    this.cache.clear();
    this.failed.clear();
    this.loading.clear();
    this.scan();
  }
}

function readError(file: string, err: unknown): SbError {
  const e = err as NodeJS.ErrnoException;
  return new SbError(`cannot read '${file}': ${e.code === 'ENOENT' ? 'No such file or directory' : e.message}`);
}

function key(window: string, skill: string, cluster: string): string {
  return `${window}\u0000${skill}\u0000${cluster}`;
}

// Boards gathered from rank records (sb-rank's output on stdin), in the order they came.
export class RecordBoards implements BoardSource {
  windows: string[] = [];
  clusters: string[] = [];
  skills: SkillId[] = [];
  private boards = new Map<string, Board>();

  // One rank record; throws a message (for the line's diagnostic) when it is not one.
  add(rec: Record<string, unknown>): void {
    const str = (k: string): string => {
      const v = rec[k];
      if (typeof v !== 'string' || v === '') throw new Error(`'${k}' is missing or not a string`);
      return v;
    };
    const window = str('window');
    const metric = str('metric');
    const cluster = str('cluster');
    if (!isSkill(metric)) throw new Error(`unknown metric '${metric}'`);
    if (!/^[a-z0-9-]+$/.test(window)) throw new Error(`'${window}' is not a window`);
    if (cluster !== ALL && !isClusterName(cluster)) throw new Error(`'${cluster}' is not a cluster name`);
    let row: Row;
    try {
      row = checkRow(rec, 'record');
    } catch (err) {
      throw new Error((err as Error).message.replace(/^record: /, ''));
    }
    const k = key(window, metric, cluster);
    let b = this.boards.get(k);
    if (b === undefined) {
      const counted = countedToOf(rec['counted_to']);
      b = { window, metric, cluster, rows: [], source: 'stdin', ...(typeof rec['accounts_since'] === 'string' ? { accountsSince: rec['accounts_since'] } : {}), ...(counted !== undefined ? { countedTo: counted } : {}) };
      this.boards.set(k, b);
      if (!this.windows.includes(window)) this.windows = [...this.windows, window].sort(windowOrder);
      if (!this.clusters.includes(cluster)) this.clusters = [...this.clusters, cluster].sort((a, c) => (a === ALL ? -1 : c === ALL ? 1 : a < c ? -1 : 1));
      if (!this.skills.includes(metric)) this.skills = SKILL_IDS.filter((s) => s === metric || this.skills.includes(s));
    }
    b.rows.push(row);
  }

  // Rows in rank order (sb-rank writes them so; a merge of streams may not).
  finish(): void {
    for (const b of this.boards.values()) {
      if (b.rows.some((r, i) => i > 0 && (b.rows[i - 1] as Row).rank > r.rank)) b.rows.sort((x, y) => x.rank - y.rank);
    }
  }

  board(window: string, skill: SkillId, cluster: string): Board | undefined {
    return this.boards.get(key(window, skill, cluster));
  }

  cached(): boolean {
    return true;
  }

  load(): Promise<void> {
    return Promise.resolve();
  }

  reload(): void {}
}

// What a set of boards ranks: users, accounts, or one account's users.
export interface BoardGroup {
  // '' users, 'accounts', 'account/<name>' (the name as written, '' for jobs without an account)
  id: string;
  label: string;
  source: BoardSource;
}

export const NO_ACCOUNT = '(none)';

export function groupLabel(id: string): string {
  if (id === '') return 'Users';
  if (id === 'accounts') return 'Accounts';
  const name = id.slice('account/'.length);
  return `Account ${name === '' ? NO_ACCOUNT : name}`;
}

// The name of an account from its directory (sb-rank: percent-encoded, '%' for '').
export function accountFromDir(dir: string): string {
  if (dir === '%') return '';
  try {
    return decodeURIComponent(dir);
  } catch {
    return dir;
  }
}

// The groups of boards a store has: the user boards, the account boards, each account's.
export function storeGroups(root: string): BoardGroup[] {
  const lb = path.join(root, 'leaderboards');
  const subs = new Set<string>(['']);
  const look = (dir: string): void => {
    if (list(path.join(dir, 'accounts')).some((f) => BOARD_FILE.test(f))) subs.add('accounts');
    for (const a of list(path.join(dir, 'account')).sort()) subs.add(`account/${a}`);
  };
  look(lb);
  for (const c of list(path.join(lb, 'by-cluster')).filter(isClusterName)) look(path.join(lb, 'by-cluster', c));
  const groups: BoardGroup[] = [];
  for (const sub of [...subs].sort((a, b) => (a === b ? 0 : a === '' ? -1 : b === '' ? 1 : a === 'accounts' ? -1 : b === 'accounts' ? 1 : a < b ? -1 : 1))) {
    const source = new StoreBoards(root, sub);
    const id = sub.startsWith('account/') ? `account/${accountFromDir(sub.slice('account/'.length))}` : sub;
    if (source.windows.length > 0 || sub === '') groups.push({ id, label: groupLabel(id), source });
  }
  // the user boards first, when there are any
  return groups.filter((g) => g.id !== '' || g.source.windows.length > 0 || groups.length === 1);
}

// Several groups of boards behind one BoardSource: it answers for the group selected
// (the screen's 'a' key; sb-render --by, --account).
export class GroupedBoards implements BoardSource {
  private at = 0;

  constructor(readonly groups: BoardGroup[]) {
    if (groups.length === 0) throw new Error('no board groups');
  }

  get current(): BoardGroup {
    return this.groups[this.at] as BoardGroup;
  }

  get group(): string {
    return this.current.id;
  }

  // Selects a group by id; false if there is none.
  select(id: string): boolean {
    const i = this.groups.findIndex((g) => g.id === id);
    if (i < 0) return false;
    this.at = i;
    return true;
  }

  get windows(): readonly string[] {
    return this.current.source.windows;
  }

  get clusters(): readonly string[] {
    return this.current.source.clusters;
  }

  get skills(): readonly SkillId[] {
    return this.current.source.skills;
  }

  board(window: string, skill: SkillId, cluster: string): Board | undefined {
    return this.current.source.board(window, skill, cluster);
  }

  cached(window: string, skill: SkillId, cluster: string): boolean {
    return this.current.source.cached(window, skill, cluster);
  }

  load(window: string, skill: SkillId, cluster: string): Promise<void> {
    return this.current.source.load(window, skill, cluster);
  }

  reload(): void {
    for (const g of this.groups) g.source.reload();
  }
}

// The group a rank record belongs to: sb-rank --by account rows, --account NAME rows, or users.
export function recordGroup(rec: Record<string, unknown>): string {
  if (rec['by'] === 'account') return 'accounts';
  if (typeof rec['account'] === 'string' && typeof rec['user'] === 'string') return `account/${rec['account']}`;
  return '';
}

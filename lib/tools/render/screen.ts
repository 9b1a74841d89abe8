import { SbError } from '../../core/cli/errors.js';
import { ALL, type Board, type BoardSource, type Row, type SkillId } from './boards.js';
import type { History } from './history.js';
import { GroupedBoards, groupLabel, type BoardGroup } from './boards.js';
import { monthsBetween } from './history.js';
import { clusterLabel, formatAsof, formatShort, formatValue, formatWhole, skillLabel, sparkline, windowLabel } from './labels.js';
import type { Paint } from './paint.js';
import { showName } from './show-name.js';
import { clipText, fitText, textWidth } from './text-width.js';

export type Page = 'board' | 'user' | 'help';

// Everything a screen shows, as data: what the keys change (keys.ts) and render() draws.
export interface View {
  page: Page;
  // The page the key help returns to.
  from: Page;
  window: string;
  cluster: string;
  skill: SkillId;
  // Last rank first.
  ascending: boolean;
  // Name substring (case-insensitive) and whether it is being typed.
  filter: string;
  editing: boolean;
  // Index of the selected row among the rows shown, and of the first row on screen.
  selected: number;
  top: number;
  user: string | undefined;
  // The skill highlighted on the user page.
  userSkill: SkillId;
  // One line for the key bar (an error, "read again").
  message: string | undefined;
  // The user to select when the board shown, being read, arrives (keys.ts: arrived).
  pending: string | undefined;
  // The group of boards shown ('' users, 'accounts', 'account/<name>'; boards.ts, GroupedBoards).
  group: string;
}

// What render() draws from, besides the view.
export interface Scene {
  source: BoardSource;
  history: History | undefined;
  paint: Paint;
  // Not a UTF-8 locale: ASCII block elements, lines and names.
  ascii: boolean;
  // A snapshot (--text, --ansi): no side panel, no key bar, nothing paged, no trailing blanks.
  snapshot: boolean;
  // Rows ranked this or better (--top).
  top: number;
  // The screen: boards and months not read yet are drawn as loading (the screen reads them
  // in the background); render() reads no file. Snapshots read what they draw.
  lazy?: boolean;
}

// What there is to draw of a board: 'loading' while the screen has not read it.
function boardOf(scene: Scene, window: string, skill: SkillId, cluster: string): Board | undefined | 'loading' {
  if (scene.lazy === true && !scene.source.cached(window, skill, cluster)) return 'loading';
  return scene.source.board(window, skill, cluster);
}

function loadingText(scene: Scene): string {
  return scene.ascii ? 'loading...' : 'loading…';
}

export function initialView(source: BoardSource, want: { window?: string; skill?: SkillId; cluster?: string; user?: string }): View {
  const window = want.window ?? source.windows[0] ?? 'rolling-30d';
  const skill = want.skill ?? source.skills[0] ?? 'overall';
  const cluster = want.cluster ?? (source.clusters.includes(ALL) ? ALL : (source.clusters[0] ?? ALL));
  return {
    page: want.user !== undefined ? 'user' : 'board',
    from: 'board',
    window,
    cluster,
    skill,
    ascending: false,
    filter: '',
    editing: false,
    selected: 0,
    top: 0,
    user: want.user,
    userSkill: skill,
    message: undefined,
    pending: undefined,
    group: groupOf(source),
  };
}

// The group a source is showing: '' for a source of user boards only.
export function groupOf(source: BoardSource): string {
  return source instanceof GroupedBoards ? source.group : '';
}

// The groups a source can switch between (more than one: the 'a' key does something).
function groupsOf(source: BoardSource): readonly BoardGroup[] {
  return source instanceof GroupedBoards ? source.groups : [];
}

// What the context line says of the group: nothing for users; 'Accounts', 'Account chem'.
function groupPart(view: View): string[] {
  return view.group === '' ? [] : [groupLabel(view.group)];
}

// "accounts since YYYY-MM-DD" of an account board over days without account data.
function sincePart(board: Board | undefined): string[] {
  return board?.accountsSince === undefined ? [] : [`accounts since ${board.accountsSince}`];
}

// "hammer counted to 2026-11-28 14:00 UTC" of an 'all' board that sums a cluster counted only to
// an earlier time than the others.
export function countedPart(board: Board | undefined): string[] {
  const c = board?.countedTo;
  return c === undefined ? [] : [Object.entries(c).map(([cluster, t]) => `${cluster} counted to ${formatAsof(t)}`).join(', ')];
}

// The board a view shows and its rows as shown: ranked --top or better, filtered, in order.
export interface Shown {
  board: Board | undefined;
  rows: readonly Row[];
  // Why there is nothing to show: no such board, or (failed) a file that cannot be read.
  problem?: string;
  failed?: boolean;
  // Not read yet (the screen reads it in the background).
  loading?: boolean;
}

const shownCache = new WeakMap<Board, Map<string, Row[]>>();

export function shownRows(view: View, scene: Scene): Shown {
  let board: Board | undefined;
  try {
    const b = boardOf(scene, view.window, view.skill, view.cluster);
    if (b === 'loading') return { board: undefined, rows: [], problem: loadingText(scene), loading: true };
    board = b;
  } catch (err) {
    if (err instanceof SbError && !scene.snapshot) return { board: undefined, rows: [], problem: err.message, failed: true };
    throw err;
  }
  if (board === undefined) return { board, rows: [], problem: `no ${skillLabel(view.skill).title} board for ${windowLabel(view.window)}, ${clusterLabel(view.cluster)}` };
  const key = `${view.ascending ? 1 : 0}\u0000${scene.top}\u0000${view.filter.toLowerCase()}`;
  let byKey = shownCache.get(board);
  if (byKey === undefined) shownCache.set(board, (byKey = new Map()));
  let rows = byKey.get(key);
  if (rows === undefined) {
    const f = view.filter.toLowerCase();
    rows = board.rows.filter((r) => r.rank <= scene.top && (f === '' || r.user.toLowerCase().includes(f)));
    if (view.ascending) rows.reverse();
    if (byKey.size > 16) byKey.clear();
    byKey.set(key, rows);
  }
  return { board, rows };
}

// Rows of the screen a page of the board gets, and the side panel's width (0: none).
export function layout(scene: Scene, cols: number, rows: number): { side: number; pageRows: number } {
  const side = !scene.snapshot && cols >= 64 ? 18 : 0;
  return { side, pageRows: Math.max(1, rows - 4) };
}

// The smallest screen drawn; below it one line says so.
export const MIN_COLS = 20;
export const MIN_ROWS = 5;

interface Glyphs {
  bar: string;
  mark: string;
  dash: string;
  cursor: string;
  sep: string;
  ellipsis: string;
}

function glyphs(ascii: boolean): Glyphs {
  return ascii
    ? { bar: '|', mark: '>', dash: '-', cursor: '_', sep: ' - ', ellipsis: '.' }
    : { bar: '│', mark: '▸', dash: '–', cursor: '█', sep: ' · ', ellipsis: '…' };
}

// A line built of cells, each clipped and padded to its width, the whole exactly `cols` wide.
class LineBuilder {
  private out = '';
  private used = 0;

  constructor(
    private readonly cols: number,
    private readonly scene: Scene,
  ) {}

  // `width` undefined: the text as is (clipped at the edge).
  cell(text: string, width: number | undefined, style?: (s: string) => string, align: 'left' | 'right' = 'left'): this {
    const room = this.cols - this.used;
    if (room <= 0) return this;
    const w = Math.min(width ?? textWidth(text), room);
    const plain = fitText(text, w, align, glyphs(this.scene.ascii).ellipsis);
    this.out += style ? style(plain) : plain;
    this.used += w;
    return this;
  }

  // Place what follows at its column, whatever the terminal made of the cells before.
  place(): this {
    if (this.used < this.cols) this.out += this.scene.paint.col(this.used + 1);
    return this;
  }

  done(style?: (s: string) => string): string {
    if (this.used < this.cols) {
      const pad = ' '.repeat(this.cols - this.used);
      this.out += style ? style(pad) : pad;
      this.used = this.cols;
    }
    return this.out;
  }

  get width(): number {
    return this.used;
  }
}

// The table's columns: widths, 0 when dropped for want of room (XP first, then Level, then
// the value), the name taking what is left.
export interface Columns {
  rank: number;
  name: number;
  level: number;
  xp: number;
  value: number;
}

const GAP = 2;
const widthCache = new WeakMap<readonly Row[], { name: number; xp: number; value: number; rank: number }>();

// Column widths for rows of a board: the whole board's on the screen (they stay put while
// scrolling and filtering), the rows printed in a snapshot.
function boardWidths(board: Board | undefined, rows: readonly Row[], scene: Scene): { name: number; xp: number; value: number; rank: number } {
  if (board === undefined) return { name: 4, xp: 2, value: 5, rank: 4 };
  let w = widthCache.get(rows);
  if (w === undefined) {
    const label = skillLabel(board.metric);
    let name = 4;
    let xp = 0;
    let value = 0;
    let rank = 0;
    for (const r of rows) {
      const n = textWidth(showName(r.user, scene.ascii));
      if (n > name) name = n;
      if (r.xp > xp) xp = r.xp;
      if (r.value > value) value = r.value;
      if (r.rank > rank) rank = r.rank;
    }
    w = {
      name,
      xp: Math.max(2, formatWhole(xp).length),
      value: Math.max(textWidth(label.unit), formatValue(value, label.decimals).length),
      rank: Math.max(4, String(rank).length),
    };
    widthCache.set(rows, w);
  }
  return w;
}

export function tableColumns(avail: number, board: Board | undefined, rows: readonly Row[], skill: SkillId, scene: Scene): Columns {
  const w = boardWidths(board, rows, scene);
  const c: Columns = { rank: w.rank, name: 0, level: 5, xp: w.xp, value: skill === 'overall' ? 0 : w.value };
  const fixed = (): number => c.rank + [c.level, c.xp, c.value].filter((x) => x > 0).reduce((a, x) => a + x + GAP, 0) + GAP;
  const order: Array<'xp' | 'level' | 'value'> = ['xp', 'level', 'value'];
  for (const drop of order) {
    if (avail - fixed() >= 8) break;
    c[drop] = 0;
  }
  c.name = Math.max(1, Math.min(avail - fixed(), Math.max(12, Math.min(w.name, 32))));
  return c;
}

// The screen: `rows` lines (a snapshot: as many as it takes), each exactly `cols` columns
// wide (a snapshot: trailing blanks trimmed), with the paint's escapes around the text.
export function render(view: View, scene: Scene, cols: number, rows: number): string[] {
  if (cols < MIN_COLS || (rows < MIN_ROWS && !scene.snapshot)) {
    const lines = [fitText('terminal too small', Math.max(0, cols), 'left', glyphs(scene.ascii).ellipsis)];
    while (lines.length < rows) lines.push(' '.repeat(Math.max(0, cols)));
    return lines.slice(0, Math.max(0, rows));
  }
  let lines: string[];
  switch (view.page) {
    case 'board':
      lines = boardPage(view, scene, cols, rows);
      break;
    case 'user':
      lines = userPage(view, scene, cols, rows);
      break;
    case 'help':
      lines = helpPage(scene, cols, rows);
      break;
  }
  if (scene.snapshot) return lines.map((l) => (scene.paint.colour ? l : l.trimEnd()));
  while (lines.length < rows) lines.push(' '.repeat(cols));
  return lines.slice(0, rows);
}

function asofOf(view: View, scene: Scene): string | undefined {
  try {
    const asof = (s: SkillId): string | undefined => {
      const b = boardOf(scene, view.window, s, view.cluster);
      return b === 'loading' ? undefined : b?.asof;
    };
    return asof(view.skill) ?? asof('overall');
  } catch {
    return undefined;
  }
}

function titleLine(view: View, scene: Scene, cols: number): string {
  const asof = asofOf(view, scene);
  const right = asof === undefined ? '' : `as of ${formatAsof(asof)} `;
  const left = ' SB HIGH SCORES';
  const b = new LineBuilder(cols, scene);
  const room = cols - left.length;
  if (room >= right.length + 1) b.cell(left, cols - right.length, scene.paint.title).cell(right, right.length, scene.paint.title);
  else b.cell(left, cols, scene.paint.title);
  return b.done(scene.paint.title);
}

function contextLine(parts: string[], scene: Scene, cols: number): string {
  const g = glyphs(scene.ascii);
  const b = new LineBuilder(cols, scene);
  b.cell(' ', 1);
  parts.forEach((p, i) => {
    if (i > 0) b.cell(g.sep, undefined, scene.paint.brown);
    b.cell(p, undefined, i === parts.length - 1 ? scene.paint.gold : undefined);
  });
  return b.done();
}

function boardPage(view: View, scene: Scene, cols: number, rows: number): string[] {
  const { paint } = scene;
  const g = glyphs(scene.ascii);
  const label = skillLabel(view.skill);
  const shown = shownRows(view, scene);
  const { side, pageRows } = layout(scene, cols, rows);
  const lines: string[] = [titleLine(view, scene, cols), contextLine([clusterLabel(view.cluster), windowLabel(view.window), ...groupPart(view), ...sincePart(shown.board), ...countedPart(shown.board), label.title], scene, cols)];
  const tableX = side > 0 ? side + 1 : 0;
  const avail = cols - tableX - 1;
  const c = tableColumns(avail, shown.board, scene.snapshot ? shown.rows : (shown.board?.rows ?? []), view.skill, scene);
  const sidePanel = side > 0 ? sideLines(view, scene, side) : [];
  const sideAt = (i: number, b: LineBuilder): void => {
    if (side === 0) return;
    const s = sidePanel[i];
    if (s === undefined) b.cell('', side);
    else b.cell(s.text, side, s.style);
    b.cell(g.bar, 1, paint.brown);
  };

  // The table's head.
  const head = new LineBuilder(cols, scene);
  sideAt(0, head);
  head.cell(' ', 1).cell('Rank', c.rank, paint.head, 'right').cell('', GAP).cell(view.group === 'accounts' ? 'Account' : 'Name', c.name, paint.head);
  if (c.level > 0) head.cell('', GAP).cell('Level', c.level, paint.head, 'right');
  if (c.xp > 0) head.cell('', GAP).cell('XP', c.xp, paint.head, 'right');
  if (c.value > 0) head.cell('', GAP).cell(label.unit, c.value, paint.head, 'right');
  lines.push(head.done());

  const body = scene.snapshot ? shown.rows.length + (shown.rows.length === 0 ? 1 : 0) : pageRows;
  const top = scene.snapshot ? 0 : clampTop(view.top, view.selected, shown.rows.length, pageRows);
  for (let i = 0; i < body; i++) {
    const b = new LineBuilder(cols, scene);
    sideAt(i + 1, b);
    const r = shown.rows[top + i];
    if (r === undefined) {
      if (i === 0 && shown.rows.length === 0) {
        const why = shown.problem ?? (view.filter !== '' ? `no name holds '${view.filter}'` : 'no one on this board yet');
        b.cell(' ', 1).cell(why, undefined, shown.failed === true ? paint.error : paint.muted);
      }
      lines.push(b.done());
      continue;
    }
    const sel = !scene.snapshot && top + i === view.selected;
    const st = sel ? paint.selected : undefined;
    const levelStyle = sel ? paint.selected : r.level >= 99 && view.skill !== 'overall' ? paint.gold : undefined;
    b.cell(' ', 1, st).cell(String(r.rank), c.rank, sel ? st : paint.brown, 'right').cell('', GAP, st);
    b.cell(showName(r.user, scene.ascii), c.name, st).place();
    if (c.level > 0) b.cell('', GAP, st).cell(String(r.level), c.level, levelStyle, 'right');
    if (c.xp > 0) b.cell('', GAP, st).cell(formatWhole(r.xp), c.xp, st, 'right');
    if (c.value > 0) b.cell('', GAP, st).cell(formatValue(r.value, label.decimals), c.value, st, 'right');
    if (sel) b.cell(' ', Math.max(0, cols - b.width), st);
    lines.push(b.done());
  }
  if (!scene.snapshot) lines.push(keyBar(view, scene, cols, shown.rows.length, ['Tab skill', 'w window', 'g cluster', ...(groupsOf(scene.source).length > 1 ? ['a accounts'] : []), 's sort', '/ filter', `Enter ${view.group === 'accounts' ? 'account' : 'user'}`, '? keys', 'q quit']));
  return lines;
}

// The first row on screen that keeps the selected row in view.
export function clampTop(top: number, selected: number, count: number, pageRows: number): number {
  let t = Math.min(top, Math.max(0, count - pageRows));
  if (selected < t) t = selected;
  if (selected >= t + pageRows) t = selected - pageRows + 1;
  return Math.max(0, t);
}

interface SideLine {
  text: string;
  style?: (s: string) => string;
}

function sideLines(view: View, scene: Scene, width: number): SideLine[] {
  const { paint } = scene;
  const g = glyphs(scene.ascii);
  const out: SideLine[] = [{ text: ' Skills', style: paint.head }];
  for (const s of scene.source.skills) {
    const name = skillLabel(s).name;
    out.push(s === view.skill ? { text: ` ${g.mark} ${name}`, style: paint.selected } : { text: `   ${name}` });
  }
  const group = (title: string, items: readonly string[], current: string, name: (x: string) => string): void => {
    out.push({ text: '' }, { text: ` ${title}`, style: paint.head });
    for (const x of items) out.push(x === current ? { text: ` ${g.mark} ${name(x)}`, style: paint.gold } : { text: `   ${name(x)}`, style: paint.muted });
  };
  group('Window (w)', scene.source.windows, view.window, windowLabel);
  group('Cluster (g)', scene.source.clusters, view.cluster, clusterLabel);
  const groups = groupsOf(scene.source);
  if (groups.length > 1) group('Board (a)', groups.map((x) => x.id), view.group, groupLabel);
  return out.map((l) => ({ ...l, text: clipText(l.text, width, g.ellipsis) }));
}

function keyBar(view: View, scene: Scene, cols: number, count: number, hints: string[]): string {
  const { paint } = scene;
  const g = glyphs(scene.ascii);
  const b = new LineBuilder(cols, scene);
  const pos = view.page === 'board' ? (count === 0 ? '0 of 0 ' : `${view.selected + 1} of ${formatWhole(count)} `) : '';
  const room = cols - pos.length - 1;
  if (view.editing) {
    b.cell(' Filter: ', undefined, paint.gold).cell(view.filter, undefined).cell(g.cursor, 1, paint.gold).cell('  Enter keeps, Esc clears', undefined, paint.muted);
  } else if (view.message !== undefined) {
    b.cell(' ' + view.message, room, paint.gold);
  } else {
    b.cell(' ', 1);
    if (view.filter !== '' && view.page === 'board') b.cell(`filter '${view.filter}' (Esc clears)  `, undefined, paint.gold);
    for (const h of hints) {
      if (b.width + textWidth(h) + 2 > room) break;
      const sp = h.indexOf(' ');
      b.cell(h.slice(0, sp), undefined, paint.gold).cell(h.slice(sp) + '  ', undefined, paint.muted);
    }
  }
  if (pos !== '' && b.width <= cols - pos.length) {
    b.cell('', cols - pos.length - b.width).cell(pos, pos.length, paint.brown);
  }
  return b.done();
}

// A user's row on a board, found by name (a Map per board, made when first asked).
const userIndex = new WeakMap<Board, Map<string, Row>>();

export function userRow(board: Board | undefined, user: string): Row | undefined {
  if (board === undefined) return undefined;
  let idx = userIndex.get(board);
  if (idx === undefined) {
    idx = new Map();
    for (const r of board.rows) if (!idx.has(r.user)) idx.set(r.user, r);
    userIndex.set(board, idx);
  }
  return idx.get(user);
}

// The months a user chart covers: up to `most` months, ending with the store's last month.
// At least a year (months before the store's first count as none), so charts compare.
export function chartMonths(history: History, most: number): string[] {
  const last = history.lastMonth();
  const first = history.firstMonth();
  if (last === undefined || first === undefined) return [];
  const y = Number(last.slice(0, 4));
  const m = Number(last.slice(5, 7));
  const yearBefore = m === 12 ? `${y}-01` : `${y - 1}-${String(m + 1).padStart(2, '0')}`;
  const all = monthsBetween(first < yearBefore ? first : yearBefore, last);
  return all.slice(Math.max(0, all.length - Math.max(1, most)));
}

function userPage(view: View, scene: Scene, cols: number, rows: number): string[] {
  const { paint } = scene;
  const g = glyphs(scene.ascii);
  const user = view.user ?? '';
  const lines: string[] = [titleLine(view, scene, cols), contextLine([clusterLabel(view.cluster), windowLabel(view.window), ...groupPart(view), showName(user, scene.ascii)], scene, cols)];
  const skills = scene.source.skills;
  const found = skills.map((s) => {
    try {
      const board = boardOf(scene, view.window, s, view.cluster);
      if (board === 'loading') return { skill: s, row: undefined, problem: undefined, loading: true };
      return { skill: s, row: userRow(board, user), problem: undefined as string | undefined, loading: false };
    } catch (err) {
      if (err instanceof SbError && !scene.snapshot) return { skill: s, row: undefined, problem: err.message, loading: false };
      throw err;
    }
  });
  const titles = found.map((f) => skillLabel(f.skill));
  const rankW = Math.max(4, ...found.map((f) => formatWhole(f.row?.rank ?? 0).length));
  const xpW = Math.max(2, ...found.map((f) => formatWhole(f.row?.xp ?? 0).length));
  const numW = Math.max(5, ...found.map((f) => (f.row && f.skill !== 'overall' ? formatValue(f.row.value, skillLabel(f.skill).decimals).length : 0)));
  const unitW = Math.max(...titles.map((l) => (l.id === 'overall' ? 0 : textWidth(l.unit))));
  const longW = Math.max(...titles.map((l) => textWidth(l.title)));
  const shortW = Math.max(...titles.map((l) => textWidth(l.name)));
  // Full skill titles when everything fits with them, else the short names.
  const need = (sw: number): number => 1 + sw + GAP + rankW + GAP + 5 + GAP + xpW + GAP + numW + 1 + unitW;
  const long = need(longW) <= cols;
  const skillW = long ? longW : shortW;
  let avail = cols - 1 - skillW - GAP - rankW;
  const showLevel = avail >= GAP + 5;
  if (showLevel) avail -= GAP + 5;
  const showXp = avail >= GAP + xpW;
  if (showXp) avail -= GAP + xpW;
  const showValue = avail >= GAP + numW;
  if (showValue) avail -= GAP + numW;
  const showUnit = showValue && avail >= 1 + unitW;
  const head = new LineBuilder(cols, scene).cell(' ', 1).cell('Skill', skillW, paint.head).cell('', GAP).cell('Rank', rankW, paint.head, 'right');
  if (showLevel) head.cell('', GAP).cell('Level', 5, paint.head, 'right');
  if (showXp) head.cell('', GAP).cell('XP', xpW, paint.head, 'right');
  if (showValue) head.cell('', GAP).cell('Value', numW, paint.head, 'right');
  lines.push(head.done());
  for (const f of found) {
    const label = skillLabel(f.skill);
    const sel = !scene.snapshot && f.skill === view.userSkill;
    const st = sel ? paint.selected : undefined;
    const b = new LineBuilder(cols, scene).cell(' ', 1, st).cell(long ? label.title : label.name, skillW, sel ? st : paint.gold).cell('', GAP, st);
    const r = f.row;
    const none = f.loading ? g.ellipsis : g.dash;
    b.cell(r ? formatWhole(r.rank) : none, rankW, sel ? st : paint.brown, 'right');
    if (showLevel) b.cell('', GAP, st).cell(r ? String(r.level) : none, 5, sel ? st : r && r.level >= 99 && f.skill !== 'overall' ? paint.gold : undefined, 'right');
    if (showXp) b.cell('', GAP, st).cell(r ? formatWhole(r.xp) : none, xpW, st, 'right');
    if (showValue) {
      const v = f.problem !== undefined ? 'unreadable' : r === undefined ? (f.skill === 'overall' && f.loading ? '' : none) : f.skill === 'overall' ? '' : formatValue(r.value, label.decimals);
      b.cell('', GAP, st).cell(v, numW, f.problem !== undefined ? paint.error : st, 'right');
      if (showUnit && r !== undefined && f.skill !== 'overall') b.cell(' ', 1, st).cell(label.unit, unitW, sel ? st : paint.muted);
    }
    if (sel) b.cell('', Math.max(0, cols - b.width), st);
    lines.push(b.done());
  }
  if (found.every((f) => f.row === undefined && !f.loading)) lines.push(new LineBuilder(cols, scene).cell(` ${showName(user, scene.ascii)} is on no board of ${windowLabel(view.window)}, ${clusterLabel(view.cluster)}`, undefined, paint.muted).done());
  lines.push(new LineBuilder(cols, scene).done());
  lines.push(...chartLines(view, scene, cols, user));
  if (!scene.snapshot) {
    const used = lines.length;
    for (let i = used; i < rows - 1; i++) lines.push(new LineBuilder(cols, scene).done());
    lines.length = Math.min(lines.length, rows - 1);
    lines.push(keyBar(view, scene, cols, 0, ['Esc back', 'Enter skill', 'j/k move', 'w window', 'g cluster', '? keys', 'q quit']));
  }
  return lines;
}

function chartLines(view: View, scene: Scene, cols: number, user: string): string[] {
  const { paint } = scene;
  const label = skillLabel(view.userSkill);
  const metricTitle = skillLabel(label.chart).title;
  const line = (text: string, style?: (s: string) => string): string => new LineBuilder(cols, scene).cell(text, undefined, style).done();
  if (scene.history === undefined) return [line(' No monthly history: rank records carry none (give --root for the store\'s rollups)', paint.muted)];
  if (view.group !== '') return [line(' Monthly history is kept for users on the user boards (a: switch)', paint.muted)];
  const most = Math.max(1, Math.min(36, Math.floor((cols - 4) / 2)));
  const months = chartMonths(scene.history, most);
  if (months.length === 0) return [line(' No monthly rollups in the store', paint.muted)];
  const what = `${metricTitle} per month, ${clusterLabel(view.cluster).toLowerCase()}`;
  if (scene.lazy === true && !scene.history.hasSeries(user, view.cluster, months)) {
    const problem = scene.history.problem(user, view.cluster);
    return problem !== undefined ? [line(` ${what}: ${problem}`, paint.error)] : [line(` ${what}: ${loadingText(scene)}`, paint.muted)];
  }
  const series = scene.history.series(user, view.cluster, label.chart, months);
  const values = series.map((s) => s.value);
  const max = Math.max(0, ...values);
  const barW = Math.max(1, Math.min(3, Math.floor((cols - 2) / months.length) - 1));
  const gap = barW > 1 ? ' ' : '';
  const spark = sparkline(values, scene.ascii);
  const bars = [...spark].map((ch) => ch.repeat(barW)).join(gap);
  const best = series.reduce((a, s) => (s.value > a.value ? s : a), series[0] as { month: string; value: number });
  const unit = skillLabel(label.chart).unit;
  const long = `${what}: most ${formatShort(max)} ${unit} in ${monthLabel(best.month)}`;
  const headText = max === 0 ? `${what}: none` : textWidth(long) < cols ? long : `${what}: most ${formatShort(max)}`;
  const out = [line(` ${headText}`, paint.head), new LineBuilder(cols, scene).cell(' ', 1).cell(bars, undefined, paint.gold).done()];
  if (barW >= 3) {
    // A slot of four columns a month: its name, and the year under each January and the first.
    out.push(line(' ' + months.map((m) => (MONTH_ABBR[Number(m.slice(5, 7)) - 1] ?? '???').padEnd(barW)).join(gap), paint.muted));
    const years = Array.from({ length: months.length * (barW + 1) }, () => ' ');
    const jan = months.findIndex((m) => m.endsWith('-01'));
    months.forEach((m, i) => {
      // Under each January, and under the first month unless a January comes right after it.
      if (m.endsWith('-01') || (i === 0 && jan !== 1)) [...m.slice(0, 4)].forEach((ch, j) => (years[i * (barW + 1) + j] = ch));
    });
    out.push(line(' ' + years.join(''), paint.muted));
  } else {
    const first = months[0] as string;
    const last = months[months.length - 1] as string;
    const span = textWidth(bars);
    out.push(line(' ' + (span >= first.length + last.length + 1 ? first + ' '.repeat(span - first.length - last.length) + last : `${first} to ${last}`), paint.muted));
  }
  return out;
}

const MONTH_ABBR = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function monthLabel(m: string): string {
  return windowLabel(`month-${m}`);
}

const KEYS: Array<[string, string]> = [
  ['Tab, m', 'next skill'],
  ['M, Shift-Tab', 'previous skill'],
  ['w, W', 'next, previous window'],
  ['g, G', 'next, previous cluster (all, then each)'],
  ['a, A', 'next, previous boards: users, accounts, each account'],
  ['s', 'sort: rank 1 first, or last first'],
  ['f, /', 'filter by name (Enter keeps it, Esc clears it)'],
  ['j, k, Down, Up', 'move one row'],
  ['PgDn, PgUp', 'move one page'],
  ['Home, End', 'first, last row'],
  ['Enter', "the selected user's (account's) page; there, that skill's board"],
  ['Esc, Backspace', 'back'],
  ['r', 'read the boards again'],
  ['?', 'these keys'],
  ['q, Ctrl-C', 'quit'],
];

function helpPage(scene: Scene, cols: number, rows: number): string[] {
  const { paint } = scene;
  const line = (cells: Array<[string, number | undefined, ((s: string) => string) | undefined]>): string => {
    const b = new LineBuilder(cols, scene);
    for (const [t, w, s] of cells) b.cell(t, w, s);
    return b.done();
  };
  const lines = [line([[' SB HIGH SCORES: KEYS', cols, paint.title]]), line([]), ...KEYS.map(([k, what]) => line([['   ', 3, undefined], [k, 17, paint.gold], [what, undefined, undefined]]))];
  while (lines.length < rows - 1) lines.push(line([]));
  lines.length = Math.min(lines.length, rows - 1);
  lines.push(line([[' any key: back', undefined, paint.muted]]));
  return lines;
}

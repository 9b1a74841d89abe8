import type { Output } from '../../core/cli/output.js';
import { levelForXp } from '../../core/scores/xp.js';
import { GroupedBoards, type BoardGroup, type BoardSource, type Row, type SkillId } from './boards.js';
import type { History } from './history.js';
import { clusterLabel, formatAsof, formatValue, formatWhole, skillLabel, windowLabel } from './labels.js';
import { PAGE_SCRIPT } from './page-script.js';
import { PAGE_STYLE } from './page-style.js';
import { chartMonths, userRow } from './screen.js';
import { showName } from './show-name.js';

export interface PageOptions {
  source: BoardSource;
  history: History | undefined;
  // What the page holds (the first of each is the board it opens on).
  windows: string[];
  clusters: string[];
  skills: SkillId[];
  top: number;
  user: string | undefined;
}

// Each skill's picture in the skill list (the hiscores have one per skill).
export const SKILL_ICONS: Record<SkillId, string> = {
  overall: '🏆',
  clock_hours: '⚙️',
  elapsed_hours: '⏳',
  gpu_clock_hours: '⚡',
  gpu_elapsed_hours: '🔋',
  jobs: '📜',
  gpu_jobs: '🔮',
  failed_jobs: '💀',
  mem_req_gb_hours: '📦',
  mem_used_gb_hours: '🧠',
};

export const PAGE_ROWS = 25;
const MONTHS_SHOWN = 24;

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_CODES = Uint8Array.from(B64, (c) => c.charCodeAt(0));

// Whole numbers as base64 VLQ (the source maps' code: 5 bits a character, sign in the lowest
// bit); arithmetic, not bit operations, so values past 2^31 survive.
export function vlq(values: readonly number[]): string {
  let buf = Buffer.allocUnsafe(Math.max(16, values.length * 3));
  let at = 0;
  for (const v of values) {
    if (at + 11 > buf.length) {
      const bigger = Buffer.allocUnsafe(buf.length * 2);
      buf.copy(bigger, 0, 0, at);
      buf = bigger;
    }
    let n = v < 0 ? -v * 2 + 1 : v * 2;
    do {
      let digit = n % 32;
      n = Math.floor(n / 32);
      if (n > 0) digit += 32;
      buf[at++] = B64_CODES[digit] as number;
    } while (n > 0);
  }
  return buf.toString('latin1', 0, at);
}

export function unvlq(text: string): number[] {
  const out: number[] = [];
  let n = 0;
  let scale = 1;
  for (const ch of text) {
    const d = B64.indexOf(ch);
    n += (d % 32) * scale;
    if (d >= 32) {
      scale *= 32;
      continue;
    }
    out.push(n % 2 === 1 ? -(n - 1) / 2 : n / 2);
    n = 0;
    scale = 1;
  }
  return out;
}

// How a board's levels are carried: 0 from each row's XP on the OSRS table, 1 equal to the
// value (Overall: the total level), 2 written out.
function levelMode(rows: readonly Row[], skill: SkillId): 0 | 1 | 2 {
  if (skill === 'overall' ? rows.every((r) => r.level === r.value) : false) return 1;
  if (skill !== 'overall' && rows.every((r) => r.level === levelForXp(r.xp))) return 0;
  return 2;
}

// A board as numbers: count, level mode, then per row the user's index, and the differences
// to the row before of rank, value (in its shown decimals) and XP (boards are sorted, so
// these are small), and the level when it is written out.
export function encodeBoard(rows: readonly Row[], skill: SkillId, userId: (u: string) => number): string {
  const mode = levelMode(rows, skill);
  const scale = 10 ** skillLabel(skill).decimals;
  const nums: number[] = [rows.length, mode];
  let rank = 0;
  let value = 0;
  let xp = 0;
  for (const r of rows) {
    const v = Math.round(r.value * scale);
    nums.push(userId(r.user), r.rank - rank, value - v, xp - r.xp);
    if (mode === 2) nums.push(r.level);
    rank = r.rank;
    value = v;
    xp = r.xp;
  }
  return vlq(nums);
}

// Text for HTML: & < > " ' as entities.
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// JSON safe inside <script>: no '<' (so no '</script>' or '<!--'), '>', '&', U+2028/2029.
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

interface PageData {
  v: 1;
  asof: string;
  users: string[];
  windows: Array<{ id: string; label: string }>;
  clusters: Array<{ id: string; label: string }>;
  skills: Array<{ id: SkillId; name: string; title: string; unit: string; dec: number; icon: string }>;
  start: { w: string; s: SkillId; c: string; u?: number; g: string };
  // the groups of boards: '' users, 'accounts', 'account/<name>' (keys of boards: w|s|c, then |g)
  groups: Array<{ id: string; label: string }>;
  boards: Record<string, string>;
  // board key → YYYY-MM-DD: the board's account data are complete since that day
  since: Record<string, string>;
  // board key → the note of an 'all' board summing a cluster counted only to an earlier time
  counted: Record<string, string>;
  hist?: { months: string[]; title: string; unit: string; scopes: Record<string, string> };
}

// The page: CSS, data and script inline, nothing fetched. The board it opens on (or the
// user's page) is in the HTML itself, so it reads without JavaScript.
// A board's key in the page's data: window|skill|cluster, and |group but for the user boards.
export function boardKey(w: string, s: SkillId, c: string, g: string): string {
  return g === '' ? `${w}|${s}|${c}` : `${w}|${s}|${c}|${g}`;
}

export function buildPage(o: PageOptions): string {
  const { source } = o;
  const boards = new Map<string, Row[]>();
  const since: Record<string, string> = {};
  const counted: Record<string, string> = {};
  const names = new Set<string>();
  let asof: string | undefined;
  const groups: BoardGroup[] = source instanceof GroupedBoards ? source.groups.filter((g) => g.source.windows.length > 0) : [{ id: '', label: 'Users', source }];
  const start = source instanceof GroupedBoards ? source.group : '';
  for (const g of groups) {
    for (const w of o.windows) {
      for (const c of o.clusters) {
        for (const s of o.skills) {
          const b = g.source.board(w, s, c);
          if (b === undefined) continue;
          const rows = Number.isFinite(o.top) ? b.rows.filter((r) => r.rank <= o.top) : b.rows;
          const k = boardKey(w, s, c, g.id);
          boards.set(k, rows);
          if (b.accountsSince !== undefined) since[k] = b.accountsSince;
          if (b.countedTo !== undefined) counted[k] = countedNote(b.countedTo);
          for (const r of rows) names.add(r.user);
          if (b.asof !== undefined && (asof === undefined || b.asof > asof)) asof = b.asof;
        }
      }
    }
  }
  const users = [...names].sort();
  const ids = new Map(users.map((u, i) => [u, i]));
  const id = (u: string): number => ids.get(u) as number;
  const data: PageData = {
    v: 1,
    asof: formatAsof(asof),
    users: users.map((u) => showName(u)),
    windows: o.windows.map((w) => ({ id: w, label: windowLabel(w) })),
    clusters: o.clusters.map((c) => ({ id: c, label: clusterLabel(c) })),
    skills: o.skills.map((s) => {
      const l = skillLabel(s);
      return { id: s, name: l.name, title: l.title, unit: l.unit, dec: l.decimals, icon: SKILL_ICONS[s] };
    }),
    start: { w: o.windows[0] as string, s: o.skills[0] as SkillId, c: o.clusters[0] as string, ...(o.user !== undefined && ids.has(o.user) ? { u: id(o.user) } : {}), g: start },
    groups: groups.map((g) => ({ id: g.id, label: g.label })),
    boards: {},
    since,
    counted,
  };
  for (const [k, rows] of boards) data.boards[k] = encodeBoard(rows, k.split('|')[1] as SkillId, id);
  if (o.history !== undefined) {
    const months = chartMonths(o.history, MONTHS_SHOWN);
    if (months.length > 0) {
      const scopes: Record<string, string> = {};
      for (const c of o.clusters) {
        const per = months.map((m) => o.history?.allUsers(c, m) ?? new Map());
        const nums: number[] = [];
        for (const u of users) {
          for (const m of per) {
            const t = m.get(u);
            nums.push(t === undefined ? 0 : Math.round(t.cpu_s / 3600));
          }
        }
        scopes[c] = vlq(nums);
      }
      data.hist = { months, title: 'CPU core-hours', unit: 'core-hours', scopes };
    }
  }
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="generator" content="sb-render">',
    '<title>High Scores</title>',
    `<style>${PAGE_STYLE}</style>`,
    '</head>',
    '<body>',
    staticBody(o, data, boards),
    `<script type="application/json" id="sb-data">${scriptJson(data)}</script>`,
    `<script>${PAGE_SCRIPT}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

// The page as it reads before (or without) the script: the first board, its first 25 rows.
function staticBody(o: PageOptions, data: PageData, boards: Map<string, Row[]>): string {
  const { w, s, c, g } = data.start;
  const label = skillLabel(s);
  const rows = boards.get(boardKey(w, s, c, g)) ?? [];
  const since = data.since[boardKey(w, s, c, g)];
  const counted = data.counted[boardKey(w, s, c, g)];
  const groupName = g === '' ? '' : ` · ${escapeHtml(data.groups.find((x) => x.id === g)?.label ?? g)}`;
  const skillList = data.skills
    .map((k) => `<li><a href="#s=${k.id}" data-skill="${k.id}"${k.id === s ? ' class="on" aria-current="true"' : ''}><span class="icon" aria-hidden="true">${k.icon}</span>${escapeHtml(k.name)}</a></li>`)
    .join('');
  const tabs = (kind: string, items: Array<{ id: string; label: string }>, on: string): string =>
    items.map((x) => `<button type="button" data-${kind}="${escapeHtml(x.id)}"${x.id === on ? ' class="on" aria-pressed="true"' : ' aria-pressed="false"'}>${escapeHtml(x.label)}</button>`).join('');
  const valueHead = s === 'overall' ? '' : `<th class="num value">${escapeHtml(label.unit)}</th>`;
  const body = rows
    .slice(0, PAGE_ROWS)
    .map((r) => {
      const value = s === 'overall' ? '' : `<td class="num value">${formatValue(r.value, label.decimals)}</td>`;
      return `<tr><td class="num rank">${formatWhole(r.rank)}</td><td class="name"><a href="#u=${encodeURIComponent(showName(r.user))}">${escapeHtml(showName(r.user))}</a></td><td class="num level">${r.level}</td><td class="num xp">${formatWhole(r.xp)}</td>${value}</tr>`;
    })
    .join('\n');
  const pages = Math.max(1, Math.ceil(rows.length / PAGE_ROWS));
  const user = o.user !== undefined && data.start.u !== undefined ? staticUser(o, o.user) : '';
  return `<div class="frame">
<header class="banner"><h1>High Scores</h1><p class="asof">as of <time>${escapeHtml(data.asof)}</time></p></header>
<div class="scroll">
<div class="side">
<aside class="search"><form id="search" role="search"><label for="q">Search by name</label><input id="q" name="q" type="search" autocomplete="off" spellcheck="false" placeholder="Name"><button type="submit">Search</button></form><p id="search-note" class="note" aria-live="polite"></p></aside>
<nav class="skills" aria-label="Skills"><h2>Skills</h2><ul id="skills">${skillList}</ul></nav>
</div>
<main id="main">
<div class="switchers">
<div class="switch" role="group" aria-label="Window"><span class="switch-label">Window</span><span id="windows">${tabs('window', data.windows, w)}</span></div>
<div class="switch" role="group" aria-label="Cluster"><span class="switch-label">Cluster</span><span id="clusters">${tabs('cluster', data.clusters, c)}</span></div>
<div class="switch" role="group" aria-label="Boards"${data.groups.length > 1 ? '' : ' hidden'}><span class="switch-label">Boards</span><span id="groups">${tabs('group', data.groups.filter((x) => !x.id.startsWith('account/')), g)}</span>${accountPicker(data.groups, g)}</div>
</div>
<section id="board-view"${user !== '' ? ' hidden' : ''}>
<h2 id="board-title"><span class="icon" aria-hidden="true">${SKILL_ICONS[s]}</span> ${escapeHtml(label.title)} <small>${escapeHtml(windowLabel(w))} · ${escapeHtml(clusterLabel(c))}${groupName}</small></h2>
<p class="note" id="since"${since === undefined ? ' hidden' : ''}>${since === undefined ? '' : sinceNote(since)}</p>
<p class="note" id="counted"${counted === undefined ? ' hidden' : ''}>${counted === undefined ? '' : escapeHtml(counted)}</p>
<table class="hiscores" id="board"><thead><tr><th class="num rank">Rank</th><th class="name">${g === 'accounts' ? 'Account' : 'Name'}</th><th class="num level">Level</th><th class="num xp">XP</th>${valueHead}</tr></thead>
<tbody id="rows">
${body || '<tr><td colspan="5" class="empty">No one on this board yet</td></tr>'}
</tbody></table>
<div class="pager" id="pager"><span class="pos">Page 1 of ${pages}</span></div>
<noscript><p class="note">The other boards, the search and the pages need JavaScript.</p></noscript>
</section>
<section id="user-view"${user === '' ? ' hidden' : ''}>${user}</section>
</main>
</div>
<footer>sb high scores · ${escapeHtml(String(data.users.length))} ${data.groups.length > 1 ? 'names' : 'users'} · levels on the Old School RuneScape experience table</footer>
</div>`;
}

// One account's boards: a list to pick from (there may be hundreds of accounts).
function accountPicker(groups: PageData['groups'], on: string): string {
  const accounts = groups.filter((x) => x.id.startsWith('account/'));
  if (accounts.length === 0) return '';
  const options = accounts.map((x) => `<option value="${escapeHtml(x.id)}"${x.id === on ? ' selected' : ''}>${escapeHtml(x.label.replace(/^Account /, ''))}</option>`).join('');
  return `<label class="switch-label" for="account-pick">One account</label><select id="account-pick"${on.startsWith('account/') ? ' class="on"' : ''}><option value="">choose…</option>${options}</select>`;
}

// What an account board over days without account data says (the script says the same).
export function sinceNote(day: string): string {
  return `Accounts since ${day}: jobs counted before the store kept accounts are in no account.`;
}

// What an 'all' board summing a cluster counted only to an earlier time says.
export function countedNote(countedTo: Record<string, string>): string {
  const list = Object.entries(countedTo).map(([c, t]) => `${c} to ${formatAsof(t)}`);
  return `Counted only ${list.join(', ')}: this board holds none of ${list.length === 1 ? 'its' : 'their'} later jobs, and all of the other clusters'.`;
}

function staticUser(o: PageOptions, user: string): string {
  const w = o.windows[0] as string;
  const c = o.clusters[0] as string;
  const rows = o.skills
    .map((s) => {
      const label = skillLabel(s);
      const r = userRow(o.source.board(w, s, c), user);
      const value = s === 'overall' || r === undefined ? '' : `${formatValue(r.value, label.decimals)} ${escapeHtml(label.unit)}`;
      return `<tr><td class="skill"><span class="icon" aria-hidden="true">${SKILL_ICONS[s]}</span>${escapeHtml(label.title)}</td><td class="num rank">${r ? formatWhole(r.rank) : '–'}</td><td class="num level">${r ? r.level : '–'}</td><td class="num xp">${r ? formatWhole(r.xp) : '–'}</td><td class="num value">${value}</td></tr>`;
    })
    .join('\n');
  return `<h2 id="user-title">Personal scores for <span class="who">${escapeHtml(showName(user))}</span> <small>${escapeHtml(windowLabel(w))} · ${escapeHtml(clusterLabel(c))}</small></h2>
<table class="hiscores personal"><thead><tr><th class="skill">Skill</th><th class="num rank">Rank</th><th class="num level">Level</th><th class="num xp">XP</th><th class="num value">Value</th></tr></thead><tbody>
${rows}
</tbody></table>`;
}

export async function writePage(out: Output, o: PageOptions): Promise<void> {
  out.line(buildPage(o).replace(/\n$/, ''));
  await out.flush();
}

import { GroupedBoards } from './boards.js';
import { SbError } from '../../core/cli/errors.js';
import type { SkillId } from './boards.js';
import { clampTop, layout, shownRows, type Scene, type View } from './screen.js';

// Keys by name: 'tab', 'shift-tab', 'enter', 'esc', 'backspace', 'up', 'down', 'left', 'right',
// 'pgup', 'pgdn', 'home', 'end', 'ctrl-c', 'ctrl-u', or the character typed.
export type Key = string;

const SEQUENCES: Record<string, Key> = {
  '[A': 'up',
  '[B': 'down',
  '[C': 'right',
  '[D': 'left',
  OA: 'up',
  OB: 'down',
  OC: 'right',
  OD: 'left',
  '[H': 'home',
  '[F': 'end',
  OH: 'home',
  OF: 'end',
  '[1~': 'home',
  '[4~': 'end',
  '[7~': 'home',
  '[8~': 'end',
  '[5~': 'pgup',
  '[6~': 'pgdn',
  '[Z': 'shift-tab',
  '[3~': 'delete',
};

// The keys in one read from the terminal (several when typed fast or pasted).
export function parseKeys(data: string): Key[] {
  const keys: Key[] = [];
  let i = 0;
  while (i < data.length) {
    const ch = data[i] as string;
    if (ch === '\x1b') {
      const rest = data.slice(i + 1);
      const m = /^(\[[0-9;]*[~A-Za-z]|O[A-Za-z])/.exec(rest);
      if (m) {
        const seq = (m[1] as string).replace(/^\[1;\d+([A-Za-z])$/, '[$1');
        keys.push(SEQUENCES[seq] ?? 'unknown');
        i += 1 + (m[1] as string).length;
      } else {
        keys.push('esc');
        i++;
      }
      continue;
    }
    const code = ch.charCodeAt(0);
    if (ch === '\r' || ch === '\n') keys.push('enter');
    else if (ch === '\t') keys.push('tab');
    else if (code === 0x7f || code === 0x08) keys.push('backspace');
    else if (code === 0x03) keys.push('ctrl-c');
    else if (code === 0x15) keys.push('ctrl-u');
    else if (code < 0x20) keys.push('unknown');
    else {
      const cp = data.codePointAt(i) as number;
      const s = String.fromCodePoint(cp);
      keys.push(s);
      i += s.length;
      continue;
    }
    i++;
  }
  return keys;
}

export interface KeyContext {
  scene: Scene;
  cols: number;
  rows: number;
}

// What a key does: the next view, or 'quit'. Pure but for reading boards through the scene.
export function update(view: View, key: Key, ctx: KeyContext): View | 'quit' {
  if (key === 'ctrl-c') return 'quit';
  const v: View = { ...view, message: undefined };
  if (view.editing) return editFilter(v, key, ctx);
  if (key === 'q') return 'quit';
  if (view.page === 'help') return { ...v, page: view.from };
  if (key === '?') return { ...v, page: 'help', from: view.page };
  const { source } = ctx.scene;
  switch (key) {
    case 'w':
    case 'W':
      return follow(v, { ...v, window: cycle(source.windows, v.window, key === 'w' ? 1 : -1) }, ctx);
    case 'g':
    case 'G':
      return follow(v, { ...v, cluster: cycle(source.clusters, v.cluster, key === 'g' ? 1 : -1) }, ctx);
    case 'a':
    case 'A': {
      if (!(source instanceof GroupedBoards) || source.groups.length < 2) return { ...v, message: 'no account boards (sb-rank --write --by account)' };
      source.select(cycle(source.groups.map((g) => g.id), source.group, key === 'a' ? 1 : -1));
      // what the new group has of the window, cluster and skill shown
      const keep = <T>(items: readonly T[], x: T): T => (items.includes(x) ? x : (items[0] ?? x));
      const next: View = { ...v, page: 'board', group: source.group, window: keep(source.windows, v.window), cluster: keep(source.clusters, v.cluster), skill: keep(source.skills, v.skill), filter: '' };
      return follow({ ...v, page: 'board' }, next, ctx, true);
    }
    case 'r':
      source.reload();
      ctx.scene.history?.reload();
      return follow(v, { ...v, message: 'read the boards again' }, ctx);
  }
  return view.page === 'user' ? userKey(v, key, ctx) : boardKey(v, key, ctx);
}

function boardKey(v: View, key: Key, ctx: KeyContext): View {
  const { source } = ctx.scene;
  const count = rowCount(v, ctx);
  const page = layout(ctx.scene, ctx.cols, ctx.rows).pageRows;
  const move = (to: number): View => settle({ ...v, selected: Math.max(0, Math.min(count - 1, to)) }, ctx);
  switch (key) {
    case 'tab':
    case 'm':
      return follow(v, { ...v, skill: cycle(source.skills, v.skill, 1) }, ctx);
    case 'M':
    case 'shift-tab':
      return follow(v, { ...v, skill: cycle(source.skills, v.skill, -1) }, ctx);
    case 's':
      // The board from its other end: its first row there.
      return follow(v, { ...v, ascending: !v.ascending }, ctx, true);
    case 'f':
    case '/':
      return { ...v, editing: true };
    case 'j':
    case 'down':
      return move(v.selected + 1);
    case 'k':
    case 'up':
      return move(v.selected - 1);
    case 'pgdn':
    case ' ':
      return settle({ ...v, selected: Math.max(0, Math.min(count - 1, v.selected + page)), top: v.top + page }, ctx);
    case 'pgup':
      return settle({ ...v, selected: Math.max(0, v.selected - page), top: Math.max(0, v.top - page) }, ctx);
    case 'home':
      return move(0);
    case 'end':
      return move(count - 1);
    case 'esc':
    case 'backspace':
      return v.filter !== '' ? follow(v, { ...v, filter: '' }, ctx) : v;
    case 'enter':
    case 'right': {
      const row = shownRows(v, ctx.scene).rows[v.selected];
      return row === undefined ? v : { ...v, page: 'user', user: row.user, userSkill: v.skill };
    }
  }
  return v;
}

function userKey(v: View, key: Key, ctx: KeyContext): View {
  const skills = ctx.scene.source.skills;
  switch (key) {
    case 'j':
    case 'down':
    case 'tab':
    case 'm':
      return { ...v, userSkill: step(skills, v.userSkill, 1) };
    case 'k':
    case 'up':
    case 'M':
    case 'shift-tab':
      return { ...v, userSkill: step(skills, v.userSkill, -1) };
    case 'home':
      return { ...v, userSkill: skills[0] ?? v.userSkill };
    case 'end':
      return { ...v, userSkill: skills[skills.length - 1] ?? v.userSkill };
    case 'enter':
    case 'right':
      return follow(v, { ...v, page: 'board', skill: v.userSkill, filter: '', top: 0 }, ctx);
    case 'esc':
    case 'backspace':
    case 'left':
      return follow(v, { ...v, page: 'board' }, ctx);
  }
  return v;
}

function editFilter(v: View, key: Key, ctx: KeyContext): View {
  switch (key) {
    case 'enter':
      return { ...v, editing: false };
    case 'esc':
      return follow(v, { ...v, editing: false, filter: '' }, ctx);
    case 'backspace':
      return follow(v, { ...v, filter: [...v.filter].slice(0, -1).join('') }, ctx);
    case 'ctrl-u':
      return follow(v, { ...v, filter: '' }, ctx);
  }
  if ([...key].length === 1 && key >= ' ') return follow(v, { ...v, filter: v.filter + key }, ctx, true);
  return v;
}

// The rows shown, or none when the board cannot be read (render says why).
function rowCount(v: View, ctx: KeyContext): number {
  try {
    return shownRows(v, ctx.scene).rows.length;
  } catch (err) {
    if (err instanceof SbError) return 0;
    throw err;
  }
}

// After a change of board, order or filter: keep the selected user selected where they are
// on the new rows (the first row when they are not, or when `first`).
function follow(before: View, after: View, ctx: KeyContext, first = false): View {
  let user: string | undefined;
  try {
    user = shownRows(before, ctx.scene).rows[before.selected]?.user;
  } catch {
    user = undefined;
  }
  if (before.page === 'user' && after.page === 'board') user = before.user;
  if (first) user = undefined;
  if (after.page === 'board' && rowsOf(after, ctx)?.loading === true) return settle({ ...after, selected: 0, top: 0, pending: user }, ctx);
  return select({ ...after, pending: undefined }, user, ctx);
}

// A board being read has arrived: select the user a key wanted kept, as follow() would have.
export function arrived(v: View, ctx: KeyContext): View {
  if (v.page !== 'board' || rowsOf(v, ctx)?.loading === true) return v;
  if (v.pending === undefined) return settle(v, ctx);
  return select({ ...v, pending: undefined }, v.pending, ctx);
}

function rowsOf(v: View, ctx: KeyContext): ReturnType<typeof shownRows> | undefined {
  try {
    return shownRows(v, ctx.scene);
  } catch {
    return undefined;
  }
}

// The user selected on the view's rows, in the middle of the page (the first row when absent).
function select(after: View, user: string | undefined, ctx: KeyContext): View {
  let selected = 0;
  if (user !== undefined) {
    const i = rowsOf(after, ctx)?.rows.findIndex((r) => r.user === user) ?? -1;
    if (i >= 0) selected = i;
  }
  const page = layout(ctx.scene, ctx.cols, ctx.rows).pageRows;
  const top = selected === 0 ? 0 : Math.max(0, selected - Math.floor(page / 2));
  return settle({ ...after, selected, top }, ctx);
}

// The selection inside the rows and the first row on screen keeping it in view.
export function settle(v: View, ctx: KeyContext): View {
  const count = rowCount(v, ctx);
  const page = layout(ctx.scene, ctx.cols, ctx.rows).pageRows;
  const selected = Math.max(0, Math.min(v.selected, count - 1));
  return { ...v, selected, top: clampTop(v.top, selected, count, page) };
}

function cycle<T>(items: readonly T[], current: T, by: number): T {
  if (items.length === 0) return current;
  const i = items.indexOf(current);
  return items[(((i < 0 ? 0 : i + by) % items.length) + items.length) % items.length] as T;
}

function step(items: readonly SkillId[], current: SkillId, by: number): SkillId {
  const i = items.indexOf(current);
  return items[Math.max(0, Math.min(items.length - 1, (i < 0 ? 0 : i) + by))] ?? current;
}

// sb-render's work, loaded only once the command line asks for more than --help or --version:
// the screen, its Unicode width tables and the boards cost more to load than node itself.
import { appendFileSync, closeSync, openSync } from 'node:fs';
import path from 'node:path';
import { ReadStream, type WriteStream } from 'node:tty';
import { type Context, maxOperands, optInt, optList, optString } from '../../core/cli/run.js';
import { forEachRecord } from '../../core/cli/input.js';
import { BadInput, SbError, UsageError } from '../../core/cli/errors.js';
import { storeRoot } from '../../core/store/store.js';
import { ALL, GroupedBoards, NO_ACCOUNT, RecordBoards, SKILL_IDS, StoreBoards, groupLabel, isSkill, recordGroup, storeGroups, type BoardSource, type SkillId } from './boards.js';
import { History } from './history.js';
import { makePaint, utf8Locale, wantColour } from './paint.js';
import { initialView, render, userRow, type Scene, type View } from './screen.js';
import { chartMonths } from './screen.js';
import { skillLabel } from './labels.js';


type Mode = 'tui' | 'text' | 'ansi' | 'json' | 'html';
const MODES: Mode[] = ['tui', 'text', 'ansi', 'json', 'html'];

export async function main(ctx: Context): Promise<number | void> {
  const { args, io, report, out } = ctx;
  maxOperands(args, 1);
  const operand = args._[0];
  if (operand !== undefined && operand !== '-') throw new UsageError(`unexpected argument '${operand}' (only '-', standard input, is read)`);
  const asked = MODES.filter((m) => args[m] === true);
  if (asked.length > 1) throw new UsageError(`give one mode, not ${asked.map((m) => `--${m}`).join(' and ')}`);
  const stdoutTty = (io.stdout as Partial<WriteStream>).isTTY === true;
  const root = storeRoot(optString(args, 'root'), io.env);
  const fromStdin = operand === '-' || root === undefined;
  if (fromStdin && root === undefined && (io.stdin as Partial<ReadStream>).isTTY === true) {
    throw new UsageError('no store: give --root DIR, set SB_ROOT, or pipe rank records in');
  }
  let mode: Mode = asked[0] ?? (stdoutTty && hasKeyboard(io, fromStdin) ? 'tui' : 'text');
  if (mode === 'tui' && !stdoutTty) throw new UsageError('--tui needs a terminal on standard output (use --text or --ansi)');
  const top = optInt(args, 'top', mode === 'text' || mode === 'ansi' ? 25 : Number.POSITIVE_INFINITY, 1);
  const width = optInt(args, 'width', stdoutTty ? ((io.stdout as WriteStream).columns ?? 80) : 80, 20, 1000);
  const user = optString(args, 'user');
  const metrics = optList(args, 'metric')?.map(checkSkill);

  let grouped: GroupedBoards;
  if (fromStdin) {
    const byGroup = new Map<string, RecordBoards>();
    await forEachRecord(await ctx.input('-'), out, report, {
      rank: (rec) => {
        try {
          const g = recordGroup(rec);
          let boards = byGroup.get(g);
          if (boards === undefined) byGroup.set(g, (boards = new RecordBoards()));
          boards.add(rec);
        } catch (err) {
          throw new BadInput((err as Error).message);
        }
      },
      '*': () => undefined,
    });
    for (const b of byGroup.values()) b.finish();
    const ids = [...byGroup.keys()].sort((a, b) => (a === b ? 0 : a === '' ? -1 : b === '' ? 1 : a === 'accounts' ? -1 : b === 'accounts' ? 1 : a < b ? -1 : 1));
    grouped = new GroupedBoards(ids.length === 0 ? [{ id: '', label: groupLabel(''), source: new RecordBoards() }] : ids.map((id) => ({ id, label: groupLabel(id), source: byGroup.get(id) as RecordBoards })));
  } else {
    grouped = new GroupedBoards(storeGroups(root as string));
  }
  const wantGroup = boardGroup(args);
  if (wantGroup !== undefined && !grouped.select(wantGroup)) {
    const what = wantGroup === '' ? 'user boards' : wantGroup === 'accounts' ? 'account boards' : `boards of account ${JSON.stringify(wantGroup.slice('account/'.length))}`;
    const there = grouped.groups.map((g) => g.label);
    throw new SbError(`no ${what} ${fromStdin ? 'on standard input' : `in '${path.join(root as string, 'leaderboards')}'`} (there are: ${there.slice(0, 8).join(', ')}${there.length > 8 ? `, and ${there.length - 8} more` : ''})`);
  }
  const source: BoardSource = grouped;
  if (source.windows.length === 0) {
    throw new SbError(fromStdin ? 'no rank records on standard input' : `no leaderboards in '${path.join(root as string, 'leaderboards')}' (run 'sb-rank --write' first)`);
  }
  const windows = (optList(args, 'window') ?? [source.windows[0] as string]).map((w) => checkWindow(w, source));
  const clusters = (optList(args, 'cluster') ?? [source.clusters.includes(ALL) ? ALL : (source.clusters[0] as string)]).map((c) => checkCluster(c, source));
  const skills = metrics ?? [source.skills.includes('overall') ? 'overall' : (source.skills[0] as SkillId)];
  const history = root !== undefined ? new History(root) : undefined;
  const ascii = !utf8Locale(io.env);
  if (user !== undefined) checkUser(user, source, windows, clusters);

  if (mode === 'tui') {
    // The first board, read before the screen is taken: a bad one is one line, as elsewhere.
    if (user === undefined && source.board(windows[0] as string, skills[0] as SkillId, clusters[0] as string) === undefined) {
      throw missing(source, windows[0] as string, skills[0] as SkillId, clusters[0] as string);
    }
    const keys = keyboard(io, fromStdin);
    if (keys === undefined) throw new UsageError('--tui needs a terminal to read keys from (standard input or /dev/tty)');
    const scene: Scene = { source, history, paint: makePaint(wantColour(io.env, true), true), ascii, snapshot: false, top, lazy: true };
    const delay = Number(io.env['SB_RENDER_DELAY'] ?? 0);
    if (delay > 0) {
      for (const g of grouped.groups) if (g.source instanceof StoreBoards) g.source.delayMs = delay;
      if (history !== undefined) history.delayMs = delay;
    }
    const view = initialView(source, { window: windows[0] as string, skill: skills[0] as SkillId, cluster: clusters[0] as string, ...(user !== undefined ? { user } : {}) });
    const { runTui } = await import('./tui.js');
    try {
      const traceFile = io.env['SB_RENDER_TRACE'];
      const trace = traceFile ? (what: string, ms: number): void => appendFileSync(traceFile, `${what} ${ms.toFixed(2)}\n`) : undefined;
      return await runTui({ scene, view, keys, screen: io.stdout as WriteStream, crash: io.env['SB_RENDER_CRASH'] === '1', ...(trace ? { trace } : {}) });
    } finally {
      if (keys !== io.stdin) keys.destroy();
    }
  }

  // Every board a snapshot shows is read before the first line goes out: a missing or
  // corrupt one stops the run with nothing printed.
  if (mode === 'json' || mode === 'text' || mode === 'ansi') {
    for (const w of windows) {
      for (const c of clusters) {
        const wanted = user !== undefined ? (metrics ?? source.skills) : skills;
        for (const s of wanted) if (source.board(w, s, c) === undefined && (user === undefined || metrics !== undefined)) throw missing(source, w, s, c);
      }
    }
  }

  if (mode === 'json') {
    for (const w of windows) {
      for (const c of clusters) {
        for (const s of user !== undefined && metrics === undefined ? source.skills : skills) {
          const b = source.board(w, s, c);
          if (b === undefined) continue;
          // as sb-rank prints them: account boards name accounts, one account's boards lead with it
          const g = grouped.group;
          const lead = g === 'accounts' ? '"by":"account",' : g.startsWith('account/') ? `"account":${JSON.stringify(g.slice('account/'.length))},` : '';
          const head = `{"kind":"rank",${lead}"window":${JSON.stringify(w)},"metric":"${s}","cluster":${JSON.stringify(c)},`;
          const since = (b.accountsSince === undefined ? '' : `,"accounts_since":"${b.accountsSince}"`) + (b.countedTo === undefined ? '' : `,"counted_to":${JSON.stringify(b.countedTo)}`);
          for (const r of b.rows) {
            if (r.rank > top || (user !== undefined && r.user !== user)) continue;
            const name = g === 'accounts' ? `"account":${JSON.stringify(r.user === NO_ACCOUNT ? '' : r.user)}` : `"user":${JSON.stringify(r.user)}`;
            out.line(`${head}"rank":${r.rank},${name},"value":${r.value},"level":${r.level},"xp":${r.xp}${since}}`);
          }
          await out.drain();
        }
        if (user !== undefined && history !== undefined) {
          const metric = skillLabel(skills[0] as SkillId).chart;
          const months = history.series(user, c, metric, chartMonths(history, 1200));
          out.record({ kind: 'history', user, cluster: c, metric, months: months.map((m) => ({ month: m.month, value: Math.round(m.value * 1e6) / 1e6 })) });
        }
      }
    }
    return;
  }

  if (mode === 'html') {
    const { writePage } = await import('./page.js');
    await writePage(out, { source, history, windows: optList(args, 'window') ? windows : [...source.windows], clusters: optList(args, 'cluster') ? clusters : [...source.clusters], skills: metrics ?? [...source.skills], top, user });
    return;
  }

  // --text, --ansi: the screens, one board after another, as long as they are.
  const colour = mode === 'ansi' && wantColour(io.env, true);
  const scene: Scene = { source, history, paint: makePaint(colour), ascii, snapshot: true, top };
  let first = true;
  for (const w of windows) {
    for (const c of clusters) {
      for (const s of user !== undefined ? [skills[0] as SkillId] : skills) {
        if (user === undefined && source.board(w, s, c) === undefined) throw missing(source, w, s, c);
        const view: View = initialView(source, { window: w, skill: s, cluster: c, ...(user !== undefined ? { user } : {}) });
        const lines = render(view, scene, width, 0);
        if (!first) out.line('');
        for (const l of first ? lines : lines.slice(1)) out.line(l);
        first = false;
        await out.drain();
      }
    }
  }
}

// Where keys come from: standard input when it is the terminal, else the controlling
// terminal (rank records arrive on standard input); undefined when there is none.
function keyboard(io: Context['io'], stdinTaken: boolean): ReadStream | undefined {
  const stdin = io.stdin as Partial<ReadStream>;
  if (!stdinTaken && stdin.isTTY === true) return io.stdin as ReadStream;
  try {
    return new ReadStream(openSync('/dev/tty', 'r'));
  } catch {
    return undefined;
  }
}

function hasKeyboard(io: Context['io'], stdinTaken: boolean): boolean {
  if (!stdinTaken && (io.stdin as Partial<ReadStream>).isTTY === true) return true;
  try {
    closeSync(openSync('/dev/tty', 'r'));
    return true;
  } catch {
    return false;
  }
}

// --by account, --account NAME: the group of boards shown (first, on the screen).
function boardGroup(args: Context['args']): string | undefined {
  const by = optString(args, 'by');
  const account = optString(args, 'account');
  if (by !== undefined && by !== 'user' && by !== 'account') throw new UsageError(`--by '${by}': expected user or account`);
  if (account !== undefined && by === 'account') throw new UsageError('give --by account or --account NAME, not both');
  if (account !== undefined) return `account/${account === NO_ACCOUNT ? '' : account}`;
  return by === 'account' ? 'accounts' : by === 'user' ? '' : undefined;
}

function checkSkill(m: string): SkillId {
  if (!isSkill(m)) throw new UsageError(`unknown metric '${m}' (expected one of ${SKILL_IDS.join(', ')})`);
  return m;
}

function where(source: BoardSource): string {
  const s = source instanceof GroupedBoards ? source.current.source : source;
  return s instanceof StoreBoards ? `in '${s.dir}'` : 'on standard input';
}

function checkWindow(w: string, source: BoardSource): string {
  if (w === 'month' || w === 'year') {
    const newest = source.windows.filter((x) => x.startsWith(`${w}-`)).sort().pop();
    if (newest === undefined) throw new SbError(`no ${w}ly board ${where(source)}`);
    return newest;
  }
  if (!source.windows.includes(w)) throw new SbError(`no board of window '${w}' ${where(source)} (there are: ${source.windows.join(', ')})`);
  return w;
}

function checkCluster(c: string, source: BoardSource): string {
  if (!source.clusters.includes(c)) throw new SbError(`no board of cluster '${c}' ${where(source)} (there are: ${source.clusters.join(', ')})`);
  return c;
}

function checkUser(user: string, source: BoardSource, windows: string[], clusters: string[]): void {
  for (const w of windows) for (const c of clusters) for (const s of source.skills) if (userRow(source.board(w, s, c), user) !== undefined) return;
  throw new SbError(`'${user}' is on no board of ${windows.join(', ')} × ${clusters.join(', ')} (opted out, too few jobs, or no such user)`);
}

function missing(grouped: BoardSource, w: string, s: SkillId, c: string): SbError {
  const source = grouped instanceof GroupedBoards ? grouped.current.source : grouped;
  if (source instanceof StoreBoards) return new SbError(`missing leaderboard '${source.fileOf(w, s, c)}'`);
  return new SbError(`no rank records of ${w} × ${s} × ${c} on standard input`);
}

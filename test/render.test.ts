import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import stringWidth from 'string-width';
import t from 'tap';
import { RecordBoards, StoreBoards, parseBoardFile, windowOrder, type SkillId } from '../lib/tools/render/boards.js';
import { History, monthsBetween, userLine } from '../lib/tools/render/history.js';
import { parseKeys, update, settle, type KeyContext } from '../lib/tools/render/keys.js';
import { formatShort, sparkline, windowLabel } from '../lib/tools/render/labels.js';
import { encodeBoard, escapeHtml, scriptJson, unvlq, vlq } from '../lib/tools/render/page.js';
import { makePaint, utf8Locale, wantColour } from '../lib/tools/render/paint.js';
import { initialView, render, shownRows, type Scene, type View } from '../lib/tools/render/screen.js';
import { showName } from '../lib/tools/render/show-name.js';
import { clipText, fitText } from '../lib/tools/render/text-width.js';
import { levelForXp } from '../lib/core/scores/xp.js';
import { TEAM_NOW, TEAM_SINCE, teamStore } from './helpers/team-store.js';
import { goldenCases } from './helpers/golden.js';
import { writeStore } from './helpers/store-fixture.js';
import { LONG, ROOT, records, runBin, runShell } from './helpers/run.js';

const STORE = path.join(ROOT, 'test', 'cases', 'render', 'store');
const ESC = /\x1b\[[0-9;?]*[A-Za-z]/g;
const plain = (s: string): string => s.replace(ESC, '');

function scene(over: Partial<Scene> = {}): Scene {
  return { source: new StoreBoards(STORE), history: new History(STORE), paint: makePaint(false), ascii: false, snapshot: false, top: Number.POSITIVE_INFINITY, ...over };
}

t.test('showName: control characters, bidi overrides and backslashes escaped; ASCII locale escapes the rest', async (t) => {
  t.equal(showName('alice'), 'alice');
  t.equal(showName('evil\x1b[31mred'), 'evil\\x1b[31mred');
  t.equal(showName('a\u0000b\u007fc\u009bd'), 'a\\x00b\\x7fc\\x9bd', 'NUL, DEL and C1 (CSI)');
  t.equal(showName('rtl\u202eevil'), 'rtl\\u{202e}evil');
  t.equal(showName('line\u2028two'), 'line\\u{2028}two');
  t.equal(showName('back\\x1b'), 'back\\\\x1b', 'a backslash cannot forge an escape');
  t.equal(showName('lone\ud800x'), 'lone\\u{d800}x');
  t.equal(showName('王小明'), '王小明');
  t.equal(showName('王小明', true), '\\u{738b}\\u{5c0f}\\u{660e}');
  t.equal(showName('zoë', true), 'zo\\xeb');
  t.equal(showName('👩‍🔬', true), '\\u{1f469}\\u{200d}\\u{1f52c}');
  t.notOk(/[\x00-\x1f\x7f-\x9f]/.test(showName('\x07\x08\x1b\x9b\r\n')), 'nothing raw is left');
});

t.test('clipText/fitText: never wider than asked, cut on grapheme boundaries', async (t) => {
  const cases: Array<[string, number]> = [
    ['alice', 3], ['王小明', 3], ['王小明', 4], ['👩‍🔬sci', 2], ['👩‍🔬sci', 3], ['🇯🇵taro', 1], ['🇯🇵taro', 3], ['e\u0301e\u0301e\u0301', 2], ['ｆｕｌｌ', 5], ['한국어', 3],
  ];
  for (const [s, w] of cases) {
    const c = clipText(s, w);
    t.ok(stringWidth(c) <= w, `${JSON.stringify(s)} in ${w}: ${JSON.stringify(c)}`);
    t.equal(stringWidth(fitText(s, w)), w, `fitText pads ${JSON.stringify(s)} to ${w}`);
    t.equal(stringWidth(fitText(s, w, 'right')), w);
  }
  t.equal(clipText('👩‍🔬sci', 3), '👩‍🔬…', 'the ZWJ sequence stays whole');
  t.equal(clipText('王小明', 4), '王…', 'a wide character that does not fit is left out, not split');
  t.equal(clipText('short', 10), 'short');
  t.equal(fitText('ab', 0), '');
});

t.test('parseKeys: sequences, several keys in one read, text', async (t) => {
  t.same(parseKeys('jjk'), ['j', 'j', 'k']);
  t.same(parseKeys('\x1b[A\x1b[B\x1bOA\x1b[5~\x1b[6~\x1b[H\x1b[F\x1b[1~\x1b[4~\x1b[Z'), ['up', 'down', 'up', 'pgup', 'pgdn', 'home', 'end', 'home', 'end', 'shift-tab']);
  t.same(parseKeys('\x1b'), ['esc']);
  t.same(parseKeys('\t\r\x7f\x03\x15'), ['tab', 'enter', 'backspace', 'ctrl-c', 'ctrl-u']);
  t.same(parseKeys('/王🦊\r'), ['/', '王', '🦊', 'enter']);
  t.same(parseKeys('\x1b[1;5A'), ['up'], 'modifiers ignored');
});

t.test('labels: windows in order and by name, sparkline, short figures', async (t) => {
  t.same(['alltime', 'year-2025', 'month-2026-01', 'rolling-365d', 'year-2026', 'rolling-30d', 'month-2026-02'].sort(windowOrder), ['rolling-30d', 'rolling-365d', 'month-2026-02', 'month-2026-01', 'year-2026', 'year-2025', 'alltime']);
  t.equal(windowLabel('rolling-30d'), 'Last 30 days');
  t.equal(windowLabel('month-2026-02'), 'February 2026');
  t.equal(windowLabel('year-2026'), '2026');
  t.equal(windowLabel('alltime'), 'All time');
  t.equal(sparkline([0, 1, 2, 4, 8], false), ' ▁▂▄█');
  t.equal(sparkline([0, 1, 2, 4, 8], true), ' _.=@');
  t.equal(sparkline([0, 0], false), '  ');
  t.equal(formatShort(621254.6), '621k');
  t.equal(formatShort(1_234_567), '1.2M');
  t.equal(formatShort(7.25), '7.3');
  t.same(monthsBetween('2025-11', '2026-02'), ['2025-11', '2025-12', '2026-01', '2026-02']);
});

t.test('colour and locale: NO_COLOR, TERM=dumb, not a TTY; UTF-8 from LC_ALL, LC_CTYPE, LANG', async (t) => {
  t.ok(wantColour({}, true));
  t.notOk(wantColour({ NO_COLOR: '1' }, true));
  t.notOk(wantColour({ TERM: 'dumb' }, true));
  t.notOk(wantColour({}, false));
  t.ok(utf8Locale({ LANG: 'en_US.UTF-8' }));
  t.ok(utf8Locale({ LC_ALL: 'C.utf8', LANG: 'C' }));
  t.notOk(utf8Locale({ LC_ALL: 'C', LANG: 'en_US.UTF-8' }), 'LC_ALL wins');
  t.notOk(utf8Locale({}));
});

t.test('leaderboard files: parsed strictly, errors name the file and the row', async (t) => {
  const want = { window: 'rolling-30d', metric: 'jobs' as SkillId, cluster: 'all' };
  const ok = parseBoardFile('{"asof":"2026-01-01T00:00:00Z","rows":[{"rank":1,"user":"a","value":3,"level":2,"xp":150}]}', 'f.json', want);
  t.same(ok.rows, [{ rank: 1, user: 'a', value: 3, level: 2, xp: 150 }]);
  t.equal(ok.asof, '2026-01-01T00:00:00Z');
  t.throws(() => parseBoardFile('{"rows":[', 'f.json', want), /^f\.json: not JSON/);
  t.throws(() => parseBoardFile('[1]', 'f.json', want), { message: 'f.json: not a leaderboard (not a JSON object)' });
  t.throws(() => parseBoardFile('{"rows":{}}', 'f.json', want), { message: "f.json: not a leaderboard ('rows' is not a list)" });
  t.throws(() => parseBoardFile('{"rows":[{"rank":1,"user":"a","value":3,"level":2,"xp":150},{"rank":2,"user":"b","value":1,"level":1}]}', 'f.json', want), { message: "f.json: rows[1]: 'xp' is missing" });
  t.throws(() => parseBoardFile('{"rows":[{"rank":1.5,"user":"a","value":3,"level":2,"xp":1}]}', 'f.json', want), { message: "f.json: rows[0]: 'rank' is 1.5, not a whole number" });
  t.throws(() => parseBoardFile('{"rows":[{"rank":1,"user":"","value":3,"level":2,"xp":1}]}', 'f.json', want), { message: "f.json: rows[0]: 'user' is missing or not a string" });
});

t.test('the store: windows, skills, clusters listed from the files, boards read once', async (t) => {
  const s = new StoreBoards(STORE);
  t.same(s.windows, ['rolling-30d', 'rolling-365d', 'month-2026-11', 'year-2026', 'alltime']);
  t.same(s.clusters, ['all', 'anvil', 'hammer']);
  t.equal(s.skills[0], 'overall');
  t.equal(s.skills.length, 10);
  t.notOk(s.cached('alltime', 'jobs', 'all'));
  const b = s.board('alltime', 'jobs', 'all');
  t.ok(s.cached('alltime', 'jobs', 'all'));
  t.equal(s.board('alltime', 'jobs', 'all'), b, 'the same object the second time');
  t.equal(s.board('alltime', 'jobs', 'nosuch'), undefined);
});

t.test('monthly history: one user found without parsing the file, in either layout', async (t) => {
  const text = readFileSync(path.join(STORE, 'clusters', 'anvil', 'agg', 'rollups', 'monthly', '2026-10.json'), 'utf8');
  const bob = userLine(text, 'bob');
  t.ok(bob !== null && bob !== undefined && bob.jobs > 0);
  t.equal(userLine(text, 'nobody'), undefined);
  t.equal(userLine(text, 'nobödy'), null, 'a non-ASCII name that is not there: cannot tell, read it all');
  const oneLine = JSON.stringify(JSON.parse(text));
  t.same(userLine(oneLine, 'bob'), bob, 'the same from a file on one line');
  t.same(userLine(text, 'evil\x1b[31mred')?.jobs, (JSON.parse(text).users as Array<{ username: string; jobs: number }>).find((u) => u.username === 'evil\x1b[31mred')?.jobs);
  const h = new History(STORE);
  const s = h.series('bob', 'all', 'jobs', ['2026-05', '2026-10']);
  t.equal(s[0]?.value, 0, 'a month without a file is none');
  const anvil = h.series('bob', 'anvil', 'jobs', ['2026-10'])[0]?.value ?? 0;
  const hammer = h.series('bob', 'hammer', 'jobs', ['2026-10'])[0]?.value ?? 0;
  t.equal(s[1]?.value, anvil + hammer, "'all' is the sum of the clusters");
});

t.test('rank records: boards in rank order; bad records say why', async (t) => {
  const r = new RecordBoards();
  const rec = (rank: number, user: string, metric = 'jobs'): Record<string, unknown> => ({ kind: 'rank', window: 'rolling-30d', metric, cluster: 'all', rank, user, value: 10 - rank, level: 5, xp: 100 - rank });
  r.add(rec(2, 'b'));
  r.add(rec(1, 'a'));
  r.add(rec(1, 'z', 'overall'));
  r.finish();
  t.same(r.board('rolling-30d', 'jobs', 'all')?.rows.map((x) => x.user), ['a', 'b']);
  t.same(r.skills, ['overall', 'jobs'], 'overall first, whatever came first');
  t.throws(() => r.add({ ...rec(1, 'a'), metric: 'nope' }), /unknown metric 'nope'/);
  t.throws(() => r.add({ ...rec(1, 'a'), cluster: 'a/b' }), /not a cluster name/);
  t.throws(() => r.add({ ...rec(1, 'a'), xp: -1 }), /'xp' is -1/);
});

t.test('render: every line exactly the width, any size, page and state; colour changes no width', async (t) => {
  const sizes: Array<[number, number]> = [[100, 30], [60, 15], [80, 24], [40, 10], [24, 6], [20, 5], [10, 3], [200, 60], [64, 20], [63, 20]];
  const base = initialView(new StoreBoards(STORE), {});
  const views: View[] = [
    base,
    { ...base, skill: 'clock_hours', window: 'alltime', cluster: 'anvil' },
    { ...base, selected: 28, top: 20 },
    { ...base, ascending: true },
    { ...base, filter: 'user1', editing: true },
    { ...base, filter: 'nobody-has-this' },
    { ...base, page: 'user', user: '👩‍🔬sci', userSkill: 'gpu_jobs' },
    { ...base, page: 'user', user: 'evil\x1b[31mred' },
    { ...base, page: 'help' },
    { ...base, message: 'read the boards again' },
  ];
  for (const colour of [false, true]) {
    for (const ascii of [false, true]) {
      const sc = scene({ paint: makePaint(colour, colour), ascii });
      for (const v of views) {
        for (const [cols, rows] of sizes) {
          const lines = render(v, sc, cols, rows);
          t.equal(lines.length, rows, `${v.page} ${cols}x${rows}: ${rows} lines`);
          const bad = lines.map((l) => plain(l)).findIndex((l) => stringWidth(l) !== cols);
          t.equal(bad, -1, `${v.page}${v.filter ? ' filter' : ''} ${cols}x${rows} colour=${colour} ascii=${ascii}: line ${bad} is ${bad < 0 ? '' : stringWidth(plain(lines[bad] as string))} wide`);
          const raw = lines.join('').replace(ESC, '');
          t.notOk(/[\x00-\x1f\x7f-\x9f]/.test(raw), 'no raw control character reaches the screen');
          if (ascii) t.notOk(/[^\x20-\x7e]/.test(raw), 'ASCII locale: ASCII only');
        }
      }
    }
  }
});

t.test('render: the board as the hiscores show it', async (t) => {
  const sc = scene();
  const lines = render(initialView(sc.source, {}), sc, 100, 30).map((l) => l.trimEnd());
  t.match(lines[0], /^ SB HIGH SCORES +as of 2026-11-20 12:00 UTC$/);
  t.equal(lines[1], ' All clusters · Last 30 days · Overall');
  t.match(lines[2], /Skills +│ Rank  Name +Level +XP$/);
  t.match(lines[3], /^ ▸ Overall +│ +1  evil\\x1b\[31mred +493  7,606,027$/);
  t.match(lines[29], /Tab skill.*q quit +1 of 60$/);
  const narrow = render(initialView(sc.source, { skill: 'clock_hours' }), sc, 34, 12).map((l) => l.trimEnd());
  t.notOk(narrow.some((l) => l.includes('│')), 'no side panel when narrow');
  t.match(narrow[2], /Rank  Name +Level  core-hours$/, 'XP dropped first');
  t.equal(render(initialView(sc.source, {}), sc, 19, 10)[0]?.trimEnd(), 'terminal too small');
});

t.test('keys: every key of the screen changes the view as documented', async (t) => {
  const sc = scene();
  const ctx: KeyContext = { scene: sc, cols: 100, rows: 30 };
  let v = settle(initialView(sc.source, {}), ctx);
  const press = (...keys: string[]): View => {
    for (const k of keys) {
      const next = update(v, k, ctx);
      if (next === 'quit') throw new Error(`quit on ${k}`);
      v = next;
    }
    return v;
  };
  const selectedUser = (): string | undefined => shownRows(v, sc).rows[v.selected]?.user;
  t.equal(press('tab').skill, 'clock_hours');
  t.equal(press('m').skill, 'elapsed_hours');
  t.equal(press('M').skill, 'clock_hours');
  t.equal(press('shift-tab').skill, 'overall');
  t.equal(press('M').skill, 'mem_used_gb_hours', 'wraps around');
  press('tab');
  t.equal(press('w').window, 'rolling-365d');
  t.equal(press('W').window, 'rolling-30d');
  t.equal(press('g').cluster, 'anvil');
  t.equal(press('g').cluster, 'hammer');
  t.equal(press('g').cluster, 'all', 'all, then each, then all again');
  t.equal(press('j', 'j', 'down').selected, 3);
  t.equal(press('k', 'up').selected, 1);
  const who = selectedUser();
  t.equal(press('tab').skill, 'clock_hours');
  t.equal(selectedUser(), who, 'the selected user stays selected on the next skill');
  press('shift-tab');
  t.equal(press('pgdn').selected, 27);
  t.equal(press('pgup').selected, 1);
  t.equal(press('end').selected, 59);
  t.ok(v.top > 0 && v.top + 26 > 59, 'the last row is on screen');
  t.equal(press('home').selected, 0);
  t.equal(v.top, 0);
  press('j', 's');
  t.equal(v.ascending, true);
  t.equal(v.selected, 0, 'the other way round, from its start');
  t.equal(shownRows(v, sc).rows[0]?.rank, 60, 'the last rank first');
  press('s');
  t.equal(shownRows(v, sc).rows[0]?.rank, 1);
  press('/');
  t.ok(v.editing);
  press('u', 's', 'e', 'r', '1');
  t.equal(v.filter, 'user1');
  t.ok(shownRows(v, sc).rows.every((r) => r.user.includes('user1')));
  t.equal(shownRows(v, sc).rows.length, 10, 'user10..user19');
  press('backspace');
  t.equal(v.filter, 'user');
  press('1', 'enter');
  t.notOk(v.editing);
  t.equal(press('j').selected, 1, 'keys move again after Enter');
  press('esc');
  t.equal(v.filter, '', 'Esc clears the filter');
  press('f', 'z', 'esc');
  t.equal(v.filter, '');
  t.notOk(v.editing);
  press('home', 'enter');
  t.equal(v.page, 'user');
  t.equal(v.user, shownRows({ ...v, page: 'board' }, sc).rows[0]?.user);
  t.equal(v.userSkill, 'overall');
  press('j', 'j');
  t.equal(v.userSkill, 'elapsed_hours');
  const u = v.user;
  press('enter');
  t.equal(v.page, 'board');
  t.equal(v.skill, 'elapsed_hours', "Enter on a skill opens that skill's board");
  t.equal(selectedUser(), u, '... with the user selected');
  press('enter', 'esc');
  t.equal(v.page, 'board', 'Esc goes back');
  press('?');
  t.equal(v.page, 'help');
  press('x');
  t.equal(v.page, 'board', 'any key leaves the help');
  press('r');
  t.equal(v.message, 'read the boards again');
  t.equal(update(v, 'q', ctx), 'quit');
  t.equal(update(v, 'ctrl-c', ctx), 'quit');
  t.not(update({ ...v, editing: true }, 'q', ctx), 'quit', "typing a filter, 'q' is a letter");
});

t.test('page encoding: VLQ round trip, boards decode to the rows, levels from the XP table', async (t) => {
  const nums = [0, 1, -1, 31, 32, -33, 1023, 2 ** 31 + 5, -(2 ** 40), 1_800_000_000, 9_007_199_254_740_991];
  t.same(unvlq(vlq(nums)), nums);
  t.match(vlq(nums), /^[A-Za-z0-9+/]*$/, 'base64 characters only: nothing to escape in HTML or JSON');
  const s = new StoreBoards(STORE);
  for (const skill of ['overall', 'clock_hours', 'jobs'] as SkillId[]) {
    const rows = s.board('alltime', skill, 'all')?.rows ?? [];
    const users = [...new Set(rows.map((r) => r.user))];
    const enc = unvlq(encodeBoard(rows, skill, (u) => users.indexOf(u)));
    t.equal(enc[0], rows.length);
    t.equal(enc[1], skill === 'overall' ? 1 : 0, 'levels are not written out');
    let p = 2;
    let rank = 0;
    let value = 0;
    let xp = 0;
    const scale = skill === 'clock_hours' ? 10 : 1;
    for (const r of rows) {
      const u = enc[p++] as number;
      rank += enc[p++] as number;
      value -= enc[p++] as number;
      xp -= enc[p++] as number;
      t.equal(users[u], r.user);
      t.equal(rank, r.rank);
      t.equal(value, Math.round(r.value * scale));
      t.equal(xp, r.xp);
      t.equal(skill === 'overall' ? value : levelForXp(xp), r.level);
    }
  }
});

t.test('page escaping: HTML text and JSON inside <script>', async (t) => {
  t.equal(escapeHtml('<img src=x onerror=alert(1)>'), '&#60;img src=x onerror=alert(1)&#62;');
  t.equal(escapeHtml(`"'&`), '&#34;&#39;&#38;');
  const j = scriptJson({ n: '</script><script>alert(2)</script>', s: '<!--', l: '\u2028' });
  t.notOk(/<|>|\u2028/.test(j));
  t.same(JSON.parse(j), { n: '</script><script>alert(2)</script>', s: '<!--', l: '\u2028' });
});

// --help, --version and an unknown flag: test/contract.test.ts
t.test('the bin: two modes, usage errors, no store', async (t) => {
  let r = await runBin('sb-render', ['--root', STORE, '--text', '--json']);
  t.equal(r.status, 2);
  t.match(r.stderr, /give one mode, not --text and --json/);
  r = await runBin('sb-render', ['--root', STORE, '--tui']);
  t.equal(r.status, 2, '--tui off a terminal');
  t.match(r.stderr, /--tui needs a terminal/);
  r = await runBin('sb-render', ['--root', STORE, '--top', '0']);
  t.equal(r.status, 2);
  r = await runBin('sb-render', ['--root', STORE, '-m', 'nope']);
  t.equal(r.status, 2);
  t.match(r.stderr, /unknown metric 'nope'/);
  r = await runBin('sb-render', ['--root', STORE, 'extra']);
  t.equal(r.status, 2);
});

t.test('not a terminal: text, whatever TERM says; empty input says so', async (t) => {
  let r = await runBin('sb-render', ['--root', STORE, '--top', '2'], { env: { TERM: 'xterm-256color' } });
  t.equal(r.status, 0);
  t.match(r.stdout, /^ SB HIGH SCORES/);
  t.notMatch(r.stdout, /\x1b/, 'no escapes off a terminal');
  r = await runBin('sb-render', [], { input: '', env: { SB_ROOT: '' } });
  t.equal(r.status, 1);
  t.equal(r.stderr, 'sb-render: no rank records on standard input\n');
});

t.test('--ansi: colour unless NO_COLOR or TERM=dumb; the same text underneath', async (t) => {
  const text = await runBin('sb-render', ['--root', STORE, '--text', '--top', '5', '-m', 'clock_hours'], { env: { LC_ALL: 'C.UTF-8' } });
  const coloured = await runBin('sb-render', ['--root', STORE, '--ansi', '--top', '5', '-m', 'clock_hours'], { env: { NO_COLOR: '', LC_ALL: 'C.UTF-8' } });
  t.match(coloured.stdout, /\x1b\[33m/, 'browns and golds');
  t.same(plain(coloured.stdout).split('\n').map((l) => l.trimEnd()), text.stdout.split('\n'), 'the same text as --text');
  const none = await runBin('sb-render', ['--root', STORE, '--ansi', '--top', '5'], { env: { NO_COLOR: '1' } });
  t.notMatch(none.stdout, /\x1b/, 'NO_COLOR: no escapes at all');
  const dumb = await runBin('sb-render', ['--root', STORE, '--ansi', '--top', '5'], { env: { NO_COLOR: '', TERM: 'dumb' } });
  t.notMatch(dumb.stdout, /\x1b/, 'TERM=dumb: none either');
});

t.test('--html: one page, names escaped, nothing fetched', async (t) => {
  const r = await runBin('sb-render', ['--root', STORE, '--html'], { env: { LC_ALL: 'C.UTF-8' } });
  t.equal(r.status, 0);
  t.equal(r.stderr, '');
  const html = r.stdout;
  t.match(html, /^<!doctype html>/);
  t.notMatch(html, /<img src=x/, 'the markup name is text');
  t.match(html, /&#60;img src=x onerror=alert\(1\)&#62;/);
  t.equal(html.split('</script>').length - 1, 2, 'only the two script elements close: no name ends one');
  t.notMatch(html, /\bsrc=["']?(https?:)?\/\//, 'no external source');
  t.notMatch(html, /<link\b|@import|url\((?!#)/, 'no style fetched');
  t.notMatch(html, /\x1b/, 'no raw control character');
  t.match(html, /<tbody id="rows">\n<tr><td class="num rank">1<\/td>/, 'the first board is in the HTML itself');
  const data = JSON.parse(/<script type="application\/json" id="sb-data">(.*?)<\/script>/s.exec(html)?.[1] ?? '{}') as { users: string[]; boards: Record<string, string> };
  t.ok(data.users.includes('</script><script>alert(2)</script>'), 'the name survives, escaped in JSON');
  t.ok(data.users.includes('evil\\x1b[31mred'), 'control characters shown escaped');
  t.equal(Object.keys(data.boards).length, 5 * 10 * 3, 'every board of the store');
});

t.test('--html: the lists choose what the page holds, --top its rows, --user the page it opens on', async (t) => {
  const r = await runBin('sb-render', ['--root', STORE, '--html', '-w', 'alltime', '-m', 'clock_hours,jobs', '-c', 'hammer', '--top', '3', '-u', 'bob'], { env: { LC_ALL: 'C.UTF-8' } });
  t.equal(r.status, 0);
  const data = JSON.parse(/id="sb-data">(.*?)<\/script>/s.exec(r.stdout)?.[1] ?? '{}') as { boards: Record<string, string>; start: Record<string, unknown>; users: string[] };
  t.same(Object.keys(data.boards).sort(), ['alltime|clock_hours|hammer', 'alltime|jobs|hammer']);
  t.ok(Object.values(data.boards).every((b) => (unvlq(b)[0] as number) <= 4), 'rows ranked 3 or better (ties may add one)');
  t.same(data.start, { w: 'alltime', s: 'clock_hours', c: 'hammer', u: data.users.indexOf('bob'), g: '' });
  t.match(r.stdout, /<section id="board-view" hidden>/, 'the board waits behind the user page');
  t.match(r.stdout, /Personal scores for <span class="who">bob<\/span>/, "bob's page is in the HTML itself");
});

t.test('bad input: missing and corrupt leaderboard files are one line naming the file', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sb-render-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(path.join(dir, 'leaderboards'));
  copyFileSync(path.join(STORE, 'leaderboards', 'alltime_overall.json'), path.join(dir, 'leaderboards', 'alltime_overall.json'));
  writeFileSync(path.join(dir, 'leaderboards', 'alltime_jobs.json'), '{"rows":[{"rank":1}]}');
  let r = await runBin('sb-render', ['--root', dir, '--text', '-m', 'jobs']);
  t.equal(r.status, 1);
  t.equal(r.stderr, `sb-render: ${path.join(dir, 'leaderboards', 'alltime_jobs.json')}: rows[0]: 'user' is missing or not a string\n`);
  t.equal(r.stdout, '');
  r = await runBin('sb-render', ['--root', dir, '--text', '-m', 'gpu_jobs']);
  t.equal(r.status, 1);
  t.equal(r.stderr, `sb-render: missing leaderboard '${path.join(dir, 'leaderboards', 'alltime_gpu_jobs.json')}'\n`);
  r = await runBin('sb-render', ['--root', dir, '--html', '-m', 'overall,jobs']);
  t.equal(r.status, 1, 'the page too');
  t.match(r.stderr, /alltime_jobs\.json: rows\[0\]/);
  rmSync(path.join(dir, 'leaderboards', 'alltime_jobs.json'));
  r = await runBin('sb-render', ['--root', dir, '--text', '-m', 'overall', '--errors', 'json', '-u', 'nobody']);
  t.equal(r.status, 1);
  t.same(records(r.stderr)[0], { tool: 'sb-render', level: 'error', message: "'nobody' is on no board of alltime × all (opted out, too few jobs, or no such user)" });
});

// (sb-rank's account boards, which this shows, are tested in test/rank.test.ts, which make test-fast runs)
t.test('account boards: --by account, --account NAME, the rank records of both, accounts since; unknown ones named', { skip: LONG }, async (t) => {
  const root = await teamStore(mkdtempSync(path.join(tmpdir(), 'sb-render-teams-')));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  let r = await runBin('sb-render', ['--root', root, '--text', '--width', '120', '--by', 'account', '-w', 'rolling-30d', '-m', 'jobs', '--top', '3'], { env: { LC_ALL: 'C.UTF-8' } });
  t.same([r.status, r.stderr], [0, '']);
  const lines = r.stdout.split('\n');
  t.equal(lines[1], ` All clusters · Last 30 days · Accounts · accounts since ${TEAM_SINCE} · Finished jobs`, 'the group and the day account data start, in the context line');
  t.match(lines[2], /^ Rank  Account +Level +XP +jobs$/);
  const board = JSON.parse(readFileSync(path.join(root, 'leaderboards', 'accounts', 'rolling-30d_jobs.json'), 'utf8')) as { rows: Array<{ account: string; value: number }> };
  t.same(lines.slice(3, 6).map((l) => l.trim().split(/\s+/).slice(1, 2)[0]), board.rows.slice(0, 3).map((x) => x.account), 'the accounts, in rank order');
  r = await runBin('sb-rank', ['--root', root, '--write', '--by', 'account', '-w', 'rolling-7d', '--now', TEAM_NOW], { env: { SB_HOME_ROOT: path.join(root, 'no-homes') } });
  t.equal(r.status, 0, r.stderr);
  r = await runBin('sb-render', ['--root', root, '--text', '--by', 'account', '-w', 'rolling-7d', '-m', 'jobs', '--top', '1']);
  t.match(r.stdout.split('\n')[1], /^ All clusters · Last 7 days · Accounts · Finished jobs$/, 'a window after it: no note');
  r = await runBin('sb-render', ['--root', root, '--text', '--account', 'acct01', '-w', 'rolling-30d', '-m', 'jobs']);
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout.split('\n')[1], /· Account acct01 · accounts since/);
  t.match(r.stdout, /^ +1 +u001 /m, "acct01's users");
  t.notMatch(r.stdout, /u005/, 'only its users');
  // the same from rank records
  const recs = await runShell(`sb-rank --root '${root}' --by account --account acct01 -w rolling-30d -m jobs -c all --now ${TEAM_NOW} --min-jobs 0 | sb-render --text --by account --top 3`, { env: { SB_HOME_ROOT: path.join(root, 'no-homes') } });
  t.equal(recs.status, 0, recs.stderr);
  const fromFiles = await runBin('sb-render', ['--root', root, '--text', '--by', 'account', '-w', 'rolling-30d', '-m', 'jobs', '--top', '3']);
  t.equal(recs.stdout.split('\n').slice(1).join('\n'), fromFiles.stdout.split('\n').slice(1).join('\n'), 'rank records show as the files do (but the as-of time)');
  const one = await runShell(`sb-rank --root '${root}' --account acct01 -w rolling-30d -m jobs -c all --now ${TEAM_NOW} --min-jobs 0 | sb-render --text --account acct01`, { env: { SB_HOME_ROOT: path.join(root, 'no-homes') } });
  t.match(one.stdout.split('\n')[1], /· Account acct01 · accounts since/);
  const json = await runBin('sb-render', ['--root', root, '--json', '--by', 'account', '-w', 'rolling-30d', '-m', 'jobs']);
  t.same(records(json.stdout).map((x) => [x['by'], x['account'], x['value'], x['accounts_since']]), board.rows.map((x) => ['account', x.account, x.value, TEAM_SINCE]), '--json: the account records as sb-rank prints them');
  t.ok(records(json.stdout).every((x) => !('user' in x)));
  r = await runBin('sb-render', ['--root', root, '--text', '--account', 'nope']);
  t.equal(r.status, 1);
  t.match(r.stderr, /^sb-render: no boards of account "nope" in '.*leaderboards' \(there are: Users, Accounts, Account acct00, .*, and \d+ more\)$/m);
  r = await runBin('sb-render', ['--root', STORE, '--text', '--by', 'account']);
  t.equal(r.status, 1);
  t.match(r.stderr, /no account boards in '.*' \(there are: Users\)/, 'a store without account boards');
  r = await runBin('sb-render', ['--root', root, '--by', 'team']);
  t.equal(r.status, 2);
  t.match(r.stderr, /--by 'team': expected user or account/);
  r = await runBin('sb-render', ['--root', root, '--by', 'account', '--account', 'x']);
  t.equal(r.status, 2);
  // the page holds every group
  r = await runBin('sb-render', ['--root', root, '--html']);
  const data = JSON.parse(/<script type="application\/json" id="sb-data">(.*?)<\/script>/s.exec(r.stdout)?.[1] ?? '{}') as { groups: Array<{ id: string }>; since: Record<string, string>; boards: Record<string, string> };
  t.same(data.groups.slice(0, 3).map((g) => g.id), ['', 'accounts', 'account/acct00']);
  t.equal(data.since['rolling-30d|jobs|all|accounts'], TEAM_SINCE);
  t.notOk('rolling-30d|jobs|all' in data.since, 'user boards count every job: no note');
  t.ok('rolling-30d|overall|all|account/acct01' in data.boards);
});

// (sb-rank's counted_to, which this shows, is in test/rank.test.ts, which make test-fast runs)
t.test("counted_to: an all board summing a cluster counted only to an earlier time says so in the context line, --json and the page; from files and from rank records", { skip: LONG }, async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'sb-render-counted-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  writeStore(root, [
    { cluster: 'anvil', day: '2024-03-14', user: 'alice', t: { jobs: 3, elapsed_s: 3600, cpu_s: 3600 } },
    { cluster: 'hammer', day: '2024-03-01', user: 'bob', t: { jobs: 2, elapsed_s: 3600, cpu_s: 3600 } },
  ]);
  for (const c of ['anvil', 'hammer']) {
    const led = path.join(root, 'clusters', c, 'state', 'chunks');
    mkdirSync(led, { recursive: true });
    writeFileSync(path.join(led, 'ledger.json'), JSON.stringify({ schema_version: 1, cluster: c, done: [['2024-01-01T00:00:00Z', c === 'anvil' ? '2024-03-15T11:00:00Z' : '2024-03-02T06:00:00Z']], unsettled: [] }) + '\n');
  }
  const env = { SB_HOME_ROOT: path.join(root, 'no-homes'), LC_ALL: 'C.UTF-8' };
  let r = await runBin('sb-rank', ['--root', root, '--write', '-w', 'alltime', '--now', '2024-03-15T12:00:00Z', '--min-jobs', '0'], { env });
  t.equal(r.status, 0, r.stderr);
  r = await runBin('sb-render', ['--root', root, '--text', '--width', '120', '-w', 'alltime', '-m', 'jobs'], { env });
  t.same([r.status, r.stderr], [0, '']);
  t.equal(r.stdout.split('\n')[1], ' All clusters · All time · hammer counted to 2024-03-02 06:00 UTC · Finished jobs', 'the cluster behind, in the context line');
  t.match(r.stdout, /^ +1 +alice +.*\n +2 +bob /m, 'both clusters summed');
  r = await runBin('sb-render', ['--root', root, '--text', '--width', '120', '-w', 'alltime', '-m', 'jobs', '-c', 'hammer'], { env });
  t.equal(r.stdout.split('\n')[1], ' hammer · All time · Finished jobs', "hammer's own board: no note");
  r = await runBin('sb-render', ['--root', root, '--json', '-w', 'alltime', '-m', 'jobs'], { env });
  t.same(records(r.stdout).map((x) => [x['user'], x['counted_to']]), [['alice', { hammer: '2024-03-02T06:00:00Z' }], ['bob', { hammer: '2024-03-02T06:00:00Z' }]], '--json: as sb-rank prints it');
  const piped = await runShell(`sb-rank --root '${root}' -w alltime -m jobs -c all --now 2024-03-15T12:00:00Z --min-jobs 0 | sb-render --text --width 120`, { env });
  t.equal(piped.stdout.split('\n')[1], ' All clusters · All time · hammer counted to 2024-03-02 06:00 UTC · Finished jobs', 'from rank records too');
  r = await runBin('sb-render', ['--root', root, '--html'], { env });
  const data = JSON.parse(/<script type="application\/json" id="sb-data">(.*?)<\/script>/s.exec(r.stdout)?.[1] ?? '{}') as { counted: Record<string, string> };
  t.equal(data.counted['alltime|jobs|all'], "Counted only hammer to 2024-03-02 06:00 UTC: this board holds none of its later jobs, and all of the other clusters'.");
  t.notOk('alltime|jobs|hammer' in data.counted, "hammer's own board: no note");
  t.match(r.stdout, /<p class="note" id="counted">Counted only hammer to 2024-03-02 06:00 UTC: [^<]*<\/p>/, 'the first board carries it before the script runs');
});

t.test('| head -1: success, nothing on stderr', async (t) => {
  const r = await runShell(`sb-render --root '${STORE}' --json | head -1`);
  t.equal(r.status, 0);
  t.equal(r.stderr, '');
  t.match(r.stdout, /^\{"kind":"rank"/);
});

goldenCases('render');

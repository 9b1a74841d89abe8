// The screen, driven in tmux as a person would: keys, a resize, a filter, a user page, wide
// names, and the terminal given back after q, Ctrl-C, SIGINT and a crash. Each test waits for
// what it expects on the screen (never for a time), under a tmux server of its own.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import stringWidth from 'string-width';
import t from 'tap';
import { ROOT } from './helpers/run.js';
import { TEAM_SINCE, teamStore } from './helpers/team-store.js';

const TMUX = '/usr/bin/tmux';
const STORE = path.join(ROOT, 'test', 'cases', 'render', 'store');
const SOCKET = `sb-render-test-${process.pid}`;


function tmux(...args: string[]): string {
  return execFileSync('/usr/bin/env', ['-u', 'NODE_OPTIONS', '-u', 'TMUX', 'LC_ALL=C.UTF-8', TMUX, '-L', SOCKET, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

let sessions = 0;

// A shell in a new tmux window of `cols` × `rows`; returns its name.
function shell(cols = 100, rows = 30): string {
  const name = `s${++sessions}`;
  tmux('new-session', '-d', '-s', name, '-x', String(cols), '-y', String(rows), 'env -u NODE_OPTIONS PS1="$ " bash --norc --noprofile');
  return name;
}

function screen(s: string): string {
  return tmux('capture-pane', '-p', '-t', s);
}

function lines(s: string): string[] {
  return rows(screen(s));
}

function rows(text: string): string[] {
  return text.replace(/\n$/, '').split('\n');
}

// Waits until the screen matches (no time is asserted: a loaded machine only waits longer).
async function waitFor(s: string, what: RegExp | ((text: string) => boolean), label: string, timeoutMs = 60_000): Promise<string> {
  const test = typeof what === 'function' ? what : (x: string) => what.test(x);
  const until = Date.now() + timeoutMs;
  let text = '';
  for (;;) {
    text = screen(s);
    if (test(text)) return text;
    if (Date.now() > until) throw new Error(`screen never showed ${label}; it shows:\n${text}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function keys(s: string, ...k: string[]): void {
  tmux('send-keys', '-t', s, ...k);
}

function type(s: string, text: string): void {
  tmux('send-keys', '-t', s, '-l', text);
}

function run(s: string, command: string): void {
  type(s, command);
  keys(s, 'Enter');
}

// sb-render as a shell command: UTF-8, a colour terminal, the fixture store; `env` after those.
function render(env = '', args = ''): string {
  return `env -u NODE_OPTIONS LC_ALL=C.UTF-8 TERM=xterm-256color NO_COLOR= SB_ROOT='${STORE}' ${env} node '${path.join(ROOT, 'bin', 'sb-render')}' ${args}`;
}

// The display column where `needle` ends on a captured line (wide characters count two).
function endColumn(line: string, needle: string): number {
  const i = line.indexOf(needle);
  return i < 0 ? -1 : stringWidth(line.slice(0, i + needle.length));
}

function format(s: string, f: string): string {
  return tmux('display-message', '-p', '-t', s, f).trim();
}

// The terminal as it was before the program: main screen, cursor shown, cooked mode.
async function assertRestored(t: Tap.Test, s: string, status: number): Promise<void> {
  const text = await waitFor(s, new RegExp(`EXIT=${status}\\b`), `EXIT=${status}`);
  t.match(text, /BEFORE-MARKER/, 'what was on the screen before is back');
  t.notMatch(text, /SB HIGH SCORES/, 'the screen is gone');
  t.equal(format(s, '#{alternate_on}'), '0', 'alternate screen left');
  t.equal(format(s, '#{cursor_flag}'), '1', 'cursor shown');
  run(s, "stty -a | tr ' ' '\\n' | grep -x -e '-\\?icanon' -e '-\\?echo' | tr '\\n' ' '; echo STTY-DONE");
  const after = await waitFor(s, /^-?icanon -?echo STTY-DONE/m, "stty's answer");
  t.match(after, /^icanon echo STTY-DONE/m, 'cooked mode: canonical input and echo are back');
}

function start(s: string, env = '', args = ''): void {
  run(s, `clear; echo BEFORE-MARKER; ${render(env, args)}; echo "EXIT=$?"`);
}

function tests(): void {
  const tmp = mkdtempSync(path.join(tmpdir(), 'sb-render-tui-'));
  t.teardown(() => {
    spawnSync('/usr/bin/env', ['-u', 'NODE_OPTIONS', TMUX, '-L', SOCKET, 'kill-server'], { stdio: 'ignore' });
    rmSync(tmp, { recursive: true, force: true });
  });

  t.test('every key, a filter, a wide name, a user page, a resize, then q gives the terminal back', async (t) => {
    const s = shell(100, 30);
    start(s);
    let text = await waitFor(s, /1 of 60/, 'the first board');
    t.match(text, /^ SB HIGH SCORES +as of 2026-11-20 12:00 UTC$/m, 'header: title and as-of time');
    t.match(text, /^ All clusters · Last 30 days · Overall$/m, 'header: cluster, window, skill');
    t.match(text, /Skills +│ Rank  Name +Level +XP$/m, 'skill list and table head');
    t.match(text, /▸ Overall/, 'Overall first, selected');
    t.equal(lines(s).length, 30);

    keys(s, 'Tab');
    // the header changes at once; the board's rows once its file is read (it may still be loading)
    text = await waitFor(s, (x) => /· CPU core-hours$/m.test(x) && /Level +XP +core-hours$/m.test(x), 'Tab: next skill');
    t.match(text, /▸ CPU hours/);
    t.match(text, /Level +XP +core-hours$/m, 'the value with its unit');
    keys(s, 'm');
    await waitFor(s, /· Wall-clock hours$/m, 'm: next skill');
    keys(s, 'M');
    await waitFor(s, /· CPU core-hours$/m, 'M: previous skill');
    keys(s, 'BTab');
    await waitFor(s, /· Overall$/m, 'Shift-Tab: previous skill');
    keys(s, 'Tab');
    await waitFor(s, /· CPU core-hours$/m, 'Tab');

    keys(s, 'w');
    await waitFor(s, /^ All clusters · Last 365 days · CPU core-hours$/m, 'w: next window');
    keys(s, 'w', 'w', 'w', 'w');
    await waitFor(s, /^ All clusters · Last 30 days · CPU core-hours$/m, 'w cycles back to the first');
    keys(s, 'g');
    await waitFor(s, /^ anvil · Last 30 days/m, 'g: the first cluster');
    keys(s, 'g');
    await waitFor(s, /^ hammer · Last 30 days/m, 'g: the next');
    keys(s, 'g');
    await waitFor(s, /^ All clusters · Last 30 days/m, 'g: all again');

    keys(s, 's');
    text = await waitFor(s, /1 of 60\s*$/m, 's: last rank first');
    t.match(rows(text)[3], /│ +60  /, 'the last rank on top');
    keys(s, 's');
    text = await waitFor(s, (x) => /│ +1  \S/.test(rows(x)[3] ?? ''), 's: rank 1 first again');

    keys(s, 'j', 'j');
    await waitFor(s, /3 of 60\s*$/m, 'j j');
    keys(s, 'k');
    await waitFor(s, /2 of 60\s*$/m, 'k');
    keys(s, 'Down', 'Down');
    await waitFor(s, /4 of 60\s*$/m, 'Down Down');
    keys(s, 'Up');
    await waitFor(s, /3 of 60\s*$/m, 'Up');
    keys(s, 'NPage');
    text = await waitFor(s, /29 of 60\s*$/m, 'PgDn: a page down');
    t.match(text, /│ +29  /, 'the selected row is on screen');
    keys(s, 'PPage');
    await waitFor(s, /3 of 60\s*$/m, 'PgUp');
    keys(s, 'End');
    text = await waitFor(s, /60 of 60\s*$/m, 'End');
    t.match(text, /│ +60  /, 'the last row is on screen');
    keys(s, 'Home');
    await waitFor(s, /1 of 60\s*$/m, 'Home');

    keys(s, '/');
    await waitFor(s, /Filter: █/, '/: typing a filter');
    type(s, 'user1');
    text = await waitFor(s, /Filter: user1█/, 'the filter as typed');
    keys(s, 'Enter');
    text = await waitFor(s, /filter 'user1'/, 'the filter kept');
    const names = rows(text).flatMap((l) => /│ +\d+  (\S+)/.exec(l)?.slice(1) ?? []);
    t.ok(names.length === 10 && names.every((n) => n?.startsWith('user1')), `only names holding 'user1': ${names.join(' ')}`);
    t.match(text, /1 of 10\s*$/m);
    keys(s, 'Escape');
    await waitFor(s, (x) => /of 60\s*$/m.test(x) && !x.includes("filter 'user1'"), 'Esc clears the filter');

    // A wide name: its columns line up with the head, nothing after it shifts.
    keys(s, 'f');
    type(s, '王');
    keys(s, 'Enter');
    text = await waitFor(s, /王小明/, 'f: filter by a CJK name');
    const head = text.split('\n').find((l) => l.includes('Rank  Name')) ?? '';
    const row = text.split('\n').find((l) => l.includes('王小明')) ?? '';
    const xp = /([\d,]+)\s+[\d,.]+\s*$/.exec(row)?.[1] ?? '';
    t.equal(endColumn(row, xp), endColumn(head, 'XP'), 'XP ends under its head on the CJK row');
    t.ok(text.split('\n').every((l) => stringWidth(l) <= 100), 'no line wider than the terminal');
    keys(s, 'Escape');
    await waitFor(s, /of 60\s*$/m, 'Esc');

    // The other wide names, on the full board: every XP column ends where the head's does.
    keys(s, 'Tab', 'Tab', 'Tab', 'Tab', 'Tab', 'Tab', 'Tab', 'Tab', 'Tab');
    text = await waitFor(s, /· Overall$/m, 'back on Overall');
    const headCol = endColumn(text.split('\n').find((l) => l.includes('Rank  Name')) ?? '', 'XP');
    for (const l of text.split('\n').filter((x) => /│ +\d+  /.test(x))) {
      const x = /([\d,]+)\s*$/.exec(l)?.[1] ?? '';
      t.equal(endColumn(l, x), headCol, `aligned: ${l.trim()}`);
    }

    keys(s, 'Home', 'Enter');
    text = await waitFor(s, (x) => /CPU core-hours per month/.test(x) && !/…/.test(x), "Enter: the selected user's page, read in full");
    t.match(text, /^ All clusters · Last 30 days · evil\\x1b\[31mred$/m, 'the name, its control character escaped');
    t.match(text, /Skill +Rank +Level +XP +Value/);
    for (const skill of ['Overall', 'CPU core-hours', 'Wall-clock hours', 'GPU-hours', 'Finished jobs', 'Used memory GiB-hours']) t.match(text, new RegExp(`^ ${skill} `, 'm'), `the page lists ${skill}`);
    t.match(text, /[▁▂▃▄▅▆▇█]{3}/, 'a sparkline of the months');
    keys(s, 'Escape');
    await waitFor(s, /1 of 60\s*$/m, 'Esc: back to the board');

    keys(s, '?');
    text = await waitFor(s, /SB HIGH SCORES: KEYS/, '?: the keys');
    t.match(text, /q, Ctrl-C +quit/);
    keys(s, 'x');
    await waitFor(s, /1 of 60\s*$/m, 'any key leaves the help');
    keys(s, 'r');
    await waitFor(s, /read the boards again/, 'r: read again');

    tmux('resize-window', '-t', s, '-x', '60', '-y', '15');
    text = await waitFor(s, (x) => rows(x).length === 15 && !x.includes('│') && /1 of 60\s*$/m.test(x), 'the board at 60×15');
    t.ok(text.split('\n').every((l) => stringWidth(l) <= 60), 'nothing wider than 60 columns');
    t.match(text, /^ +1  \S+ +\d+ +[\d,]+$/m, 'rows, without the side panel');
    keys(s, 'j');
    await waitFor(s, /2 of 60\s*$/m, 'keys work after the resize');
    tmux('resize-window', '-t', s, '-x', '100', '-y', '30');
    text = await waitFor(s, (x) => rows(x).length === 30 && x.includes('│') && /2 of 60\s*$/m.test(x), 'the board at 100×30 again');
    t.match(text, /▸ Overall/, 'the side panel is back');

    keys(s, 'q');
    await assertRestored(t, s, 0);
  });

  t.test('boards and months not read yet (SB_RENDER_DELAY): drawn as loading at once, keys work meanwhile, then in full', async (t) => {
    const s = shell(100, 30);
    start(s, 'SB_RENDER_DELAY=3000');
    await waitFor(s, /1 of 60/, 'the first board');
    keys(s, 'Enter');
    let text = await waitFor(s, /^ CPU core-hours per month, all clusters: loading…$/m, 'the user page, its chart loading');
    t.match(text, /^ Overall +1 +\d+ +[\d,]+ *$/m, 'the board already read: its row at once');
    t.match(text, /^ CPU core-hours +… +… +… +…$/m, 'a board not read yet: placeholders');
    t.notMatch(text, /is on no board/, 'not said to be on no board while the boards are read');
    keys(s, 'j', 'j');
    await waitFor(s, /^ Wall-clock hours per month, all clusters: loading…$/m, 'j j: keys move on the page while it loads');
    text = await waitFor(s, (x) => /[▁▂▃▄▅▆▇█]{3}/.test(x) && !x.includes('…'), 'the page in full when the reads come');
    t.match(text, /^ Wall-clock hours per month, all clusters: most /m, 'the chart of the skill moved to');
    t.match(text, /^ CPU core-hours +2 +68 +622,440 +62,244\.1 core-hours$/m, 'the rows of the boards read meanwhile');

    keys(s, 'Enter');
    text = await waitFor(s, (x) => /· Wall-clock hours$/m.test(x) && /of 60\s*$/m.test(x), 'Enter: the board of that skill, read meanwhile');
    keys(s, 'w');
    text = await waitFor(s, /^ All clusters · Last 365 days · Wall-clock hours$/m, 'w: a window not read yet, at once');
    t.match(text, /│ loading…/, 'its rows loading');
    t.match(text, /0 of 0\s*$/m);
    keys(s, 'm');
    await waitFor(s, /^ All clusters · Last 365 days · GPU-hours$/m, 'm while it loads: the next skill');
    text = await waitFor(s, /[1-9] of \d+\s*$/m, 'the board of the skill shown, when read');
    t.match(text, /│ +1  王小明 +99 /, 'its rows');
    t.match(text, /· GPU-hours$/m, 'what came for the board left did not draw over this one');
    keys(s, 'q');
    await assertRestored(t, s, 0);
  });

  t.test('Ctrl-C quits (status 130) and gives the terminal back', async (t) => {
    const s = shell();
    start(s);
    await waitFor(s, /1 of 60/, 'the board');
    keys(s, 'C-c');
    await assertRestored(t, s, 130);
  });

  t.test('SIGINT from outside: the terminal given back, status 130', async (t) => {
    const s = shell();
    const pidFile = path.join(tmp, 'pid');
    run(s, `clear; echo BEFORE-MARKER; sh -c 'echo $$ > ${pidFile}; exec "$@"' sh ${render()}; echo "EXIT=$?"`);
    await waitFor(s, /1 of 60/, 'the board');
    process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGINT');
    await assertRestored(t, s, 130);
  });

  t.test('a crash inside the loop (SB_RENDER_CRASH=1): the terminal given back, the error said, status 1', async (t) => {
    const s = shell();
    start(s, 'SB_RENDER_CRASH=1');
    await waitFor(s, /1 of 60/, 'the board');
    keys(s, 'j');
    await assertRestored(t, s, 1);
    t.match(screen(s), /sb-render: SB_RENDER_CRASH is set: a crash inside the screen loop/, 'the error, on the main screen');
  });

  t.test('rank records piped in: the screen reads keys from the terminal', async (t) => {
    const s = shell(80, 24);
    run(s, `clear; echo BEFORE-MARKER; env -u NODE_OPTIONS TZ=UTC SB_HOME_ROOT=/nonexistent node '${path.join(ROOT, 'bin', 'sb-rank')}' --root '${STORE}' --now 2026-11-20T12:00:00Z -w alltime -c hammer | ${render('SB_ROOT=')}; echo "EXIT=$?"`);
    let text = await waitFor(s, /of \d+\s*$/m, 'the board from stdin');
    t.match(text, /^ hammer · All time · Overall$/m);
    t.notMatch(text, /as of/, 'rank records carry no time');
    keys(s, 'Tab');
    text = await waitFor(s, /· CPU core-hours$/m, 'keys from /dev/tty');
    keys(s, 'Enter');
    text = await waitFor(s, /No monthly history/, 'the user page says why there is no chart');
    keys(s, 'q');
    await assertRestored(t, s, 0);
  });

  t.test('a corrupt first board: one line naming the file, status 1, the screen never taken', async (t) => {
    const bad = path.join(tmp, 'bad');
    mkdirSync(path.join(bad, 'leaderboards'), { recursive: true });
    writeFileSync(path.join(bad, 'leaderboards', 'rolling-30d_overall.json'), '{"rows":[');
    const s = shell();
    start(s, `SB_ROOT='${bad}'`);
    await assertRestored(t, s, 1);
    t.match(tmux('capture-pane', '-p', '-J', '-t', s), /sb-render: \S+rolling-30d_overall\.json: not JSON \(.*\); the file is corrupt or truncated/);
  });

  t.test('colour: the palette on a terminal, none under NO_COLOR or TERM=dumb', async (t) => {
    const s = shell();
    start(s);
    await waitFor(s, /1 of 60/, 'the board');
    const coloured = tmux('capture-pane', '-p', '-e', '-t', s);
    t.match(coloured, /\x1b\[[0-9;]*43m/, 'brown (yellow) background on the title bar');
    t.match(coloured, /\x1b\[[0-9;]*93m/, 'gold (bright yellow)');
    keys(s, 'q');
    await waitFor(s, /EXIT=0/, 'quit');
    for (const env of ['NO_COLOR=1', 'TERM=dumb']) {
      start(s, env);
      await waitFor(s, /1 of 60/, `the board with ${env}`);
      const text = tmux('capture-pane', '-p', '-e', '-t', s);
      t.notMatch(text.slice(text.indexOf('SB HIGH SCORES') - 20), /\x1b\[[0-9;]*m/, `${env}: no colour at all`);
      keys(s, 'q');
      await waitFor(s, /EXIT=0/, 'quit');
    }
  });

  t.test("a: users, accounts, each account's users, and back (A); Enter opens an account's page; accounts since", async (t) => {
    const root = await teamStore(path.join(tmp, 'teams'));
    const s = shell(110, 40);
    start(s, `SB_ROOT='${root}'`);
    let text = await waitFor(s, /^ All clusters · Last 30 days · Overall$/m, 'the user boards first');
    t.match(text, / Board \(a\)/, 'the side panel lists the boards');
    t.match(text, /▸ Users/);
    t.match(text, /a accounts/, 'the key bar says so');
    keys(s, 'a');
    text = await waitFor(s, (x) => new RegExp(`^ All clusters · Last 30 days · Accounts · accounts since ${TEAM_SINCE} · Overall$`, 'm').test(x) && /acct\d\d +\d+ +[\d,]+$/m.test(x), 'a: the account boards');
    t.match(text, /│ Rank  Account +Level +XP$/m, 'accounts are named as such');
    t.match(text, /▸ Accounts/);
    const first = /^.*│ +1 +(acct\d\d) /m.exec(text)?.[1];
    t.ok(first !== undefined, 'an account ranked first');
    keys(s, 'Enter');
    text = await waitFor(s, new RegExp(`^ All clusters · Last 30 days · Accounts · ${first ?? ''}$`, 'm'), "Enter: the account's page");
    t.match(text, /Monthly history is kept for users/, 'no user history for an account');
    keys(s, 'Escape');
    await waitFor(s, /· Accounts · accounts since .* · Overall$/m, 'Esc: back to the board');
    keys(s, 'a');
    text = await waitFor(s, /^ All clusters · Last 30 days · Account acct00 · accounts since .* · Overall$/m, "a: the first account's users");
    t.match(text, /│ +1 +u\d{3} /m, 'users on it');
    keys(s, 'A', 'A');
    await waitFor(s, /^ All clusters · Last 30 days · Overall$/m, 'A A: the user boards again');
    keys(s, 'q');
    await waitFor(s, /EXIT=0/, 'quit');
  });

  t.test('a: a store without account boards says so', async (t) => {
    const s = shell();
    start(s);
    await waitFor(s, /1 of 60/, 'the board');
    keys(s, 'a');
    await waitFor(s, /no account boards \(sb-rank --write --by account\)/, 'the message');
    keys(s, 'q');
    await waitFor(s, /EXIT=0/, 'quit');
  });

  t.test('not UTF-8 (LC_ALL=C): ASCII lines, blocks and names', async (t) => {
    const s = shell();
    start(s, 'LC_ALL=C LANG=');
    const text = await waitFor(s, /1 of 60/, 'the board');
    t.match(text, /\| Rank  Name/, 'ASCII lines');
    t.match(text, /> Overall/);
    t.notMatch(text.slice(text.indexOf('SB HIGH SCORES')), /[^\x00-\x7f]/, 'nothing but ASCII');
    keys(s, 'q');
    await waitFor(s, /EXIT=0/, 'quit');
  });
}

if (!existsSync(TMUX)) {
  if (process.env['CI'] === 'true') t.fail('tmux is not installed (scripts/ensure-browser.sh installs it)');
  else t.skip('tmux is not installed: apt-get install tmux (make test does it as root)');
} else {
  tests();
}

// The page sb-render --html writes, in a real browser: Debian's chromium driven by
// playwright-core (no browser download). Clicks a skill, a window, a cluster, pages on,
// searches a name, opens user pages; checks the rows, that nothing is fetched and no name runs
// as markup; reads the page without JavaScript. Screenshots: test/artifacts/render/.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { ROOT, runBin } from './helpers/run.js';
import { TEAM_SINCE, teamStore } from './helpers/team-store.js';

const CHROMIUM = '/usr/bin/chromium';
const STORE = path.join(ROOT, 'test', 'cases', 'render', 'store');
const ARTIFACTS = path.join(ROOT, 'test', 'artifacts', 'render');
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

if (!existsSync(CHROMIUM)) {
  if (process.env['CI'] === 'true') t.fail(`${CHROMIUM} is not installed (scripts/ensure-browser.sh installs chromium as root)`);
  else t.skip(`${CHROMIUM} is not installed: run scripts/ensure-browser.sh as root (make test does) for the browser test`);
} else {
  await browserTests();
}

async function browserTests(): Promise<void> {
  const { chromium } = await import('playwright-core');
  const tmp = mkdtempSync(path.join(tmpdir(), 'sb-render-html-'));
  mkdirSync(ARTIFACTS, { recursive: true });
  const r = await runBin('sb-render', ['--root', STORE, '--html'], { env: { LC_ALL: 'C.UTF-8' } });
  const file = path.join(tmp, 'scores.html');
  writeFileSync(file, r.stdout);
  const url = `file://${file}`;
  const context = await chromium.launchPersistentContext(path.join(tmp, 'profile'), {
    executablePath: CHROMIUM,
    args: ARGS,
    viewport: { width: 1280, height: 900 },
    timeout: 120_000,
  });
  t.teardown(async () => {
    await context.close();
    rmSync(tmp, { recursive: true, force: true });
  });
  const fetched: string[] = [];
  await context.route('**/*', (route) => {
    const u = route.request().url();
    if (u.startsWith('file://')) return route.continue();
    fetched.push(u);
    return route.abort();
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(60_000);
  const errors: string[] = [];
  const dialogs: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  const rowTexts = (): Promise<string[][]> => page.$$eval('#rows tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => (td.textContent ?? '').trim())));
  const shot = (name: string): Promise<Buffer> => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });

  t.test('the page opens on the first board, 25 rows, as of its time', async (t) => {
    await page.goto(url);
    t.equal(await page.title(), 'Overall · High Scores');
    t.match(await page.textContent('.asof'), /as of 2026-11-20 12:00 UTC/);
    t.match(await page.textContent('#board-title'), /Overall\s+Last 30 days · All clusters/);
    const rows = await rowTexts();
    t.equal(rows.length, 25, '25 rows a page');
    t.same(rows[0], ['1', 'evil\\x1b[31mred', '493', '7,606,027'], 'rank, name (control character escaped), level, XP');
    t.same(rows.map((x) => Number(x[0])), Array.from({ length: 25 }, (_, i) => i + 1));
    t.match(await page.textContent('#pager .pos'), 'Page 1 of 3');
    const skills = await page.$$eval('#skills a', (as) => as.map((a) => (a.textContent ?? '').trim()));
    t.same(skills, ['🏆Overall', '⚙️CPU hours', '⏳Wall hours', '⚡GPU hours', '🔋GPU wall hours', '📜Jobs', '🔮GPU jobs', '💀Failed jobs', '📦Memory asked', '🧠Memory used']);
    await shot('board');
  });

  t.test('names are text, never markup', async (t) => {
    const names = await page.$$eval('#rows td.name', (tds) => tds.map((td) => td.textContent));
    t.ok(names.includes('<img src=x onerror=alert(1)>'), 'the markup name shows as text');
    t.equal(await page.$$eval('#rows img, main img', (x) => x.length), 0, 'no img element was made of it');
    t.ok(names.includes('averyveryveryverylongusernamethatgoesonandon'));
    t.same(dialogs, [], 'no script of a name ran');
  });

  t.test('a skill, a window and a cluster', async (t) => {
    await page.click('#skills a[data-skill="clock_hours"]');
    t.match(await page.textContent('#board-title'), /CPU core-hours\s+Last 30 days · All clusters/);
    t.same(await page.$$eval('#board thead th', (ths) => ths.map((th) => th.textContent)), ['Rank', 'Name', 'Level', 'XP', 'core-hours'], 'the value column with its unit');
    t.same((await rowTexts())[0], ['1', '<img src=x onerror=alert(1)>', '69', '682,210', '68,221.1']);
    await page.click('button[data-window="alltime"]');
    t.match(await page.textContent('#board-title'), /CPU core-hours\s+All time · All clusters/);
    t.equal(await page.getAttribute('button[data-window="alltime"]', 'aria-pressed'), 'true');
    await page.click('button[data-cluster="anvil"]');
    t.match(await page.textContent('#board-title'), /CPU core-hours\s+All time · anvil/);
    const rows = await rowTexts();
    t.same(rows[0], ['1', '🇯🇵taro', '79', '1,892,992', '189,299.2'], 'the anvil board, as sb-render --text shows it');
    t.match(page.url(), /#w=alltime&s=clock_hours&c=anvil$/, 'the address says where we are');
    await shot('skill-window-cluster');
    await page.click('#pager button:has-text("Next")');
    t.equal((await rowTexts())[0]?.[0], '26', 'page 2 starts at rank 26');
    t.match(await page.textContent('#pager .pos'), /Page 2 of/);
    await page.goBack();
    t.equal((await rowTexts())[0]?.[0], '1', 'Back: page 1 again');
  });

  t.test('search by name: a user page with every skill and a chart', async (t) => {
    await page.fill('#q', '王小明');
    await page.press('#q', 'Enter');
    await page.waitForSelector('#user-view:not([hidden])');
    t.match(await page.textContent('#user-title'), /Personal scores for 王小明\s+All time · anvil/);
    const rows = await page.$$eval('#user-view tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => (td.textContent ?? '').trim())));
    t.equal(rows.length, 10, 'every skill');
    t.equal(rows[0]?.[0], '🏆Overall');
    t.ok(rows.every((r) => r.length === 5));
    t.equal(await page.$$eval('#user-view svg.chart rect.bar', (x) => x.length), 12, 'a bar a month, a year of them');
    t.match(await page.textContent('#user-view figcaption'), /CPU core-hours per month · anvil/);
    await shot('user');
    await page.click('#user-view a[data-goto="gpu_jobs"]');
    t.match(await page.textContent('#board-title'), /GPU jobs\s+All time · anvil/);
    t.equal(await page.textContent('#rows tr.hl td.name'), '王小明', "the skill's board, the user's row marked");
  });

  t.test('search by part of a name filters the board; a name opens its page', async (t) => {
    await page.fill('#q', 'user1');
    await page.press('#q', 'Enter');
    t.match(await page.textContent('#search-note'), /No one is called “user1”; 10 names hold it/);
    const names = (await rowTexts()).map((r) => r[1]);
    t.ok(names.length > 0 && names.every((n) => n?.includes('user1')), names.join(' '));
    await shot('search');
    await page.click('#rows a >> nth=0');
    await page.waitForSelector('#user-view:not([hidden])');
    t.match(await page.textContent('#user-title'), new RegExp(`Personal scores for ${names[0]}`));
    await page.click('#user-view button.back');
    await page.waitForSelector('#board-view:not([hidden])');
  });

  t.test('the markup and script names on their own pages are text too', async (t) => {
    for (const name of ['<img src=x onerror=alert(1)>', '</script><script>alert(2)</script>']) {
      await page.fill('#q', name);
      await page.press('#q', 'Enter');
      await page.waitForSelector('#user-view:not([hidden])');
      t.equal(await page.textContent('#user-view .who'), name);
    }
    t.same(dialogs, [], 'nothing ran');
  });

  t.test('a link to a user page works on its own', async (t) => {
    await page.goto(`${url}#u=${encodeURIComponent('👩‍🔬sci')}&w=rolling-30d&s=overall&c=all`);
    await page.waitForSelector('#user-view:not([hidden])');
    t.match(await page.textContent('#user-title'), /Personal scores for 👩‍🔬sci\s+Last 30 days · All clusters/);
  });

  t.test('narrow screens: one column, no XP', async (t) => {
    await page.setViewportSize({ width: 420, height: 900 });
    await page.goto(url);
    t.equal(await page.isVisible('#board td.xp'), false);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    t.ok(overflow <= 0, `no sideways scrolling (${overflow} px)`);
    await shot('narrow');
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  t.test('without JavaScript the first board still reads', async (t) => {
    const ctx = await chromium.launchPersistentContext(path.join(tmp, 'profile-nojs'), { executablePath: CHROMIUM, args: ARGS, javaScriptEnabled: false, viewport: { width: 1280, height: 900 }, timeout: 120_000 });
    try {
      const p = ctx.pages()[0] ?? (await ctx.newPage());
      await p.goto(url);
      const rows = await p.$$eval('#rows tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => (td.textContent ?? '').trim())));
      t.equal(rows.length, 25);
      t.same(rows[0], ['1', 'evil\\x1b[31mred', '493', '7,606,027']);
      t.ok(await p.isVisible('noscript p'), 'it says what needs JavaScript');
      t.match(await p.textContent('noscript p'), /need JavaScript/);
      await p.screenshot({ path: path.join(ARTIFACTS, 'no-javascript.png'), fullPage: true });
    } finally {
      await ctx.close();
    }
  });

  t.test("the Boards switcher: users, accounts, one account's users (picked from a list); accounts since; the address keeps it", async (t) => {
    const root = await teamStore(path.join(tmp, 'teams'));
    const r = await runBin('sb-render', ['--root', root, '--html'], { env: { LC_ALL: 'C.UTF-8' } });
    t.equal(r.status, 0, r.stderr);
    const teams = path.join(tmp, 'teams.html');
    writeFileSync(teams, r.stdout);
    await page.goto(`file://${teams}`);
    t.same(await page.$$eval('#groups button', (bs) => bs.map((b) => (b.textContent ?? '').trim())), ['Users', 'Accounts']);
    t.equal(await page.isVisible('#since'), false, 'user boards count every job: no note');
    const names = (): Promise<string[]> => page.$$eval('#rows td.name', (tds) => tds.map((td) => (td.textContent ?? '').trim()));
    t.ok((await names()).every((n) => /^u\d{3}$/.test(n)), 'users first');
    await page.click('button[data-group="accounts"]');
    t.match(await page.textContent('#board-title'), /Overall\s+Last 30 days · All clusters · Accounts/);
    t.equal(await page.textContent('#board th.name'), 'Account');
    t.ok((await names()).length > 5 && (await names()).every((n) => /^acct\d\d$/.test(n)), 'accounts ranked');
    t.equal(await page.isVisible('#since'), true);
    t.match(await page.textContent('#since'), `Accounts since ${TEAM_SINCE}`);
    t.match(page.url(), /g=accounts/, 'the address keeps the group');
    await shot('accounts');
    await page.selectOption('#account-pick', 'account/acct01');
    t.match(await page.textContent('#board-title'), /· Account acct01/);
    t.ok((await names()).every((n) => /^u\d{3}$/.test(n)), "acct01's users");
    t.equal(await page.$eval('#account-pick', (e) => (e as HTMLSelectElement).value), 'account/acct01');
    await page.click('#rows td.name a');
    t.match(await page.textContent('#user-view'), /Monthly history is kept for users/);
    await page.goBack();
    await page.goBack();
    t.match(await page.textContent('#board-title'), /· Accounts/, 'Back: the account boards again');
    t.equal(await page.$eval('#account-pick', (e) => (e as HTMLSelectElement).value), '', 'the list shows no account');
    await page.click('button[data-group=""]');
    t.notMatch(await page.textContent('#board-title'), /Account/);
    await page.goto(`file://${teams}#w=rolling-30d&s=jobs&c=all&g=account%2Facct01`);
    t.match(await page.textContent('#board-title'), /Finished jobs\s+Last 30 days · All clusters · Account acct01/, 'a link opens the same board');
  });

  t.test('nothing fetched, no script error', async (t) => {
    t.same(fetched, [], 'every request was the file itself');
    t.same(errors, [], 'no error in the page');
  });
}

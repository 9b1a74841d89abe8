import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { ROOT, runCommand } from './helpers/run.js';

// scripts/check-layout.mjs (make check): the layout rule holds on lib/, and fails a tree that
// breaks it.
const check = (dir?: string): ReturnType<typeof runCommand> => runCommand(process.execPath, [path.join(ROOT, 'scripts', 'check-layout.mjs'), ...(dir ? [dir] : [])]);

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'sb-layout-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    writeFileSync(path.join(dir, f), text);
  }
  return dir;
}

t.test('lib/ follows the rule', async (t) => {
  const r = await check();
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /^layout: \d+ tools, \d+ core modules each used by two or more tools, no tool imports another\n$/);
});

t.test('a core module one tool uses, a tool importing another, a module outside a concern: each fails', async (t) => {
  const good = {
    'tools/a.ts': "import { x } from '../core/cli/x.js';\n",
    'tools/b.ts': "import { x } from '../core/cli/x.js';\nimport { y } from './b/y.js';\n",
    'tools/b/y.ts': 'export const y = 1;\n',
    'core/cli/x.ts': "import { z } from '../store/z.js';\nexport const x = z;\n",
    'core/store/z.ts': 'export const z = 1;\n',
  };
  t.equal((await check(tree(good))).status, 0, 'a good tree passes (core/store/z.ts reaches two tools through core/cli/x.ts)');
  let r = await check(tree({ ...good, 'core/cli/only-a.ts': 'export const o = 1;\n', 'tools/a.ts': "import { x } from '../core/cli/x.js';\nimport { o } from '../core/cli/only-a.js';\n" }));
  t.equal(r.status, 1);
  t.match(r.stderr, /lib\/core\/cli\/only-a\.ts is used by only a: move it into that tool's folder/);
  r = await check(tree({ ...good, 'tools/a.ts': "import { x } from '../core/cli/x.js';\nimport { y } from './b/y.js';\n" }));
  t.equal(r.status, 1);
  t.match(r.stderr, /lib\/tools\/a\.ts \(a\) imports lib\/tools\/b\/y\.ts of the tool b/);
  r = await check(tree({ ...good, 'core/loose.ts': 'export const l = 1;\n' }));
  t.equal(r.status, 1);
  t.match(r.stderr, /core\/loose\.ts: core modules live in a folder named by concern/);
  r = await check(tree({ ...good, 'core/cli/unused.ts': 'export const u = 1;\n' }));
  t.match(r.stderr, /core\/cli\/unused\.ts is used by no tool/);
});

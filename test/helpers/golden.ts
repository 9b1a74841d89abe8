import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { ROOT, runShell } from './run.js';

// Golden cases: test/cases/<tool>/<case>/{cmd,input,expected.stdout,expected.stderr,expected.status}.
// `cmd` is one shell line run in the case folder with bin/ on PATH and TZ=UTC; a missing
// expected.stderr means stderr must be empty, a missing expected.status means 0.
// With `env`, the cases run again with those variables (`label` names the run).
// A tool without its folder, or a folder without a case, fails: a golden test must run something.
export function goldenCases(tool: string, env?: NodeJS.ProcessEnv, label = ''): void {
  const dir = path.join(ROOT, 'test', 'cases', tool);
  const names = existsSync(dir) ? readdirSync(dir).filter((n) => existsSync(path.join(dir, n, 'cmd'))).sort() : [];
  if (names.length === 0) {
    t.fail(`golden ${tool}${label}: no cases in test/cases/${tool}/ (each case is a folder with a 'cmd' file)`);
    return;
  }
  for (const name of names) {
    const caseDir = path.join(dir, name);
    const read = (f: string): string | undefined =>
      existsSync(path.join(caseDir, f)) ? readFileSync(path.join(caseDir, f), 'utf8') : undefined;
    const cmd = read('cmd') ?? '';
    t.test(`golden ${tool}/${name}${label}`, async (t) => {
      const input = read('input');
      const r = await runShell(cmd.trim(), { cwd: caseDir, ...(input !== undefined ? { input } : {}), ...(env !== undefined ? { env } : {}) });
      t.equal(r.stdout, read('expected.stdout') ?? '', 'stdout');
      t.equal(r.stderr, read('expected.stderr') ?? '', 'stderr');
      t.equal(r.status, Number((read('expected.status') ?? '0').trim()), 'exit status');
    });
  }
}

// make test: the TAP report stays in a file; what reaches the terminal is each failing assertion
// with the test it belongs to and its diagnostics, then the totals.
//   node scripts/tap-summary.mjs .tap/report.tap
import { readFileSync } from 'node:fs';

const file = process.argv[2] ?? '.tap/report.tap';
const lines = readFileSync(file, 'utf8').split('\n');
const out = [];
// the names of the subtests we are inside, by indentation
const stack = [];
for (let i = 0; i < lines.length; i++) {
  const line = lines[i];
  const sub = /^(\s*)# Subtest: (.*)$/.exec(line);
  if (sub) {
    const depth = sub[1].length / 4;
    stack.length = depth;
    stack[depth] = sub[2];
    continue;
  }
  const bad = /^(\s*)not ok \d+ - (.*?)(?: # time=.*)?$/.exec(line);
  if (!bad) continue;
  const depth = bad[1].length / 4;
  // a failing subtest's own 'not ok' follows its children's plan: report the failures themselves
  let prev = i - 1;
  while (prev >= 0 && lines[prev].trim() === '') prev--;
  const plan = /^(\s*)1\.\.\d+/.exec(lines[prev] ?? '');
  if (plan && plan[1].length > bad[1].length) continue;
  const next = lines[i + 1] ?? '';
  const name = [...stack.slice(0, depth), bad[2]].filter(Boolean).join(' > ');
  // a test file that failed as a process: its exit, not the runner's command line
  const block = [];
  if (/^\s*---$/.test(next)) for (let j = i + 2; j < lines.length && !/^\s*\.\.\.$/.test(lines[j]); j++) block.push(lines[j]);
  if (block.some((l) => /^\s*command: /.test(l))) {
    const code = block.map((l) => /^\s*exitCode: (.*)$/.exec(l)?.[1]).find((c) => c !== undefined);
    const signal = block.map((l) => /^\s*signal: (.*)$/.exec(l)?.[1]).find((c) => c !== undefined);
    out.push(`not ok: ${name} (exit code ${code ?? '?'}${signal && signal !== 'null' ? `, signal ${signal}` : ''})`);
    continue;
  }
  out.push(`not ok: ${name}`);
  if (/^\s*---$/.test(next)) {
    const indent = next.indexOf('-');
    for (let j = i + 2; j < lines.length && !/^\s*\.\.\.$/.test(lines[j]); j++) out.push(`    ${lines[j].slice(indent)}`);
  }
}
const total = lines.filter((l) => /^# \{ total: /.test(l)).pop();
if (out.length > 0) console.log(out.slice(0, 400).join('\n') + (out.length > 400 ? `\n... ${out.length - 400} more lines in ${file}` : ''));
if (total) {
  const pass = Number(/pass: (\d+)/.exec(total)?.[1] ?? 0);
  const fail = Number(/fail: (\d+)/.exec(total)?.[1] ?? 0);
  console.log(total);
  console.log(`${pass} passed, ${fail} failed (the whole TAP report: ${file})`);
} else {
  console.log(`the test run ended without its totals (the whole TAP report: ${file})`);
}

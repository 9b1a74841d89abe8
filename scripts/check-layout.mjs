// make check: the layout rule. A tool is lib/tools/<tool>.ts plus lib/tools/<tool>/; it never
// imports another tool's files. lib/core/ holds only what two or more tools use (directly or
// through other core modules); a module serving one tool belongs in that tool's folder.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

// the tree to check: `lib` of the current directory, or the directory given
const LIB = path.resolve(process.argv[2] ?? 'lib');
const problems = [];

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') && !p.endsWith('.d.ts') ? [p] : [];
  });
}

// The relative modules a file imports (static, dynamic and type-only), as absolute .ts paths.
function imports(file) {
  const text = readFileSync(file, 'utf8');
  const found = [];
  for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"](\.{1,2}\/[^'"]+)['"]/g)) {
    found.push(path.resolve(path.dirname(file), m[1]).replace(/\.js$/, '.ts'));
  }
  return found;
}

// The tool a file belongs to (lib/tools/x.ts and lib/tools/x/**), or undefined for core.
function toolOf(file) {
  const rel = path.relative(path.join(LIB, 'tools'), file);
  if (rel.startsWith('..')) return undefined;
  return rel.split(path.sep)[0].replace(/\.ts$/, '');
}

const files = walk(LIB);
const graph = new Map(files.map((f) => [f, imports(f)]));
for (const f of files) {
  const rel = path.relative(LIB, f);
  if (!rel.startsWith('core' + path.sep) && !rel.startsWith('tools' + path.sep)) problems.push(`lib/${rel}: every module is in lib/core/ or lib/tools/`);
  if (rel.startsWith('core' + path.sep) && path.dirname(rel) === 'core') problems.push(`lib/${rel}: core modules live in a folder named by concern (lib/core/<concern>/)`);
  const from = toolOf(f);
  for (const target of graph.get(f)) {
    if (!target.startsWith(LIB + path.sep)) {
      problems.push(`lib/${rel} imports ${path.relative(process.cwd(), target)}, outside lib/`);
      continue;
    }
    const to = toolOf(target);
    if (from !== undefined && to !== undefined && to !== from) problems.push(`lib/${rel} (${from}) imports lib/${path.relative(LIB, target)} of the tool ${to}`);
    if (from === undefined && to !== undefined) problems.push(`lib/${rel} (core) imports lib/${path.relative(LIB, target)} of the tool ${to}`);
  }
}

// Which tools reach each core module, through any chain of imports.
const users = new Map(files.filter((f) => toolOf(f) === undefined).map((f) => [f, new Set()]));
for (const f of files) {
  const t = toolOf(f);
  if (t === undefined) continue;
  const seen = new Set();
  const stack = [...graph.get(f)];
  while (stack.length > 0) {
    const m = stack.pop();
    if (seen.has(m) || toolOf(m) !== undefined) continue;
    seen.add(m);
    users.get(m)?.add(t);
    stack.push(...(graph.get(m) ?? []));
  }
}
for (const [m, tools] of users) {
  if (tools.size < 2) {
    const who = tools.size === 0 ? 'no tool' : `only ${[...tools][0]}`;
    problems.push(`lib/${path.relative(LIB, m)} is used by ${who}: move it into that tool's folder (or delete it)`);
  }
}

if (problems.length > 0) {
  for (const p of problems) console.error(`check-layout: ${p}`);
  process.exit(1);
}
const tools = new Set(files.map(toolOf).filter((t) => t !== undefined));
console.log(`layout: ${tools.size} tools, ${users.size} core modules each used by two or more tools, no tool imports another`);

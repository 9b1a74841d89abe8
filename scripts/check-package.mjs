// make check: package.json's bin and man lists agree with bin/ and man/, each bin has a page.
import { readdirSync, readFileSync, statSync } from 'node:fs';

const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const problems = [];
const bins = readdirSync('bin').filter((f) => f.startsWith('sb-')).sort();
const declared = Object.keys(pkg.bin ?? {}).sort();
if (JSON.stringify(bins) !== JSON.stringify(declared)) problems.push(`package.json bin ${JSON.stringify(declared)} != bin/ ${JSON.stringify(bins)}`);
for (const [name, file] of Object.entries(pkg.bin ?? {})) {
  if (file !== `bin/${name}`) problems.push(`package.json bin.${name} is '${file}', expected 'bin/${name}'`);
}
const pages = [
  ...readdirSync('man/man1').map((f) => `man/man1/${f}`),
  ...readdirSync('man/man7').map((f) => `man/man7/${f}`),
].sort();
const declaredMan = [...(pkg.man ?? [])].sort();
if (JSON.stringify(pages) !== JSON.stringify(declaredMan)) problems.push(`package.json man ${JSON.stringify(declaredMan)} != man/ ${JSON.stringify(pages)}`);
for (const b of bins) {
  if (!pages.includes(`man/man1/${b}.1`)) problems.push(`bin/${b} has no man/man1/${b}.1`);
  if (!(statSync(`bin/${b}`).mode & 0o111)) problems.push(`bin/${b} is not executable`);
}
if (problems.length > 0) {
  for (const p of problems) console.error(`check-package: ${p}`);
  process.exit(1);
}
console.log(`package.json: ${bins.length} bin(s) and ${pages.length} man page(s) agree with bin/ and man/`);

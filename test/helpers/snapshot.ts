import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

// Every file under root with its mtime and bytes: two snapshots are equal only when nothing
// was written, not even the same bytes again.
export function snapshot(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(path.relative(root, p), `${statSync(p).mtimeMs} ${readFileSync(p).toString('base64')}`);
    }
  };
  walk(root);
  return out;
}

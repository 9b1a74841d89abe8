import { childProcess } from '../cli/builtins.js';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { SbError } from '../cli/errors.js';

export const OPTOUT_FILE = '.slurm_scoreboard_optout';

// `<root>/config/optout.txt`: one user a line; blank lines and `#` comments ignored.
export function readOptoutList(root: string): Set<string> {
  const file = path.join(root, 'config', 'optout.txt');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Set();
    throw new SbError(`cannot read '${file}': ${(err as Error).message}`);
  }
  return parseOptoutList(text);
}

export function parseOptoutList(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const name = line.replace(/#.*/, '').trim();
    if (name !== '') out.add(name);
  }
  return out;
}

// Home directories of users: $SB_HOME_ROOT/<user> when set, else the passwd database
// (`getent passwd`, which sees LDAP/SSSD users too; /etc/passwd if getent is missing).
export function homeDirs(users: readonly string[], env: NodeJS.ProcessEnv): Map<string, string> {
  const homes = new Map<string, string>();
  const safe = users.filter((u) => u !== '.' && u !== '..' && !u.includes('/') && !u.includes('\0'));
  const root = env['SB_HOME_ROOT'];
  if (root) {
    for (const u of safe) homes.set(u, path.join(root, u));
    return homes;
  }
  const wanted = new Set(safe);
  for (let i = 0; i < safe.length; i += 500) {
    for (const [u, home] of passwdHomes(safe.slice(i, i + 500))) if (wanted.has(u)) homes.set(u, home);
  }
  return homes;
}

// (`--`: a user name that starts with '-' is a name to look up, not an option of getent's)
function passwdHomes(users: string[]): Array<[string, string]> {
  let text: string;
  try {
    text = childProcess().execFileSync('getent', ['passwd', '--', ...users], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20, timeout: 60_000 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stdout?: string; status?: number };
    if (e.code === 'ENOENT') text = readPasswd();
    else if (e.status === 2 && typeof e.stdout === 'string') text = e.stdout; // some users not found
    else throw new SbError(`cannot look up home directories with getent: ${e.message}`);
  }
  return text.split('\n').flatMap((line): Array<[string, string]> => {
    const f = line.split(':');
    return f.length >= 7 && f[0] && f[5] ? [[f[0], f[5]]] : [];
  });
}

function readPasswd(): string {
  try {
    return readFileSync('/etc/passwd', 'utf8');
  } catch {
    return '';
  }
}

export interface HomeOptouts {
  users: Set<string>;
  // Homes that could not be searched (mode 0700): their opt-out cannot be seen.
  unreadable: string[];
}

// The users whose home holds ~/.slurm_scoreboard_optout.
export function homeOptouts(homes: Map<string, string>): HomeOptouts {
  const users = new Set<string>();
  const unreadable: string[] = [];
  for (const [user, home] of homes) {
    try {
      statSync(path.join(home, OPTOUT_FILE));
      users.add(user);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM') unreadable.push(user);
    }
  }
  return { users, unreadable };
}

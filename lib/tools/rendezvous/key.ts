import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { SbError, UsageError } from '../../core/cli/errors.js';
import type { Reporter } from '../../core/cli/report.js';

export const KEY_ENV = 'SB_RENDEZVOUS_KEY';
const MIN_KEY = 16;

export interface KeySource {
  file: string | undefined;
  inline: string | undefined;
  env: NodeJS.ProcessEnv;
  // serve: a key file that does not exist yet is made, with a new random key
  create: boolean;
}

// The group's shared key: --authkey-file FILE (its first line), else $SB_RENDEZVOUS_KEY, else
// --authkey (accepted as the seed took it, with a warning: every user of the host sees it in ps).
export function loadKey(src: KeySource, report: Reporter): Buffer {
  let text: string | undefined;
  if (src.file !== undefined) text = readKeyFile(src.file, src.create, report);
  else if (src.env[KEY_ENV]) text = src.env[KEY_ENV];
  else if (src.inline !== undefined) {
    report.warn(`--authkey shows the key to every user of this host (ps, /proc); use --authkey-file FILE or ${KEY_ENV}`);
    text = src.inline;
  }
  if (text === undefined) throw new UsageError(`no key: give --authkey-file FILE or set ${KEY_ENV}`);
  text = text.trim();
  if (text.length < MIN_KEY) throw new SbError(`the key is ${text.length} characters long; at least ${MIN_KEY} are needed (a short key can be guessed)`);
  return Buffer.from(text, 'utf8');
}

function readKeyFile(file: string, create: boolean, report: Reporter): string {
  try {
    const st = statSync(file);
    if ((st.mode & 0o077) !== 0) report.warn(`the key file '${file}' can be read by other users (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`);
    return readFileSync(file, 'utf8').split('\n')[0] ?? '';
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code !== 'ENOENT') throw new SbError(`cannot read the key file '${file}': ${e.message}`);
    if (!create) throw new SbError(`the key file '${file}' does not exist (sb-rendezvous serve --authkey-file FILE makes one)`);
  }
  const key = randomBytes(32).toString('hex');
  try {
    writeFileSync(file, key + '\n', { mode: 0o600, flag: 'wx' });
  } catch (err) {
    throw new SbError(`cannot write a new key to '${file}': ${(err as Error).message}`);
  }
  report.info(`wrote a new key to '${file}' (mode 600): copy it to each member's host and give it with --authkey-file`);
  return key;
}

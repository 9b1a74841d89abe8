import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SbError } from '../cli/errors.js';
import { writeFilesAtomic } from './atomic.js';

// What one poll did (state/poll.json, docs/store.md): sb-poll writes it at the end of every
// poll it ran (not one that found another poll holding the lock); sb-probe --status reads it.
export interface PollResult {
  started: string;
  finished: string;
  // sb-poll's exit status: 0 ok, 75 some windows could not be fetched for now, 1 broken, 3 locked
  status: number;
  result: 'ok' | 'tempfail' | 'failed' | 'locked';
  since: string;
  until: string;
  windows: number;
  failed_windows: number;
  commits: number;
  new_jobs: number;
  warnings: number;
  // The one line it printed (a failure, or the first warning); absent when it printed none.
  message?: string;
}

export interface Heartbeat {
  schema_version: 1;
  cluster: string;
  host: string;
  user: string;
  pid: number;
  last: PollResult;
  // The last poll that exited 0 (this one, or one before it).
  last_ok?: PollResult;
}

export function heartbeatPath(root: string, cluster: string): string {
  return path.join(root, 'clusters', cluster, 'state', 'poll.json');
}

// The lock one poll of a cluster holds for its whole run (another poll exits 3).
export function pollLockPath(root: string, cluster: string): string {
  return path.join(root, 'clusters', cluster, 'state', 'poll.lock');
}

// The heartbeat of a cluster; undefined before its first poll. Unreadable or malformed: an
// error naming the file.
export function readHeartbeat(file: string): Heartbeat | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SbError(`cannot read '${file}': ${(err as Error).message}`);
  }
  let doc: Partial<Heartbeat>;
  try {
    doc = JSON.parse(text) as Partial<Heartbeat>;
  } catch {
    throw new SbError(`${file}: not JSON; the poll's heartbeat is corrupt (the next poll replaces it)`);
  }
  if (doc?.schema_version !== 1 || typeof doc.last?.finished !== 'string') throw new SbError(`${file}: not a poll heartbeat of schema_version 1`);
  return doc as Heartbeat;
}

// Replaces the heartbeat atomically (a reader sees the old one or the new one, whole).
export async function writeHeartbeat(file: string, hb: Heartbeat): Promise<void> {
  await writeFilesAtomic([{ path: file, text: JSON.stringify(hb) + '\n' }]);
}

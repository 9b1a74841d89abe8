import { nodeCrypto } from '../cli/builtins.js';
import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { open, readdir, rename, unlink } from 'node:fs/promises';
import path from 'node:path';

// Writes a whole file and forces it to disk before returning (write, fsync, close).
export function writeDurable(file: string, data: string | Buffer, mode = 0o644): void {
  const fd = openSync(file, 'w', mode);
  try {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

// writeDurable of many files, `parallel` at a time; returns once every one is on disk.
export async function writeDurableAll(files: ReadonlyArray<{ file: string; data: string | Buffer }>, parallel = 16): Promise<void> {
  await eachLimited(files.length, parallel, async (i) => {
    const { file, data } = files[i] as { file: string; data: string | Buffer };
    const fh = await open(file, 'w', 0o644);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
  });
}

// fsyncDir of each directory, all at once.
export async function fsyncDirsAll(dirs: readonly string[]): Promise<void> {
  await Promise.all(
    dirs.map(async (dir) => {
      let fh;
      try {
        fh = await open(dir, 'r');
      } catch {
        return;
      }
      try {
        await fh.sync();
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EINVAL' && code !== 'EBADF' && code !== 'ENOTSUP') throw err;
      } finally {
        await fh.close();
      }
    }),
  );
}

// A rename or unlink is durable only once its directory is synced.
export function fsyncDir(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch {
    return;
  }
  try {
    fsyncSync(fd);
  } catch (err) {
    // Some filesystems refuse fsync on a directory (EINVAL); their renames are already durable.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EBADF' && code !== 'ENOTSUP') throw err;
  } finally {
    closeSync(fd);
  }
}

// A file's bytes, or undefined when it does not exist.
export function readIfExists(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export interface FileText {
  path: string;
  text: string | Uint8Array;
}

// Temporary names: `.<name>.<12 hex>.tmp` in the target's directory (hidden from `*.json`).
export const TEMP_NAME = /^\..+\.[0-9a-f]{12}\.tmp$/;

// Writes files so that a reader sees each one whole, old or new, never partial, even after a
// crash: each goes to a temporary file in its own directory, is fsynced, then renamed over
// the target; last, each directory is fsynced so the renames survive a crash. The fsyncs run
// `parallel` at a time: one at a time, hundreds of small files cost a disk flush each (303
// leaderboards: 1.5 s one by one, 0.15 s like this, on ext4). `beforeRename` may throw to
// publish nothing (the temporary files are removed).
export async function writeFilesAtomic(files: readonly FileText[], beforeRename?: () => void, parallel = 16): Promise<void> {
  const temps = files.map((f) => path.join(path.dirname(f.path), `.${path.basename(f.path)}.${nodeCrypto().randomBytes(6).toString('hex')}.tmp`));
  try {
    await eachLimited(files.length, parallel, async (i) => {
      const fh = await open(temps[i] as string, 'wx', 0o644);
      try {
        await fh.writeFile((files[i] as FileText).text);
        await fh.sync();
      } finally {
        await fh.close();
      }
    });
    beforeRename?.();
    for (let i = 0; i < files.length; i++) await rename(temps[i] as string, (files[i] as FileText).path);
  } catch (err) {
    await Promise.all(temps.map((t) => unlink(t).catch(() => undefined)));
    throw err;
  }
  for (const dir of new Set(files.map((f) => path.dirname(f.path)))) fsyncDir(dir);
}

// Removes temporary files a crashed writer left in dir. Call only while holding the lock
// that every writer of dir holds, or a live writer's file goes too.
export async function removeStaleTemps(dir: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  const stale = names.filter((n) => TEMP_NAME.test(n));
  await Promise.all(stale.map((n) => unlink(path.join(dir, n)).catch(() => undefined)));
  return stale.length;
}

async function eachLimited(n: number, limit: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
}

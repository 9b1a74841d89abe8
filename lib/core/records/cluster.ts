import { childProcess } from '../cli/builtins.js';
import { SbError } from '../cli/errors.js';

// The local cluster's name: $SB_CLUSTER, else ClusterName from `scontrol show config`
// ($SB_SCONTROL names the binary).
export function localClusterName(env: NodeJS.ProcessEnv): string {
  const fromEnv = env['SB_CLUSTER'];
  if (fromEnv) {
    if (!isClusterName(fromEnv)) throw new SbError(`SB_CLUSTER '${fromEnv}' ${notClusterName(fromEnv)}`);
    return fromEnv;
  }
  const scontrol = env['SB_SCONTROL'] ?? 'scontrol';
  let text: string;
  try {
    text = childProcess().execFileSync(scontrol, ['show', 'config'], {
      env: { ...env, LC_ALL: 'C' },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 20_000,
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    const why = e.code === 'ENOENT' ? `'${scontrol}' is not installed` : (e.stderr?.trim().split('\n').pop() ?? e.message);
    throw new SbError(`cannot find the local cluster's name (${why}); give --cluster NAME or set SB_CLUSTER`);
  }
  const m = /^ClusterName\s*=\s*(\S+)\s*$/m.exec(text);
  if (!m?.[1] || !isClusterName(m[1])) {
    throw new SbError(`cannot find ClusterName in '${scontrol} show config'; give --cluster NAME or set SB_CLUSTER`);
  }
  return m[1];
}

const CLUSTER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

// A cluster name safe to use as a directory name and a sacct -M argument, and not 'all' (in
// any case): that names the sum of every cluster on the boards.
export function isClusterName(name: string): boolean {
  return CLUSTER_NAME.test(name) && name.length <= 64 && name.toLowerCase() !== RESERVED;
}

const RESERVED = 'all';

// What a refused cluster name is told: why, when the reason is the reservation.
export function notClusterName(name: string): string {
  return `is not a cluster name${name.toLowerCase() === RESERVED ? " ('all' names the sum of every cluster)" : ''}`;
}

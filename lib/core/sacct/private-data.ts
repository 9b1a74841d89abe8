import { query, type QueryResult } from './slurm-client.js';

// `Key = value` lines of `sacctmgr show config` (the client's accounting settings, then, after
// "SlurmDBD configuration:", slurmdbd's own, which slurmdbd sends to any user) or of
// `scontrol show config`. Keys as printed; `dbd` is undefined when slurmdbd's part is absent.
export interface SlurmConfig {
  client: Map<string, string>;
  dbd: Map<string, string> | undefined;
}

export function parseSlurmConfig(text: string): SlurmConfig {
  const client = new Map<string, string>();
  let dbd: Map<string, string> | undefined;
  let into = client;
  for (const line of text.split('\n')) {
    if (/^SlurmDBD configuration:/i.test(line.trim())) {
      into = dbd = new Map();
      continue;
    }
    const m = /^([A-Za-z][\w[\]]*)\s*=\s?(.*)$/.exec(line);
    if (m) into.set(m[1] as string, (m[2] as string).trim());
  }
  return { client, dbd };
}

// Does a PrivateData value (`jobs,usage`, `none`) hide other users' jobs?
export function hidesJobs(privateData: string): boolean {
  return /(^|[,\s])jobs($|[,\s])/i.test(privateData);
}

export interface PrivacyQuestion {
  sacct: string;
  sacctmgr: string;
  // For the evidence (the probe): running jobs of others that squeue lists must be in sacct.
  squeue?: string;
  env: NodeJS.ProcessEnv;
  user: string;
  uid: number;
  cluster?: string;
  timeoutMs: number;
}

export interface PrivacyVerdict {
  // hidden: sacct -a shows this user only some users' jobs (PrivateData=jobs on slurmdbd)
  state: 'ok' | 'hidden' | 'unknown';
  // One line: what was found and, when hidden, what to do.
  message: string;
  // slurmdbd's PrivateData as it said, when it did.
  dbd?: string;
}

// Whether sacct -a shows this user every user's jobs. slurmdbd's PrivateData=jobs makes it
// show an ordinary user only her own (exit 0, nothing on stderr), and a store fed so would
// hold one user and record every window done. Root, SlurmUser and operators see everything.
// Asks slurmdbd's own configuration (`sacctmgr show config`, any user may); with `squeue`,
// also checks that jobs of other users which squeue lists as running are in sacct's answer
// (a job running for a minute has reached slurmdbd), which needs no configuration at all.
export async function privacyCheck(q: PrivacyQuestion): Promise<PrivacyVerdict> {
  if (q.uid === 0) return { state: 'ok', message: 'root sees every user\'s jobs' };
  const fix = `run sb as root, as SlurmUser, or as an operator (sacctmgr modify user ${q.user} set adminlevel=operator)`;
  const conf = await query(q.sacctmgr, ['show', 'config'], q.env, q.timeoutMs);
  const dbd = conf.ok ? parseSlurmConfig(conf.stdout).dbd : undefined;
  const privateData = dbd?.get('PrivateData');
  let byConfig: PrivacyVerdict | undefined;
  if (privateData !== undefined) {
    const slurmUser = (dbd?.get('SlurmUser') ?? '').replace(/\(.*$/, '');
    if (!hidesJobs(privateData)) byConfig = { state: 'ok', message: `slurmdbd's PrivateData is '${privateData}': no jobs hidden`, dbd: privateData };
    else if (slurmUser === q.user) byConfig = { state: 'ok', message: `slurmdbd has PrivateData=${privateData}, but ${q.user} is its SlurmUser`, dbd: privateData };
    else {
      const level = await query(q.sacctmgr, ['-n', '-P', 'show', 'user', q.user, 'format=AdminLevel'], q.env, q.timeoutMs);
      const admin = level.ok ? level.stdout.trim().split('\n')[0]?.trim() ?? '' : '';
      byConfig = /^(operator|administrator|admin)$/i.test(admin)
        ? { state: 'ok', message: `slurmdbd has PrivateData=${privateData}, but ${q.user} is an ${admin}`, dbd: privateData }
        : {
            state: 'hidden',
            message: `slurmdbd has PrivateData=${privateData}: sacct -a shows ${q.user} only ${q.user}'s own jobs, so the store would count ${q.user} alone and take every window as done; ${fix}`,
            dbd: privateData,
          };
    }
  }
  const seen = q.squeue === undefined ? undefined : await evidence(q);
  if (seen?.state === 'hidden') return { ...seen, message: `${seen.message}; ${fix}`, ...(privateData !== undefined ? { dbd: privateData } : {}) };
  if (byConfig !== undefined) return seen?.state === 'ok' && byConfig.state === 'ok' ? { ...byConfig, message: `${byConfig.message}; ${seen.message}` } : byConfig;
  if (seen?.state === 'ok') return seen;
  const why = conf.ok ? 'sacctmgr show config does not show slurmdbd\'s PrivateData' : `sacctmgr show config: ${conf.problem}`;
  return { state: 'unknown', message: `cannot tell whether slurmdbd hides other users' jobs (${why}${seen ? `; ${seen.message}` : ''})` };
}

// Jobs of other users running for more than a minute by squeue, looked up by id in sacct.
async function evidence(q: PrivacyQuestion): Promise<PrivacyVerdict> {
  const sq = await query(q.squeue as string, ['-h', '-a', '-t', 'R', '-o', '%A|%u|%S'], q.env, q.timeoutMs);
  if (!sq.ok) return { state: 'unknown', message: `squeue: ${sq.problem}` };
  const now = Date.now() / 1000;
  const others = sq.stdout
    .split('\n')
    .map((l) => l.trim().split('|'))
    .filter(([id, user, start]) => /^\d+$/.test(id ?? '') && user !== undefined && user !== q.user && started(start) < now - 60)
    .slice(0, 20);
  if (others.length === 0) return { state: 'unknown', message: 'squeue lists no job of another user running for over a minute to look up' };
  const ids = others.map(([id]) => id as string);
  const sa: QueryResult = await query(q.sacct, ['-a', '-X', '-n', '-P', '-j', ids.join(','), '-o', 'JobIDRaw,User', ...(q.cluster ? ['-M', q.cluster] : [])], q.env, q.timeoutMs);
  if (!sa.ok) return { state: 'unknown', message: `sacct -j: ${sa.problem}` };
  const found = new Set(sa.stdout.split('\n').map((l) => l.split('|')[0]?.trim()));
  const missing = ids.filter((id) => !found.has(id));
  const users = [...new Set(others.map(([, u]) => u))].sort();
  if (missing.length === ids.length) {
    return { state: 'hidden', message: `sacct -a shows none of ${ids.length} running job(s) of ${users.join(', ')} that squeue lists (${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', ...' : ''}): slurmdbd hides other users' jobs from ${q.user} (PrivateData=jobs)` };
  }
  return { state: 'ok', message: `sacct shows ${ids.length - missing.length} of ${ids.length} running job(s) of other users that squeue lists` };
}

// squeue's %S (SLURM_TIME_FORMAT=standard, TZ=UTC) → epoch seconds; Infinity when not a time.
function started(text: string | undefined): number {
  const t = text !== undefined && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/.test(text) ? Date.parse(`${text}Z`) / 1000 : NaN;
  return Number.isFinite(t) ? t : Number.POSITIVE_INFINITY;
}

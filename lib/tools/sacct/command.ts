import { SB_SACCT_FIELDS } from '../../core/sacct/fields.js';
import { formatTime } from '../../core/records/time.js';

// The fixed field list sb asks sacct for, in this order (sb-sacct(1)): enough for every metric and
// for the dedupe key; never JobName, SubmitLine or WorkDir. One list, shared with sb-parse.
export const SACCT_FIELDS = SB_SACCT_FIELDS;

export type SacctField = (typeof SACCT_FIELDS)[number];

// Terminal states, as sacct -s abbreviates them (REQUEUED runs count: see sb(7), SEMANTICS).
export const SACCT_STATES = 'CD,F,CA,TO,OOM,NF,PR,BF,DL,RQ';

// The ASCII unit separator: cannot occur in a job name, unlike the '|' of -p/-P.
export const SACCT_DELIMITER = '\x1f';

// Epoch seconds → the naive `YYYY-MM-DDTHH:MM:SS` sacct reads (it rejects a trailing Z); with
// TZ=UTC it means UTC.
export function sacctTime(sec: number): string {
  return formatTime(sec).slice(0, 19);
}

// The exact argument list for one window of one cluster, widened by the slack (seconds).
export function sacctArgs(cluster: string, start: number, end: number, slackBefore: number, slackAfter: number): string[] {
  return [
    '-a',
    '-n',
    '-p',
    `--delimiter=${SACCT_DELIMITER}`,
    '--duplicates',
    '--noconvert',
    '-s',
    SACCT_STATES,
    '-S',
    sacctTime(start - slackBefore),
    '-E',
    sacctTime(end + slackAfter),
    '-M',
    cluster,
    '-o',
    SACCT_FIELDS.join(','),
  ];
}

// The query for the steps of some of a window's jobs: the window's query (same fields, states
// and cluster) for those job ids only, from `from` to `to` (epoch seconds), so that a step that
// ended long before the window is shown (sacct filters steps by -S/-E too).
export function sacctStepArgs(cluster: string, ids: readonly number[], from: number, to: number): string[] {
  const args = sacctArgs(cluster, from, to, 0, 0);
  const o = args.indexOf('-o');
  args.splice(o, 0, '-j', ids.join(','));
  return args;
}

// At most this many job ids go in one -j list, and the list at most this many bytes: far below
// Linux's 128 KiB limit on one argument, and a modest query for slurmdbd.
export const STEP_QUERY_IDS = 1000;
export const STEP_QUERY_BYTES = 16 * 1024;

// The environment sacct runs in: the caller's, without anything that changes sacct's output
// (SACCT_*, SLURM_TIME*, e.g. SACCT_FORMAT, SLURM_TIME_FORMAT), and with TZ=UTC.
export function sacctEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) {
    if (k.startsWith('SACCT_') || k.startsWith('SLURM_TIME') || k === 'TZ') continue;
    out[k] = v;
  }
  out['TZ'] = 'UTC';
  return out;
}

// sacctmgr's question "does slurmdbd know this cluster?": prints the name, or nothing.
export function sacctmgrClusterArgs(cluster: string): string[] {
  return ['-n', '-P', 'show', 'cluster', cluster, 'format=Cluster'];
}

// What sacct's stderr says about a failure: temporary ones (slurmdbd down, frozen, busy) are
// worth retrying; permanent ones (a bad option, field or time, no configuration) would fail
// again the same way.
const PERMANENT = [
  // no slurm.conf, and no configless DNS record either
  /Could not establish a configuration source/i,
  // SLURM_CONF names a file that is not there or cannot be read
  /Unable to process configuration file/i,
  /invalid field/i,
  /unrecognized option/i,
  /invalid option/i,
  /unknown option/i,
  /invalid time/i,
  /not a valid/i,
  /invalid (state|cluster)/i,
  /usage: sacct/i,
  /Try "?sacct --help/i,
];
const TEMPORARY = [
  /connection refused/i,
  /problem talking to the database/i,
  /socket timed out/i,
  /unable to (contact|connect)/i,
  /persist(ent)? conn/i,
  /zero bytes were transmitted/i,
  /resource temporarily unavailable/i,
  /connection (reset|timed out)/i,
  /slurmdbd.*(down|not responding)/i,
  /insane message length/i,
];

// True when stderr names a failure that would recur on retry.
export function isPermanentError(stderr: string): boolean {
  if (TEMPORARY.some((re) => re.test(stderr))) return false;
  return PERMANENT.some((re) => re.test(stderr));
}

// True when stderr names a database problem even though sacct exited 0.
export function isDatabaseError(stderr: string): boolean {
  return TEMPORARY.some((re) => re.test(stderr));
}

// The last non-blank line of a stderr text, trimmed, at most 300 characters.
export function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const last = lines[lines.length - 1] ?? '';
  return last.length > 300 ? last.slice(0, 297) + '...' : last;
}

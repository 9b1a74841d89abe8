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
// worth retrying; permanent ones (a bad option, field or time) would fail again the same way.
const PERMANENT = [
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

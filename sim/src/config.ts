// The stand-in's knobs, read once from the environment (see docs/sim.md).

export interface SimConfig {
  seed: string;
  clusters: string[];
  localCluster: string;
  users: number;
  rate: number;
  maxJobId: number;
  drift: number;
  requeue: number;
  legacyReqMem: number;
  late: number;
  now: number;
  placeholder: boolean;
  fail: string;
  frozenSeconds: number;
  failEvery: number;
  failFirst: number;
  failAs: string;
  stateDir: string;
  garble: number;
  truncate: boolean;
  log: string;
  delay: number;
}

export class ConfigError extends Error {}

function num(env: NodeJS.ProcessEnv, key: string, def: number, min: number): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return def;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < min) {
    throw new ConfigError(`${key} '${raw}' is not a number >= ${min}`);
  }
  return v;
}

// SB_SIM_NOW: epoch seconds, or an ISO-8601 time with a zone (2024-02-01T00:00:00Z).
function parseNow(raw: string | undefined): number {
  if (raw === undefined || raw === '') return Math.floor(Date.now() / 1000);
  if (/^\d+$/.test(raw)) return Number(raw);
  const ms = Date.parse(raw);
  if (!Number.isFinite(ms)) throw new ConfigError(`SB_SIM_NOW '${raw}' is neither epoch seconds nor an ISO time`);
  return Math.floor(ms / 1000);
}

export function readConfig(env: NodeJS.ProcessEnv): SimConfig {
  const clusters = (env['SB_SIM_CLUSTERS'] || 'demo,hammer,anvil')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const fail = env['SB_SIM_FAIL'] ?? '';
  if (!['', 'refused', 'hang', 'frozen', 'truncate'].includes(fail)) {
    throw new ConfigError(`SB_SIM_FAIL '${fail}' is not one of refused, hang, frozen, truncate`);
  }
  const failAs = env['SB_SIM_FAIL_AS'] || 'refused';
  if (!['refused', 'hang', 'frozen', 'truncate'].includes(failAs)) {
    throw new ConfigError(`SB_SIM_FAIL_AS '${failAs}' is not one of refused, hang, frozen, truncate`);
  }
  return {
    seed: env['SB_SIM_SEED'] ?? '1',
    clusters,
    localCluster: env['SB_SIM_CLUSTER'] || 'demo',
    users: Math.floor(num(env, 'SB_SIM_USERS', 200, 1)),
    rate: num(env, 'SB_SIM_RATE', 60, 0),
    maxJobId: Math.floor(num(env, 'SB_SIM_MAX_JOB_ID', 67043328, 100)),
    drift: Math.floor(num(env, 'SB_SIM_DRIFT', 600, 0)),
    requeue: Math.min(0.5, num(env, 'SB_SIM_REQUEUE', 0.01, 0)),
    legacyReqMem: Math.min(1, num(env, 'SB_SIM_REQMEM_LEGACY', 0, 0)),
    late: Math.floor(num(env, 'SB_SIM_LATE', 0, 0)),
    now: parseNow(env['SB_SIM_NOW']),
    placeholder: env['SB_SIM_PLACEHOLDER'] === '1',
    fail,
    frozenSeconds: num(env, 'SB_SIM_FROZEN_SECONDS', 45, 0),
    failEvery: Math.floor(num(env, 'SB_SIM_FAIL_EVERY', 0, 0)),
    failFirst: Math.floor(num(env, 'SB_SIM_FAIL_FIRST', 0, 0)),
    failAs,
    stateDir: env['SB_SIM_STATE'] ?? '',
    garble: Math.floor(num(env, 'SB_SIM_GARBLE', 0, 0)),
    truncate: env['SB_SIM_TRUNCATE'] === '1',
    log: env['SB_SIM_LOG'] ?? '',
    delay: num(env, 'SB_SIM_DELAY', 0, 0),
  };
}

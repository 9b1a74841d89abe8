// sb-rendezvous's work, loaded only once the command line asks for more than --help or
// --version: the barrier, the members' state and their transports.
import { appendFileSync, mkdirSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
import path from 'node:path';
import { type Args, type Context, optInt, optList, optNumber, optString } from '../../core/cli/run.js';
import { BadInput, EXIT, SbError, UsageError } from '../../core/cli/errors.js';
import { forEachRecord, type Rec } from '../../core/cli/input.js';
import type { Reporter } from '../../core/cli/report.js';
import { chunkFromRecord, chunkId, type Chunk } from '../../core/records/chunk.js';
import { localClusterName, notClusterName } from '../../core/records/cluster.js';
import { formatTime, parseTime } from '../../core/records/time.js';
import { acquireLock, type Lock } from '../../core/store/lock.js';
import { storeRoot } from '../../core/store/store.js';
import { blockers, describeBlockers, isActive, waitsOn, type Blocker, type GroupView } from './barrier.js';
import { describeDone, isGroupName, isMemberName, newState, stateToJson, Tracker, type Announced, type MemberState, type TrackEvent, type Window } from './member.js';
import { BEAT_MS, Unreachable, type Transport } from './transport.js';

const COMMANDS = ['gate', 'ack', 'status', 'leave', 'join', 'serve'] as const;
type Command = (typeof COMMANDS)[number];

// The 'rendezvous' record a gate sends ahead of each window, for its ack.
export function announcement(member: string, c: Chunk, need: number): Record<string, unknown> {
  return { kind: 'rendezvous', member, start: formatTime(c.start), end: formatTime(c.end), need: formatTime(need) };
}

export function announcedFrom(rec: Rec): Announced {
  const c = chunkFromRecord({ ...rec, cluster: 'x' });
  const need = typeof rec['need'] === 'string' ? parseTime(rec['need']) : undefined;
  if (need === undefined) throw new BadInput("'need' is missing or not a UTC time");
  return { start: c.start, end: c.end, need };
}

// A commit record's window (its `chunk`, "start/end"), or undefined for a commit of jobs alone.
export function committedWindow(rec: Rec): Window | undefined {
  const id = rec['chunk'];
  if (id === undefined) return undefined;
  const [s, e, extra] = typeof id === 'string' ? id.split('/') : [];
  const start = s === undefined ? undefined : parseTime(s);
  const end = e === undefined ? undefined : parseTime(e);
  if (start === undefined || end === undefined || extra !== undefined || start > end) throw new BadInput(`'chunk' ${JSON.stringify(id)} is not a window like 2024-01-01T00:00:00Z/2024-01-01T00:59:59Z`);
  return { start, end };
}

// The watermark a window needs of every member: the second before the start of the window
// `ahead` windows before it in this member's stream (the window itself with --ahead 0).
export class Needs {
  private starts: number[] = [];

  constructor(private readonly ahead: number) {}

  next(start: number): number {
    this.starts.push(start);
    if (this.starts.length > this.ahead + 1) this.starts.shift();
    return (this.starts[0] as number) - 1;
  }
}

interface Where {
  transport: (role: 'gate' | 'ack' | 'admin') => Promise<Transport>;
  // The store's lock directory of a member (leave, join and ack hold it), if the store is used.
  lockPath?: (member: string) => string;
  group: string;
  label: string;
}

function name(args: Args, env: NodeJS.ProcessEnv): string {
  const given = optString(args, 'name');
  if (given !== undefined && !isMemberName(given)) throw new UsageError(`option '--name': '${given}' ${notClusterName(given)}`);
  return given ?? localClusterName(env);
}

function seconds(args: Args, opt: string, fallback: number): number {
  return Math.round(optNumber(args, opt, fallback) * 1000);
}

async function where(ctx: Context, command: Command, member: string | undefined): Promise<Where> {
  const { args, io, report } = ctx;
  const host = optString(args, 'rendezvous-host');
  const members = optList(args, 'members');
  for (const m of members ?? []) if (!isMemberName(m)) throw new UsageError(`option '--members': '${m}' ${notClusterName(m)}`);
  if (host !== undefined) {
    for (const o of ['root', 'group', 'members', 'poll']) {
      if (args[o] !== undefined) throw new UsageError(`option '--${o}' belongs to the store; the server knows the group (give --rendezvous-host or --root, not both)`);
    }
    const port = optInt(args, 'rendezvous-port', 50000, 1, 65535);
    const { loadKey } = await import('./key.js');
    const key = loadKey({ file: optString(args, 'authkey-file'), inline: optString(args, 'authkey'), env: io.env, create: false }, report);
    const { TcpTransport } = await import('./client.js');
    return {
      transport: async (role) => new TcpTransport({ host, port, key, member: member ?? 'status', role }),
      group: `${host}:${port}`,
      label: `the server ${host}:${port}`,
    };
  }
  for (const o of ['rendezvous-port', 'authkey-file', 'authkey']) {
    if (args[o] !== undefined) throw new UsageError(`option '--${o}' needs --rendezvous-host (without it, members meet in the store)`);
  }
  const root = storeRoot(optString(args, 'root'), io.env);
  if (root === undefined) throw new UsageError('no meeting place: give --root DIR (or set SB_ROOT) for the shared store, or --rendezvous-host HOST');
  const group = optString(args, 'group') ?? 'default';
  if (!isGroupName(group)) throw new UsageError(`option '--group': '${group}' is not a group name (letters, digits, '.', '_', '-')`);
  const needsMembers = command === 'gate' || command === 'status';
  if (needsMembers && members === undefined) throw new UsageError(`sb-rendezvous ${command} needs the group's members: give --members A,B,C`);
  const all = [...new Set([...(members ?? []), ...(member !== undefined && command === 'gate' ? [member] : [])])];
  const maxMs = seconds(args, 'poll', 2);
  if (maxMs < 1) throw new UsageError(`option '--poll': '${optString(args, 'poll')}' is not above 0`);
  const { StoreTransport, groupDir } = await import('./store-transport.js');
  const dir = groupDir(root, group);
  return {
    transport: async () => new StoreTransport(dir, all, Math.min(50, maxMs), maxMs),
    lockPath: (m) => path.join(dir, `${m}.lock`),
    group,
    label: `group '${group}' in ${dir}`,
  };
}

// Appends NDJSON lines (the failure ledger, the log), one write each.
function appender(file: string | undefined): ((rec: Record<string, unknown>) => void) | undefined {
  if (file === undefined) return undefined;
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    appendFileSync(file, '');
  } catch (err) {
    throw new SbError(`cannot open '${file}' for appending: ${(err as Error).message}`);
  }
  return (rec) => appendFileSync(file, JSON.stringify(rec) + '\n');
}

function logger(file: string | undefined, member: string): (event: string, fields: Record<string, unknown>) => void {
  const add = appender(file);
  return (event, fields) => {
    const ms = Date.now();
    add?.({ time: new Date(ms).toISOString(), ms, member, event, ...fields });
  };
}

const winId = (w: Window): string => `${formatTime(w.start)}/${formatTime(w.end)}`;

export async function main(ctx: Context): Promise<number | void> {
  const { args } = ctx;
  const [command, ...rest] = args._;
  if (command === undefined) throw new UsageError(`missing command: ${COMMANDS.join(', ')}`);
  if (!(COMMANDS as readonly string[]).includes(command)) throw new UsageError(`unknown command '${command}' (expected ${COMMANDS.join(', ')})`);
  const cmd = command as Command;
  const reads = cmd === 'gate' || cmd === 'ack';
  if (rest.length > (reads ? 1 : 0)) throw new UsageError(`unexpected argument '${rest[reads ? 1 : 0]}'`);
  const only = (opts: string[], cmds: string): void => {
    for (const o of opts) if (args[o] !== undefined) throw new UsageError(`option '--${o}' belongs to ${cmds}`);
  };
  if (cmd !== 'gate') only(['ahead', 'failed'], 'sb-rendezvous gate');
  if (cmd !== 'gate' && cmd !== 'ack') only(['log'], 'sb-rendezvous gate and ack');
  if (cmd !== 'serve') only(['nprocs', 'port', 'bind', 'state', 'handshake-timeout'], 'sb-rendezvous serve');
  if (cmd === 'serve') return serveMain(ctx);
  const member = cmd === 'status' ? undefined : name(args, ctx.io.env);
  const w = await where(ctx, cmd, member);
  const timeoutMs = seconds(args, 'timeout', 900);
  if (cmd === 'gate') return gate(ctx, w, member as string, timeoutMs, rest[0]);
  if (cmd === 'ack') return ack(ctx, w, member as string, timeoutMs, rest[0]);
  if (cmd === 'status') return status(ctx, w, timeoutMs);
  return leaveOrJoin(ctx, w, member as string, cmd === 'leave', timeoutMs);
}

// Runs fn until it stops failing with Unreachable, pausing as the transport allows, until ms.
async function reach<T>(t: Transport, ms: number, what: string, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof Unreachable)) throw err;
      const left = deadline - Date.now();
      if (left <= 0) throw new SbError(`${what}: ${err.message} (gave up after ${Math.round(ms / 1000)} s, --timeout)`, EXIT.tempFail);
      await t.changed(Math.min(left, 1000));
    }
  }
}

type Passage = { ok: true; view: GroupView } | { ok: false; why: string; missing: string[] };

// Waits until no active member is behind `need`; fails at once behind a failed window, and
// after timeoutMs behind anything else. Nothing is kept between windows: a member that comes
// back is waited for again at the next window, by the next run.
async function passage(t: Transport, member: string, need: number, timeoutMs: number, onWait: (b: Blocker[]) => void): Promise<Passage> {
  const deadline = Date.now() + timeoutMs;
  let last: Blocker[] | undefined;
  let problem: string | undefined;
  for (;;) {
    try {
      const view = await t.view();
      problem = undefined;
      const me = view.members.find((m) => m.name === member);
      if (me !== undefined && !isActive(me)) {
        throw new SbError(`${member} left the group at ${formatTime(me.state?.left as number)}; 'sb-rendezvous join --name ${member}' takes it back in`);
      }
      const b = blockers(view, need);
      if (b.length === 0) return { ok: true, view };
      const failed = b.filter((x) => x.failed);
      if (failed.length > 0) return { ok: false, why: `cannot pass: ${describeBlockers(failed)}`, missing: failed.map((x) => x.member) };
      if (last === undefined) onWait(b);
      last = b;
    } catch (err) {
      if (!(err instanceof Unreachable)) throw err;
      problem = err.message;
    }
    const left = deadline - Date.now();
    if (left <= 0) break;
    await t.changed(left);
  }
  const secs = `${Math.round(timeoutMs / 1000)} s (--timeout)`;
  if (last === undefined) return { ok: false, why: `could not reach the others for ${secs}: ${problem ?? 'no answer'}`, missing: [] };
  return { ok: false, why: `waited ${secs} for ${describeBlockers(last)}${problem ? `; then: ${problem}` : ''}`, missing: last.map((b) => b.member) };
}

async function gate(ctx: Context, w: Where, member: string, timeoutMs: number, file: string | undefined): Promise<number> {
  const { args, out, report } = ctx;
  const needs = new Needs(optInt(args, 'ahead', 0, 0, 1000));
  const ledger = appender(optString(args, 'failed'));
  const log = logger(optString(args, 'log'), member);
  const verbose = args['verbose'] === true;
  const t = await w.transport('gate');
  let broken: string | undefined;
  const fail = (c: Chunk, why: string, missing: string[]): void => {
    ledger?.({
      kind: 'failed',
      cluster: c.cluster,
      start: formatTime(c.start),
      end: formatTime(c.end),
      attempts: 0,
      reason: 'rendezvous',
      permanent: false,
      error: why,
      missing,
      time: formatTime(Math.floor(Date.now() / 1000)),
    });
  };
  try {
    await forEachRecord(await ctx.input(file), out, report, {
      chunk: async (rec) => {
        const c = chunkFromRecord(rec);
        const id = chunkId(c);
        if (broken !== undefined) {
          fail(c, `not let in: the barrier failed at ${broken}, before it`, []);
          return;
        }
        const need = needs.next(c.start);
        out.record(announcement(member, c, need));
        await out.flush();
        const p = await passage(t, member, need, timeoutMs, (b) => {
          log('wait', { window: id, need: formatTime(need), blockers: b.map((x) => x.member) });
          if (verbose) report.info(`${member}: ${id} waits for ${describeBlockers(b)}`);
        });
        if (p.ok) {
          log('pass', { window: id, need: formatTime(need), done: Object.fromEntries(p.view.members.map((m) => [m.name, m.state?.done == null ? null : formatTime(m.state.done)])) });
          if (verbose) report.info(`${member}: ${id} passes`);
          out.line(JSON.stringify(rec));
          await out.flush();
          return;
        }
        broken = id;
        log('fail', { window: id, need: formatTime(need), missing: p.missing, why: p.why });
        report.error(`${member}: window ${id} failed at the barrier: ${p.why}${ledger ? ` (it and the windows after it are in ${optString(args, 'failed')})` : ''}`);
        fail(c, p.why, p.missing);
      },
    });
  } finally {
    await t.close();
  }
  return broken === undefined ? EXIT.ok : EXIT.tempFail;
}

async function memberLock(w: Where, member: string, tool: string, report: Reporter): Promise<Lock | undefined> {
  if (w.lockPath === undefined) return undefined;
  return acquireLock(w.lockPath(member), {
    tool,
    what: `member ${member} of ${w.label} (its ack runs)`,
    waitMs: 5000,
    staleMs: 60_000,
    onBreak: (_o, why) => report.warn(`${member}: took over from an ack that is gone (${why})`),
  });
}

async function ack(ctx: Context, w: Where, member: string, timeoutMs: number, file: string | undefined): Promise<number> {
  const { args, out, report } = ctx;
  const log = logger(optString(args, 'log'), member);
  const lock = await memberLock(w, member, 'sb-rendezvous ack', report);
  const t = await w.transport('ack');
  let beat: NodeJS.Timeout | undefined;
  try {
    const now = Math.floor(Date.now() / 1000);
    const prev = await reach(t, timeoutMs, `cannot reach ${w.label}`, () => t.own(member));
    const state: MemberState = { ...newState(member, hostname(), process.pid, now), done: prev?.done ?? null, left: prev?.left ?? null };
    const tracker = new Tracker(state);
    // Publications go out one at a time, in order; each waits out a server restart.
    let chain: Promise<void> = Promise.resolve();
    const publish = (): Promise<void> => {
      chain = chain.then(() => {
        state.beat = Math.floor(Date.now() / 1000);
        return reach(t, timeoutMs, `cannot tell ${w.label} what ${member} did`, () => t.publish(state));
      });
      return chain;
    };
    const note = (events: TrackEvent[]): void => {
      for (const e of events) {
        log(e.event, { window: winId(e.window), done: state.done === null ? null : formatTime(state.done) });
        if (e.event === 'failed') report.warn(`${member}: window ${winId(e.window)} went by without a commit; the others wait for it until a later run fetches it`);
      }
    };
    await publish();
    // the store has no connection to show that the ack runs: a heartbeat does
    if (w.lockPath !== undefined) {
      beat = setInterval(() => void publish().catch(() => undefined), BEAT_MS);
      beat.unref();
    }
    await forEachRecord(await ctx.input(file), out, report, {
      rendezvous: async (rec) => {
        if (rec['member'] !== member) {
          out.record(rec);
          return;
        }
        note(tracker.announce(announcedFrom(rec)));
        await publish();
      },
      commit: async (rec) => {
        const win = committedWindow(rec);
        if (win !== undefined) {
          note(tracker.commit(win));
          await publish();
        }
        out.record(rec);
      },
    });
    if (beat !== undefined) clearInterval(beat);
    state.ended = Math.floor(Date.now() / 1000);
    await publish();
    if (args['verbose'] === true) report.info(`${member}: ${describeDone(state.done)}`);
    return EXIT.ok;
  } finally {
    if (beat !== undefined) clearInterval(beat);
    await t.close();
    lock?.release();
  }
}

// One member for status: how far it is and whom it waits for.
export function statusRecord(group: string, view: GroupView, name: string): Record<string, unknown> {
  const m = view.members.find((x) => x.name === name);
  const s = m?.state;
  const waits = m === undefined ? [] : waitsOn(view, m);
  return {
    kind: 'rendezvous-member',
    group,
    member: name,
    active: m === undefined || isActive(m),
    running: m?.live ?? false,
    ...(s === undefined ? { state: null } : stateToJson(s)),
    ...(m?.problem !== undefined ? { problem: m.problem } : {}),
    waits_for: waits.map((b) => b.member),
    why: waits.map((b) => `${b.member}: ${b.why}`),
  };
}

function statusLine(view: GroupView, name: string): string {
  const m = view.members.find((x) => x.name === name);
  const s = m?.state;
  if (m === undefined || s === undefined) return `${name}: ${m?.problem ?? 'no state yet (never ran)'}`;
  if (!isActive(m)) return `${name}: left at ${formatTime(s.left as number)} (not waited for); ${describeDone(s.done)}`;
  const parts = [describeDone(s.done)];
  if (s.failed !== null) parts.push(`window ${winId(s.failed)} failed`);
  const waits = waitsOn(view, m);
  if (s.next !== null) parts.push(waits.length > 0 ? `${winId(s.next)} waits for ${describeBlockers(waits)}` : `working on ${winId(s.next)}`);
  parts.push(m.live ? 'running' : `not running (last heard of ${formatTime(s.beat)})`);
  return `${name}: ${parts.join('; ')}`;
}

async function status(ctx: Context, w: Where, timeoutMs: number): Promise<number> {
  const t = await w.transport('admin');
  try {
    const view = await reach(t, timeoutMs, `cannot reach ${w.label}`, () => t.view());
    for (const m of view.members) {
      ctx.out.record(statusRecord(w.group, view, m.name));
      ctx.report.info(statusLine(view, m.name));
    }
    if (view.unmet > 0) ctx.report.info(`${view.unmet} member(s) have not connected yet (serve --nprocs)`);
  } finally {
    await t.close();
  }
  return EXIT.ok;
}

async function leaveOrJoin(ctx: Context, w: Where, member: string, leave: boolean, timeoutMs: number): Promise<number> {
  const lock = await memberLock(w, member, `sb-rendezvous ${leave ? 'leave' : 'join'}`, ctx.report);
  const t = await w.transport('admin');
  try {
    const s = await reach(t, timeoutMs, `cannot reach ${w.label}`, () => t.setLeft(member, leave, Math.floor(Date.now() / 1000)));
    ctx.report.info(leave ? `${member} left ${w.label}: the others no longer wait for it (${describeDone(s.done)})` : `${member} is in ${w.label} again: the others wait for it (${describeDone(s.done)})`);
  } finally {
    await t.close();
    lock?.release();
  }
  return EXIT.ok;
}

// The default state file of a server: $XDG_STATE_HOME/sb/rendezvous-PORT.json.
export function defaultStateFile(env: NodeJS.ProcessEnv, port: number): string {
  const base = env['XDG_STATE_HOME'] || path.join(env['HOME'] || homedir(), '.local', 'state');
  return path.join(base, 'sb', `rendezvous-${port}.json`);
}

async function serveMain(ctx: Context): Promise<number> {
  const { args, io, report } = ctx;
  if (args._.length > 1) throw new UsageError(`unexpected argument '${args._[1]}'`);
  for (const o of ['rendezvous-host', 'rendezvous-port', 'root', 'group', 'name', 'ahead', 'failed', 'log', 'poll']) {
    if (args[o] !== undefined) throw new UsageError(`option '--${o}' is not one of sb-rendezvous serve's`);
  }
  const members = optList(args, 'members');
  const nprocs = optString(args, 'nprocs') === undefined ? undefined : optInt(args, 'nprocs', 0, 1, 10_000);
  if ((members === undefined) === (nprocs === undefined)) throw new UsageError('sb-rendezvous serve needs --members A,B,C or --nprocs N (one of them)');
  for (const m of members ?? []) if (!isMemberName(m)) throw new UsageError(`option '--members': '${m}' ${notClusterName(m)}`);
  const port = optInt(args, 'port', 50000, 0, 65535);
  const { loadKey } = await import('./key.js');
  const key = loadKey({ file: optString(args, 'authkey-file'), inline: optString(args, 'authkey'), env: io.env, create: true }, report);
  const { serve } = await import('./server.js');
  return serve({
    key,
    members,
    nprocs,
    bind: optString(args, 'bind'),
    port,
    stateFile: optString(args, 'state') ?? defaultStateFile(io.env, port),
    handshakeMs: seconds(args, 'handshake-timeout', 10),
    idleMs: 6 * BEAT_MS,
    maxConnections: 256,
    report,
  });
}

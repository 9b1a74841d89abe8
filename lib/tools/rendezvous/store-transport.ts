import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { readIfExists, writeFilesAtomic } from '../../core/store/atomic.js';
import type { GroupView, MemberView } from './barrier.js';
import { BadState, newState, stateFromJson, stateToJson, type MemberState } from './member.js';
import { jitter, LIVE_MS, Unreachable, type Transport } from './transport.js';

// On this host a process can be asked whether it lives; elsewhere only the heartbeat tells.
function processMayLive(host: string, pid: number): boolean {
  if (host !== hostname() || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function groupDir(root: string, group: string): string {
  return path.join(root, 'rendezvous', group);
}

// The shared store as the meeting place: each member's ack replaces its own file,
// <root>/rendezvous/<group>/<member>.json, atomically (temporary file, fsync, rename); the
// others re-read those fixed names, pausing between looks from `minMs` up to `maxMs`, with
// jitter. Only fixed names are read: on NFS a new name can stay unseen by other clients for a
// minute, while a file re-opened by its name is revalidated (close-to-open consistency).
export class StoreTransport implements Transport {
  private delay: number;
  private last = '';

  constructor(
    readonly dir: string,
    private readonly members: readonly string[],
    private readonly minMs = 50,
    private readonly maxMs = 2000,
  ) {
    this.delay = minMs;
  }

  file(member: string): string {
    return path.join(this.dir, `${member}.json`);
  }

  private read(member: string): MemberView {
    let bytes: Buffer | undefined;
    try {
      bytes = readIfExists(this.file(member));
    } catch (err) {
      throw new Unreachable(`cannot read '${this.file(member)}': ${(err as Error).message}`);
    }
    if (bytes === undefined) return { name: member, state: undefined, live: false };
    try {
      const state = stateFromJson(JSON.parse(bytes.toString('utf8')));
      if (state.member !== member) throw new BadState(`it names member '${state.member}'`);
      const live = state.ended === null && Math.abs(Date.now() - state.beat * 1000) < LIVE_MS && processMayLive(state.host, state.pid);
      return { name: member, state, live };
    } catch (err) {
      // a damaged file counts as no member: waited for, never trusted
      const why = err instanceof SyntaxError ? 'not JSON' : (err as Error).message;
      return { name: member, state: undefined, live: false, problem: `its file '${this.file(member)}' is unreadable (${why})` };
    }
  }

  async view(): Promise<GroupView> {
    const members = this.members.map((m) => this.read(m));
    // what changed decides the next pause: heartbeats alone are no news
    const key = JSON.stringify(members.map((m) => [m.name, m.state?.done, m.state?.next, m.state?.failed, m.state?.left, m.problem]));
    if (key !== this.last) this.delay = this.minMs;
    this.last = key;
    return { members, unmet: 0 };
  }

  async changed(ms: number): Promise<void> {
    const wait = Math.min(ms, jitter(this.delay));
    this.delay = Math.min(this.maxMs, Math.ceil(this.delay * 1.5));
    await sleep(wait);
  }

  async own(member: string): Promise<MemberState | undefined> {
    return this.read(member).state;
  }

  async publish(state: MemberState): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    await writeFilesAtomic([{ path: this.file(state.member), text: JSON.stringify(stateToJson(state)) + '\n' }]);
  }

  async setLeft(member: string, left: boolean, now: number): Promise<MemberState> {
    const s = (await this.own(member)) ?? { ...newState(member, '', 0, now), ended: now };
    s.left = left ? now : null;
    await this.publish(s);
    return s;
  }

  async close(): Promise<void> {}
}

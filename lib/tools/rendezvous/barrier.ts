import { formatTime } from '../../core/records/time.js';
import { describeDone, type MemberState, type Window } from './member.js';

// One member as a transport sees it.
export interface MemberView {
  name: string;
  // undefined: it has never said anything (no file yet, never connected)
  state: MemberState | undefined;
  // Its ack runs: a fresh heartbeat (the store) or a live connection (TCP).
  live: boolean;
  // Why its state could not be read (a damaged file); it counts as absent.
  problem?: string;
}

export interface GroupView {
  members: MemberView[];
  // Members a TCP server still expects (serve --nprocs) and has not met yet.
  unmet: number;
}

export interface Blocker {
  member: string;
  why: string;
  // It cannot get there in this run (a window of its went by without a commit): fail now.
  failed: boolean;
}

const win = (w: Window): string => `${formatTime(w.start)}/${formatTime(w.end)}`;

// Members that have left the group are not waited for.
export function isActive(m: MemberView): boolean {
  return m.state?.left == null;
}

// Who holds a window back: every active member whose done watermark is before `need` (this
// member included: its own earlier windows must be committed too). Pure, the gate's whole rule.
export function blockers(view: GroupView, need: number): Blocker[] {
  const out: Blocker[] = [];
  for (const m of view.members) {
    if (!isActive(m)) continue;
    const s = m.state;
    if (s === undefined) {
      out.push({ member: m.name, why: m.problem ?? 'has not joined yet (no state)', failed: false });
      continue;
    }
    if (s.done !== null && s.done >= need) continue;
    const alive = m.live ? '' : '; its ack is not running';
    if (s.failed !== null) {
      out.push({ member: m.name, why: `window ${win(s.failed)} failed there (${describeDone(s.done)})${alive}`, failed: true });
      continue;
    }
    const at = s.next === null ? '' : `, at ${win(s.next)}`;
    out.push({ member: m.name, why: `${describeDone(s.done)}${at}${alive}`, failed: false });
  }
  if (view.unmet > 0) out.push({ member: '?', why: `${view.unmet} member(s) of serve --nprocs have not connected yet`, failed: false });
  return out;
}

// "anvil (done through ...), hammer (...)": blockers for a message.
export function describeBlockers(list: readonly Blocker[]): string {
  return list.map((b) => `${b.member} (${b.why})`).join(', ');
}

// What a member waits for, for status: the blockers of the window it announced last.
export function waitsOn(view: GroupView, m: MemberView): Blocker[] {
  const next = m.state?.next;
  if (next == null || !isActive(m)) return [];
  return blockers(view, next.need).filter((b) => b.member !== m.name || b.failed);
}

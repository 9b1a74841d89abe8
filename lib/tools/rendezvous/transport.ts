import type { GroupView } from './barrier.js';
import type { MemberState } from './member.js';

// What gate, ack, status, leave and join need of a transport; the store and TCP give the same.
export interface Transport {
  // How the group stands now.
  view(): Promise<GroupView>;
  // Resolves when the group may have changed, at the latest after ms.
  changed(ms: number): Promise<void>;
  // This member's state as the others see it, if it has one.
  own(member: string): Promise<MemberState | undefined>;
  // Replaces this member's state (the ack's, and leave/join's, only write).
  publish(state: MemberState): Promise<void>;
  // leave (true) or join (false): the left flag, kept apart from what the ack publishes.
  setLeft(member: string, left: boolean, now: number): Promise<MemberState>;
  close(): Promise<void>;
}

// A temporary failure to reach the others (server down, store unreadable): retried until the
// barrier's --timeout, then exit 75.
export class Unreachable extends Error {
  override name = 'Unreachable';
}

// How long a member's heartbeat may be old and its ack still count as running.
export const LIVE_MS = 20_000;
// How often an ack says it is alive.
export const BEAT_MS = 5_000;

// A pause of about ms, ±25 %, so that members polling the same files do not move in step.
export function jitter(ms: number): number {
  return Math.max(1, Math.round(ms * (0.75 + Math.random() * 0.5)));
}

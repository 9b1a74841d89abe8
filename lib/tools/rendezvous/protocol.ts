import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { GroupView, MemberView } from './barrier.js';
import { isMemberName, stateFromJson, stateToJson } from './member.js';

// The TCP protocol (sb-rendezvous(1), PROTOCOL): lines of UTF-8 JSON, each at most MAX_FRAME
// bytes. A handshake in which each side proves it holds the key without sending it (HMAC-SHA256
// over both sides' fresh nonces), then messages `<mac> <json>`, each MACed with a key of this
// session and numbered, so none can be forged, altered, replayed or reflected. Nothing received
// is ever run: JSON.parse, after the MAC is checked, then every field is validated.

export const VERSION = 'sb-rendezvous/1';
export const MAX_FRAME = 64 * 1024;
export const ROLES = ['gate', 'ack', 'admin'] as const;
export type Role = (typeof ROLES)[number];

// Anything a peer sends that breaks the protocol: the connection is closed.
export class ProtocolError extends Error {
  override name = 'ProtocolError';
}

// Splits a byte stream into lines of at most MAX_FRAME bytes; a longer one is a ProtocolError
// as soon as it is longer (memory stays bounded whatever a peer sends).
export class Frames {
  private parts: Buffer[] = [];
  private size = 0;

  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let from = 0;
    for (;;) {
      const nl = chunk.indexOf(10, from);
      if (nl < 0) break;
      if (this.size + nl - from > MAX_FRAME) throw new ProtocolError(`a line longer than ${MAX_FRAME} bytes`);
      this.parts.push(chunk.subarray(from, nl));
      lines.push(decode(Buffer.concat(this.parts)));
      this.parts = [];
      this.size = 0;
      from = nl + 1;
    }
    const rest = chunk.length - from;
    if (this.size + rest > MAX_FRAME) throw new ProtocolError(`a line longer than ${MAX_FRAME} bytes`);
    if (rest > 0) {
      this.parts.push(Buffer.from(chunk.subarray(from)));
      this.size += rest;
    }
    return lines;
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

function decode(b: Buffer): string {
  try {
    return UTF8.decode(b);
  } catch {
    throw new ProtocolError('a line that is not UTF-8');
  }
}

const HEX64 = /^[0-9a-f]{64}$/;

export function newNonce(): string {
  return randomBytes(32).toString('hex');
}

function hmac(key: Buffer, text: string): Buffer {
  return createHmac('sha256', key).update(text).digest();
}

// Constant-time comparison of a received hex MAC with the expected one.
export function macMatches(received: unknown, expected: Buffer): boolean {
  if (typeof received !== 'string' || !HEX64.test(received)) return false;
  return timingSafeEqual(Buffer.from(received, 'hex'), expected);
}

// What each side proves in the handshake: the key, bound to both nonces and to who asks for what.
export function proof(key: Buffer, side: 'client' | 'server', serverNonce: string, clientNonce: string, member: string, role: Role): Buffer {
  return hmac(key, `${VERSION} ${side} ${serverNonce} ${clientNonce} ${member} ${role}`);
}

export function sessionKey(key: Buffer, serverNonce: string, clientNonce: string): Buffer {
  return hmac(key, `${VERSION} session ${serverNonce} ${clientNonce}`);
}

// A JSON object from a handshake line, or a ProtocolError.
export function parseObject(line: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new ProtocolError('a line that is not JSON');
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ProtocolError('a line that is not a JSON object');
  return v as Record<string, unknown>;
}

export interface ServerHello {
  nonce: string;
}

export function serverHello(nonce: string): string {
  return JSON.stringify({ sb: 'rendezvous', v: 1, nonce });
}

export function readServerHello(line: string): ServerHello {
  const o = parseObject(line);
  if (o['sb'] !== 'rendezvous' || o['v'] !== 1 || typeof o['nonce'] !== 'string' || !HEX64.test(o['nonce'])) {
    throw new ProtocolError('the server does not speak sb-rendezvous protocol 1');
  }
  return { nonce: o['nonce'] };
}

export interface ClientHello {
  member: string;
  role: Role;
  nonce: string;
  mac: unknown;
}

export function clientHello(key: Buffer, serverNonce: string, member: string, role: Role): { line: string; nonce: string } {
  const nonce = newNonce();
  const mac = proof(key, 'client', serverNonce, nonce, member, role).toString('hex');
  return { line: JSON.stringify({ v: 1, member, role, nonce, mac }), nonce };
}

export function readClientHello(line: string): ClientHello {
  const o = parseObject(line);
  const { member, role, nonce } = o;
  if (o['v'] !== 1) throw new ProtocolError('not protocol 1');
  if (typeof member !== 'string' || !isMemberName(member)) throw new ProtocolError('no member name');
  if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role)) throw new ProtocolError('no role');
  if (typeof nonce !== 'string' || !HEX64.test(nonce)) throw new ProtocolError('no nonce');
  return { member, role: role as Role, nonce, mac: o['mac'] };
}

// The MACed, numbered messages of one authenticated connection, seen from one side.
export class Session {
  private sent = 0;
  private received = 0;

  constructor(
    private readonly key: Buffer,
    private readonly side: 'c' | 's',
  ) {}

  seal(msg: Record<string, unknown>): string {
    const json = JSON.stringify({ seq: ++this.sent, ...msg });
    return `${hmac(this.key, `${this.side} ${json}`).toString('hex')} ${json}`;
  }

  // A received line → its message; a bad MAC, a number out of order or a malformed body is a
  // ProtocolError.
  open(line: string): Record<string, unknown> {
    const space = line.indexOf(' ');
    const mac = line.slice(0, space);
    const json = line.slice(space + 1);
    const from = this.side === 'c' ? 's' : 'c';
    if (space !== 64 || !macMatches(mac, hmac(this.key, `${from} ${json}`))) throw new ProtocolError('a message with a bad MAC');
    const msg = parseObject(json);
    if (msg['seq'] !== this.received + 1) throw new ProtocolError(`a message out of sequence (number ${String(msg['seq'])}, expected ${this.received + 1}): replayed or lost`);
    this.received++;
    if (typeof msg['op'] !== 'string') throw new ProtocolError("a message without 'op'");
    return msg;
  }
}

export function viewToJson(v: GroupView): Record<string, unknown> {
  return {
    members: v.members.map((m) => ({ name: m.name, state: m.state === undefined ? null : stateToJson(m.state), live: m.live })),
    unmet: v.unmet,
  };
}

// A view as the server sends it, validated.
export function viewFromJson(v: unknown): GroupView {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ProtocolError('a view that is not an object');
  const o = v as Record<string, unknown>;
  const list = o['members'];
  const unmet = o['unmet'];
  if (!Array.isArray(list) || list.length > 10_000) throw new ProtocolError('a view without members');
  if (typeof unmet !== 'number' || !Number.isSafeInteger(unmet) || unmet < 0) throw new ProtocolError("a view without 'unmet'");
  const members: MemberView[] = list.map((m: unknown) => {
    if (m === null || typeof m !== 'object') throw new ProtocolError('a member that is not an object');
    const r = m as Record<string, unknown>;
    if (typeof r['name'] !== 'string' || !isMemberName(r['name'])) throw new ProtocolError('a member without a name');
    let state;
    try {
      state = r['state'] === null ? undefined : stateFromJson(r['state']);
    } catch (err) {
      throw new ProtocolError(`member ${r['name']}: ${(err as Error).message}`);
    }
    return { name: r['name'], state, live: r['live'] === true };
  });
  return { members, unmet };
}

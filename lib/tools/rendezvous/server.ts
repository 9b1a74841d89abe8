import { mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { readIfExists, writeFilesAtomic } from '../../core/store/atomic.js';
import { SbError } from '../../core/cli/errors.js';
import type { Reporter } from '../../core/cli/report.js';
import type { GroupView } from './barrier.js';
import { stateFromJson, stateToJson, newState, type MemberState } from './member.js';
import {
  Frames,
  MAX_FRAME,
  ProtocolError,
  Session,
  macMatches,
  newNonce,
  proof,
  readClientHello,
  serverHello,
  sessionKey,
  viewToJson,
  type Role,
} from './protocol.js';

export interface ServeOptions {
  key: Buffer;
  // The group's members by name, or how many to admit, first come (the seed's --nprocs).
  members: readonly string[] | undefined;
  nprocs: number | undefined;
  bind: string | undefined;
  port: number;
  stateFile: string;
  handshakeMs: number;
  idleMs: number;
  maxConnections: number;
  report: Reporter;
}

interface Conn {
  sock: net.Socket;
  peer: string;
  member?: string;
  role?: Role;
  session?: Session;
  watching: boolean;
  lastHeard: number;
  closed: boolean;
  // Lines read and not yet handled.
  queued: number;
}

// The most a slow reader may have queued before it is dropped (views are pushed to gates).
const MAX_QUEUED = 1024 * 1024;
// The most lines of one connection waiting to be handled: a peer waits for each answer.
const MAX_LINES = 16;

// The group's state as the server keeps it; what the state file holds.
export interface Journal {
  members: Map<string, MemberState>;
  // Names admitted, in order (serve --nprocs admits the first N).
  names: string[];
}

export function readJournal(file: string): Journal {
  const bytes = readIfExists(file);
  const j: Journal = { members: new Map(), names: [] };
  if (bytes === undefined) return j;
  try {
    const o = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
    if (o === null || typeof o !== 'object' || o['schema_version'] !== 1 || !Array.isArray(o['names']) || !Array.isArray(o['members'])) throw new Error('not a state file of sb-rendezvous serve');
    for (const n of o['names'] as unknown[]) {
      if (typeof n !== 'string') throw new Error('a name that is not a string');
      j.names.push(n);
    }
    for (const m of o['members'] as unknown[]) {
      const s = stateFromJson(m);
      j.members.set(s.member, s);
    }
  } catch (err) {
    throw new SbError(`the state file '${file}' is damaged (${(err as Error).message}); move it away to start with no progress recorded`);
  }
  return j;
}

function formatJournal(j: Journal): string {
  return JSON.stringify({ schema_version: 1, names: j.names, members: [...j.members.values()].map(stateToJson) }) + '\n';
}

// Runs the TCP meeting place until SIGINT or SIGTERM. Every change is in the state file before
// it is acknowledged, so a restart loses nothing a member was told is recorded.
export async function serve(opts: ServeOptions): Promise<number> {
  const { report } = opts;
  const journal = readJournal(opts.stateFile);
  mkdirSync(path.dirname(opts.stateFile), { recursive: true });
  const conns = new Set<Conn>();
  let writing: Promise<void> = Promise.resolve();

  // Writes the state file (atomically); calls are queued, each writes the latest state.
  const save = (): Promise<void> => {
    writing = writing.then(() => writeFilesAtomic([{ path: opts.stateFile, text: formatJournal(journal) }]));
    return writing;
  };

  const names = (): string[] => (opts.members ? [...opts.members] : journal.names);
  const ackOf = (member: string): Conn | undefined => [...conns].find((c) => c.member === member && c.role === 'ack' && c.session !== undefined && !c.closed);
  const view = (): GroupView => ({
    members: names().map((name) => ({ name, state: journal.members.get(name), live: ackOf(name) !== undefined })),
    unmet: opts.nprocs === undefined ? 0 : Math.max(0, opts.nprocs - journal.names.length),
  });

  const send = (c: Conn, msg: Record<string, unknown>): void => {
    if (c.session === undefined || c.closed) return;
    if (c.sock.writableLength > MAX_QUEUED) {
      drop(c, 'it does not read what it is sent');
      return;
    }
    c.sock.write(c.session.seal(msg) + '\n');
  };
  const push = (): void => {
    const v = viewToJson(view());
    for (const c of conns) if (c.watching) send(c, { op: 'view', view: v });
  };
  const drop = (c: Conn, why: string, tell?: string): void => {
    if (c.closed) return;
    c.closed = true;
    report.warn(`${c.peer}${c.member ? ` (${c.member} ${c.role})` : ''}: ${why}; closed`);
    if (tell !== undefined) c.sock.end(JSON.stringify({ error: tell }) + '\n');
    else c.sock.destroy();
    setTimeout(() => c.sock.destroy(), 1000).unref();
  };

  // Admits a member by name: a listed one, or under --nprocs one of the first N.
  const admit = async (member: string): Promise<string | undefined> => {
    if (opts.members) return opts.members.includes(member) ? undefined : `'${member}' is not a member (serve --members ${opts.members.join(',')})`;
    if (journal.names.includes(member)) return undefined;
    if (journal.names.length >= (opts.nprocs as number)) return `'${member}' is not a member: the group is full (${journal.names.join(', ')})`;
    journal.names.push(member);
    await save();
    return undefined;
  };

  const handshake = async (c: Conn, nonce: string, line: string): Promise<void> => {
    const hello = readClientHello(line);
    if (!macMatches(hello.mac, proof(opts.key, 'client', nonce, hello.nonce, hello.member, hello.role))) {
      drop(c, 'authentication failed (a wrong key, or a replayed handshake)', 'authentication failed');
      return;
    }
    // status asks as an admin under any name; leave and join are checked when they ask
    const refused = hello.role === 'admin' ? undefined : await admit(hello.member);
    if (refused !== undefined) {
      drop(c, refused, refused);
      return;
    }
    if (hello.role === 'ack') {
      const old = ackOf(hello.member);
      if (old !== undefined && Date.now() - old.lastHeard < opts.idleMs) {
        drop(c, `${hello.member}'s ack is connected already from ${old.peer}`, `${hello.member}'s ack is connected already from ${old.peer}`);
        return;
      }
      if (old !== undefined) drop(old, 'replaced by a new connection of the same ack');
    }
    c.member = hello.member;
    c.role = hello.role;
    c.sock.write(JSON.stringify({ ok: true, mac: proof(opts.key, 'server', nonce, hello.nonce, hello.member, hello.role).toString('hex') }) + '\n');
    c.session = new Session(sessionKey(opts.key, nonce, hello.nonce), 's');
    c.sock.setTimeout(opts.idleMs);
    if (hello.role === 'ack') push();
  };

  const message = async (c: Conn, line: string): Promise<void> => {
    const msg = (c.session as Session).open(line);
    const re = msg['seq'];
    const member = c.member as string;
    switch (msg['op']) {
      case 'ping': {
        const s = journal.members.get(member);
        if (s !== undefined && c.role === 'ack') s.beat = Math.floor(Date.now() / 1000);
        send(c, { op: 'pong', re });
        return;
      }
      case 'view':
        send(c, { op: 'view', re, view: viewToJson(view()) });
        return;
      case 'watch':
        c.watching = true;
        send(c, { op: 'view', re, view: viewToJson(view()) });
        return;
      case 'publish': {
        if (c.role !== 'ack') throw new ProtocolError('publish from a connection that is not an ack');
        let s: MemberState;
        try {
          s = stateFromJson(msg['state']);
        } catch (err) {
          throw new ProtocolError(`a state that does not validate: ${(err as Error).message}`);
        }
        if (s.member !== member) throw new ProtocolError(`${member}'s ack published the state of '${s.member}'`);
        s.left = journal.members.get(member)?.left ?? null;
        journal.members.set(member, s);
        await save();
        send(c, { op: 'ok', re });
        push();
        return;
      }
      case 'left': {
        if (typeof msg['left'] !== 'boolean') throw new ProtocolError("'left' is not true or false");
        const refused = await admit(member);
        if (refused !== undefined) {
          send(c, { op: 'error', re, message: refused });
          return;
        }
        const now = Math.floor(Date.now() / 1000);
        const s = journal.members.get(member) ?? { ...newState(member, '', 0, now), ended: now };
        s.left = msg['left'] ? now : null;
        journal.members.set(member, s);
        await save();
        send(c, { op: 'ok', re, state: stateToJson(s) });
        push();
        return;
      }
      default:
        throw new ProtocolError(`unknown op ${JSON.stringify(msg['op'])}`);
    }
  };

  const server = net.createServer((sock) => {
    const c: Conn = { sock, peer: `${sock.remoteAddress ?? '?'}:${sock.remotePort ?? '?'}`, watching: false, lastHeard: Date.now(), closed: false, queued: 0 };
    conns.add(c);
    const nonce = newNonce();
    const frames = new Frames();
    // One line at a time, in order; what a line starts finishes before the next is read.
    let queue: Promise<void> = Promise.resolve();
    const timer = setTimeout(() => drop(c, `no handshake within ${opts.handshakeMs / 1000} s`), opts.handshakeMs);
    timer.unref();
    sock.setNoDelay(true);
    sock.on('timeout', () => drop(c, `silent for ${opts.idleMs / 1000} s`));
    sock.on('error', () => undefined);
    sock.on('close', () => {
      clearTimeout(timer);
      conns.delete(c);
      if (c.role === 'ack' && c.session !== undefined) push();
    });
    sock.on('data', (data: Buffer) => {
      let lines: string[];
      try {
        lines = frames.push(data);
      } catch (err) {
        drop(c, (err as Error).message, (err as Error).message);
        return;
      }
      c.queued += lines.length;
      if (c.queued > MAX_LINES) {
        drop(c, `sent ${c.queued} lines without waiting for answers`, 'too many lines at once');
        return;
      }
      for (const line of lines) {
        queue = queue.then(async () => {
          c.queued--;
          if (c.closed) return;
          c.lastHeard = Date.now();
          if (c.session === undefined) {
            clearTimeout(timer);
            await handshake(c, nonce, line);
          } else await message(c, line);
        }).catch((err: unknown) => {
          if (err instanceof ProtocolError) drop(c, err.message, err.message);
          else {
            report.error(`${c.peer}: ${(err as Error).message}`);
            c.sock.destroy();
          }
        });
      }
    });
    sock.write(serverHello(nonce) + '\n');
  });
  server.maxConnections = opts.maxConnections;

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(new SbError(`cannot listen on ${opts.bind ?? '*'}:${opts.port}: ${err.code === 'EADDRINUSE' ? 'the port is in use' : err.message}`)));
    server.listen({ port: opts.port, ...(opts.bind !== undefined ? { host: opts.bind } : {}) }, resolve);
  });
  const addr = server.address() as net.AddressInfo;
  const who = opts.members ? `members ${opts.members.join(', ')}` : `the first ${opts.nprocs} members to connect`;
  report.info(`listening on ${addr.address}:${addr.port} for ${who}; state in ${opts.stateFile}; frames up to ${MAX_FRAME} bytes`);

  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      for (const s of signals) process.off(s, stop);
      server.close(() => resolve());
      for (const c of conns) c.sock.destroy();
    };
    for (const s of signals) process.on(s, stop);
  });
  await writing;
  report.info('stopped');
  return 0;
}

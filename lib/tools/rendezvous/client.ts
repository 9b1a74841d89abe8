import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { SbError } from '../../core/cli/errors.js';
import type { GroupView } from './barrier.js';
import { stateFromJson, stateToJson, type MemberState } from './member.js';
import {
  Frames,
  ProtocolError,
  Session,
  clientHello,
  macMatches,
  parseObject,
  proof,
  readServerHello,
  sessionKey,
  viewFromJson,
  type Role,
} from './protocol.js';
import { BEAT_MS, jitter, Unreachable, type Transport } from './transport.js';

export interface ClientOptions {
  host: string;
  port: number;
  key: Buffer;
  member: string;
  role: Role;
  // How long one connection attempt, or one answer, may take.
  answerMs?: number;
}

interface Link {
  sock: net.Socket;
  session: Session;
  pending: Map<number, { resolve: (m: Record<string, unknown>) => void; reject: (e: Error) => void }>;
  sent: number;
}

// The TCP meeting place (sb-rendezvous serve) from a member's side: one authenticated connection,
// made again with backoff and jitter whenever it is lost (a server restart), never more often
// than the backoff allows. A gate watches: the server pushes the group's view on every change.
export class TcpTransport implements Transport {
  private link: Link | undefined;
  private connecting: Promise<Link> | undefined;
  private latest: GroupView | undefined;
  private wakers: Array<() => void> = [];
  private backoff = 0;
  private retryAt = 0;
  private pinger: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly o: ClientOptions) {}

  private get where(): string {
    return `${this.o.host}:${this.o.port}`;
  }

  private wake(): void {
    const w = this.wakers;
    this.wakers = [];
    for (const f of w) f();
  }

  private async connected(): Promise<Link> {
    if (this.link !== undefined) return this.link;
    if (this.closed) throw new Unreachable('closed');
    this.connecting ??= (async () => {
      const wait = this.retryAt - Date.now();
      if (wait > 0) await sleep(wait);
      try {
        const link = await this.connect();
        this.backoff = 0;
        this.link = link;
        return link;
      } catch (err) {
        this.backoff = Math.min(5000, this.backoff === 0 ? 100 : this.backoff * 2);
        this.retryAt = Date.now() + jitter(this.backoff);
        throw err;
      } finally {
        this.connecting = undefined;
      }
    })();
    return this.connecting;
  }

  // One connection and its handshake: the server proves it holds the key too.
  private connect(): Promise<Link> {
    const answerMs = this.o.answerMs ?? 10_000;
    return new Promise<Link>((resolve, reject) => {
      const sock = net.connect({ host: this.o.host, port: this.o.port });
      sock.setNoDelay(true);
      const frames = new Frames();
      let step: 'hello' | 'proof' | 'session' = 'hello';
      let serverNonce = '';
      let clientNonce = '';
      let link: Link | undefined;
      const fail = (err: Error): void => {
        sock.destroy();
        reject(err);
      };
      const timer = setTimeout(() => fail(new Unreachable(`${this.where}: no answer within ${answerMs / 1000} s`)), answerMs);
      sock.on('error', (err: NodeJS.ErrnoException) => fail(new Unreachable(`${this.where}: ${err.code === 'ECONNREFUSED' ? 'connection refused (is sb-rendezvous serve running?)' : err.message}`)));
      sock.on('close', () => {
        clearTimeout(timer);
        if (link === undefined) {
          reject(new Unreachable(`${this.where}: the server closed the connection`));
          return;
        }
        if (this.link === link) {
          this.link = undefined;
          this.latest = undefined;
        }
        for (const p of link.pending.values()) p.reject(new Unreachable(`${this.where}: the connection was lost`));
        link.pending.clear();
        this.wake();
      });
      sock.on('data', (data: Buffer) => {
        try {
          for (const line of frames.push(data)) {
            if (step === 'session') {
              this.message((link as Link).session.open(line), link as Link);
              continue;
            }
            const o = parseObject(line);
            if (typeof o['error'] === 'string') {
              const why = o['error'];
              throw why === 'authentication failed'
                ? new SbError(`${this.where} refused this member's key (authentication failed): give the key 'serve' uses (--authkey-file or SB_RENDEZVOUS_KEY)`)
                : new SbError(`${this.where} refused ${this.o.member}: ${why}`);
            }
            if (step === 'hello') {
              serverNonce = readServerHello(line).nonce;
              const hello = clientHello(this.o.key, serverNonce, this.o.member, this.o.role);
              clientNonce = hello.nonce;
              sock.write(hello.line + '\n');
              step = 'proof';
            } else {
              if (o['ok'] !== true || !macMatches(o['mac'], proof(this.o.key, 'server', serverNonce, clientNonce, this.o.member, this.o.role))) {
                throw new SbError(`${this.where} did not prove it holds the key: not the sb-rendezvous server of this group`);
              }
              clearTimeout(timer);
              step = 'session';
              link = { sock, session: new Session(sessionKey(this.o.key, serverNonce, clientNonce), 'c'), pending: new Map(), sent: 0 };
              resolve(link);
              if (this.o.role === 'gate') this.send(link, { op: 'watch' }).catch(() => undefined);
            }
          }
        } catch (err) {
          if (err instanceof SbError) fail(err);
          else if (link !== undefined) sock.destroy();
          else fail(new Unreachable(`${this.where}: ${(err as Error).message}`));
        }
      });
    }).then((link) => {
      this.pinger ??= setInterval(() => {
        if (this.link !== undefined) this.send(this.link, { op: 'ping' }).catch(() => undefined);
      }, BEAT_MS);
      this.pinger.unref();
      return link;
    });
  }

  private message(msg: Record<string, unknown>, link: Link): void {
    if (msg['op'] === 'error') {
      const p = typeof msg['re'] === 'number' ? link.pending.get(msg['re']) : undefined;
      if (p === undefined) throw new ProtocolError(String(msg['message']));
      link.pending.delete(msg['re'] as number);
      p.reject(new SbError(`${this.where}: ${String(msg['message'])}`));
      return;
    }
    if (msg['op'] === 'view') {
      this.latest = viewFromJson(msg['view']);
      this.wake();
    }
    const re = msg['re'];
    if (typeof re === 'number') {
      const p = link.pending.get(re);
      link.pending.delete(re);
      p?.resolve(msg);
    }
  }

  private send(link: Link, msg: Record<string, unknown>): Promise<Record<string, unknown>> {
    const seq = ++link.sent;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        link.pending.delete(seq);
        link.sock.destroy();
        reject(new Unreachable(`${this.where}: no answer within ${(this.o.answerMs ?? 10_000) / 1000} s`));
      }, this.o.answerMs ?? 10_000);
      timer.unref();
      link.pending.set(seq, {
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      link.sock.write(link.session.seal(msg) + '\n');
    });
  }

  private async request(msg: Record<string, unknown>): Promise<Record<string, unknown>> {
    return this.send(await this.connected(), msg);
  }

  // A gate keeps the view the server pushes; anyone else asks.
  async view(): Promise<GroupView> {
    if (this.o.role === 'gate' && this.link !== undefined && this.latest !== undefined) return this.latest;
    const r = await this.request({ op: 'view' });
    return viewFromJson(r['view']);
  }

  async changed(ms: number): Promise<void> {
    if (this.link === undefined) {
      // not connected: the next view() connects, after the backoff
      await sleep(Math.min(ms, Math.max(10, this.retryAt - Date.now())));
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wakers.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  async own(member: string): Promise<MemberState | undefined> {
    return (await this.view()).members.find((m) => m.name === member)?.state;
  }

  async publish(state: MemberState): Promise<void> {
    await this.request({ op: 'publish', state: stateToJson(state) });
  }

  async setLeft(_member: string, left: boolean): Promise<MemberState> {
    const r = await this.request({ op: 'left', left });
    return stateFromJson(r['state']);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.pinger !== undefined) clearInterval(this.pinger);
    this.link?.sock.end();
    this.link = undefined;
  }
}

// sb-rendezvous serve under attack, while two good members run their pipelines through it: a
// wrong key, no key, a replayed handshake, replayed, altered and reflected messages, garbage,
// an oversized line, a silent client, a flood of lines, a forged publication, 200 connections
// at once. Each is refused or timed out, and the members finish in lockstep.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { clientHello, readServerHello, Session, sessionKey, type Role } from '../lib/tools/rendezvous/protocol.js';
import { stateToJson, newState } from '../lib/tools/rendezvous/member.js';
import { lockstepViolations, startPipeline, startServer, truthDifferences, type Server } from './helpers/rendezvous.js';
import { runBin } from './helpers/run.js';

const KEY = 'the-good-key-of-this-group-0123456789';
const root = mkdtempSync(path.join(tmpdir(), 'sb-rendezvous-sec-'));
const keyFile = path.join(root, 'key');
writeFileSync(keyFile, KEY + '\n', { mode: 0o600 });
const MEMBERS = ['demo', 'hammer'];
let server: Server;
t.teardown(() => {
  server?.child.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

// A raw connection: what a hostile or broken client can do with the socket.
class Raw {
  private lines: string[] = [];
  private buf = '';
  private waiter: (() => void) | undefined;
  closed = false;
  readonly gone: Promise<void>;

  constructor(readonly sock: net.Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      this.buf += d;
      const parts = this.buf.split('\n');
      this.buf = parts.pop() ?? '';
      this.lines.push(...parts);
      this.waiter?.();
    });
    sock.on('error', () => undefined);
    this.gone = new Promise((resolve) =>
      sock.on('close', () => {
        this.closed = true;
        this.waiter?.();
        resolve();
      }),
    );
  }

  static open(port: number): Promise<Raw> {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host: '127.0.0.1', port }, () => resolve(new Raw(sock)));
      sock.once('error', reject);
    });
  }

  // The next line, or undefined once the server has closed the connection.
  async next(): Promise<string | undefined> {
    while (this.lines.length === 0 && !this.closed) await new Promise<void>((r) => (this.waiter = r));
    return this.lines.shift();
  }

  write(text: string | Buffer): void {
    this.sock.write(text);
  }
}

// A connection through a good handshake: its session, and the client's hello line as sent.
async function authenticated(key: string, member: string, role: Role): Promise<{ raw: Raw; session: Session; hello: string }> {
  const raw = await Raw.open(server.port);
  const sh = readServerHello((await raw.next()) as string);
  const hello = clientHello(Buffer.from(key), sh.nonce, member, role);
  raw.write(hello.line + '\n');
  const answer = JSON.parse((await raw.next()) as string) as Record<string, unknown>;
  if (answer['ok'] !== true) throw new Error(`refused: ${JSON.stringify(answer)}`);
  return { raw, session: new Session(sessionKey(Buffer.from(key), sh.nonce, hello.nonce), 'c'), hello: hello.line };
}

// Reads until the server closes; returns the error it gave, if any.
async function refusal(raw: Raw): Promise<string | undefined> {
  let error: string | undefined;
  for (let line = await raw.next(); line !== undefined; line = await raw.next()) {
    try {
      const o = JSON.parse(line) as Record<string, unknown>;
      if (typeof o['error'] === 'string') error = o['error'];
    } catch {
      // a MACed line
    }
  }
  await raw.gone;
  return error;
}

const meet = (): string[] => ['--rendezvous-host', '127.0.0.1', '--rendezvous-port', String(server.port), '--authkey-file', keyFile];

t.before(async () => {
  server = await startServer(['--members', MEMBERS.join(','), '--authkey-file', keyFile, '--state', path.join(root, 'state.json'), '--handshake-timeout', '2']);
});

t.test('attacks while two members run', async (t) => {
  const good = MEMBERS.map((m) => startPipeline(root, { member: m, delay: m === 'demo' ? '2' : '0.5', meet: meet(), gate: ['--timeout', '120'] }));

  await t.test('a wrong key', async (t) => {
    const raw = await Raw.open(server.port);
    const sh = readServerHello((await raw.next()) as string);
    raw.write(clientHello(Buffer.from('not-the-key-of-this-group-at-all'), sh.nonce, 'demo', 'admin').line + '\n');
    t.equal(await refusal(raw), 'authentication failed');
    const bin = await runBin('sb-rendezvous', ['status', '--rendezvous-host', '127.0.0.1', '--rendezvous-port', String(server.port)], { env: { SB_RENDEZVOUS_KEY: 'not-the-key-of-this-group-at-all' } });
    t.equal(bin.status, 1, 'the bin with a wrong key: exit 1');
    t.match(bin.stderr, /refused this member's key \(authentication failed\)/);
  });

  await t.test('no key', async (t) => {
    const raw = await Raw.open(server.port);
    readServerHello((await raw.next()) as string);
    raw.write(JSON.stringify({ v: 1, member: 'demo', role: 'ack', nonce: randomBytes(32).toString('hex') }) + '\n');
    t.equal(await refusal(raw), 'authentication failed', 'a hello without a MAC');
    const bin = await runBin('sb-rendezvous', ['status', '--rendezvous-host', '127.0.0.1', '--rendezvous-port', String(server.port)], { env: { SB_RENDEZVOUS_KEY: '' } });
    t.equal(bin.status, 2, 'the bin without a key: a usage error');
  });

  await t.test('a replayed handshake', async (t) => {
    const first = await authenticated(KEY, 'demo', 'admin');
    const raw = await Raw.open(server.port);
    await raw.next();
    raw.write(first.hello + '\n');
    t.equal(await refusal(raw), 'authentication failed', "another connection's hello is bound to its nonce");
    first.raw.sock.destroy();
  });

  await t.test('a replayed message, an altered one, a reflected one', async (t) => {
    const a = await authenticated(KEY, 'demo', 'admin');
    const line = a.session.seal({ op: 'view' });
    a.raw.write(line + '\n');
    const answer = (await a.raw.next()) as string;
    t.match(answer, /^[0-9a-f]{64} \{"seq":1,"op":"view","re":1,"view":/, 'the first is answered');
    a.raw.write(line + '\n');
    t.match(await refusal(a.raw), /out of sequence.*replayed/, 'the same message again is refused');

    const b = await authenticated(KEY, 'demo', 'admin');
    b.raw.write(b.session.seal({ op: 'view' }).replace('"view"', '"leftt"') + '\n');
    t.match(await refusal(b.raw), /bad MAC/, 'an altered message');

    const c = await authenticated(KEY, 'demo', 'admin');
    c.raw.write(c.session.seal({ op: 'ping' }) + '\n');
    const pong = (await c.raw.next()) as string;
    c.raw.write(pong + '\n');
    t.match(await refusal(c.raw), /bad MAC/, "the server's own message sent back");
  });

  await t.test('garbage, an oversized line, a flood of lines', async (t) => {
    const g = await Raw.open(server.port);
    await g.next();
    g.write(Buffer.concat([randomBytes(300).map((b) => (b === 10 ? 0 : b)), Buffer.from('\n')]));
    t.match(await refusal(g), /not UTF-8|not JSON/, 'garbage');
    const big = await Raw.open(server.port);
    await big.next();
    big.write('{"v":1,"member":"' + 'a'.repeat(100 * 1024));
    t.match(await refusal(big), /longer than 65536 bytes/, 'a line over 64 KiB, refused before it ends');
    const flood = await Raw.open(server.port);
    await flood.next();
    flood.write('{}\n'.repeat(1000));
    t.ok((await refusal(flood)) !== undefined, 'a thousand lines at once');
  });

  await t.test('a client that connects and sends nothing is timed out', async (t) => {
    const raw = await Raw.open(server.port);
    t.match(await raw.next(), /^\{"sb":"rendezvous","v":1,"nonce":"[0-9a-f]{64}"\}$/, 'it is greeted');
    await raw.gone;
    t.ok(raw.closed, 'then closed by the server (--handshake-timeout)');
  });

  await t.test('forged publications', async (t) => {
    const g = await authenticated(KEY, 'demo', 'gate');
    const fake = stateToJson({ ...newState('demo', 'evil', 1, Math.floor(Date.now() / 1000)), done: Math.floor(Date.now() / 1000) });
    g.raw.write(g.session.seal({ op: 'publish', state: fake }) + '\n');
    t.match(await refusal(g.raw), /publish from a connection that is not an ack/, "a gate cannot publish a member's progress");
    const stranger = await Raw.open(server.port);
    const sh = readServerHello((await stranger.next()) as string);
    stranger.write(clientHello(Buffer.from(KEY), sh.nonce, 'anvil', 'ack').line + '\n');
    t.match(await refusal(stranger), /'anvil' is not a member/, 'a key holder cannot join as a member the group does not have');
    const code = await authenticated(KEY, 'demo', 'admin');
    code.raw.write(code.session.seal({ op: 'publish', state: { member: 'demo', done: { toString: 'process.exit()' } } }) + '\n');
    t.match(await refusal(code.raw), /not an ack/, 'nothing received is run, only validated');
  });

  await t.test('200 connections at once', async (t) => {
    const many = await Promise.all(Array.from({ length: 200 }, () => Raw.open(server.port).catch(() => undefined)));
    const opened = many.filter((r): r is Raw => r !== undefined);
    t.ok(opened.length > 0, `${opened.length} opened`);
    const st = await runBin('sb-rendezvous', ['status', ...meet()]);
    t.equal(st.status, 0, `a good client is answered meanwhile: ${st.stderr}`);
    await Promise.all(opened.map((r) => r.gone));
    t.ok(opened.every((r) => r.closed), 'every one of them closed by the server');
  });

  // sacct answers demo after 2 s a window: six windows outlast the attacks
  t.ok(good.some((p) => p.child.exitCode === null), 'the members were still running when the attacks ended');
  for (const p of good) {
    const r = await p.done;
    t.equal(r.status, 0, `${p.member} kept going and finished: ${r.stderr}`);
  }
  t.same(lockstepViolations(root, MEMBERS), [], 'in lockstep');
  for (const m of MEMBERS) t.same(await truthDifferences(root, m), [], `${m}: totals equal the truth`);
  t.equal(server.child.exitCode, null, 'the server still runs');
  t.notMatch(server.stderr(), /sb-rendezvous: (?!warning)[^\n]*error/i, 'and logged no error of its own');
  t.match(server.stderr(), /warning: 127\.0\.0\.1:\d+: authentication failed \(a wrong key, or a replayed handshake\); closed/, 'refusals are logged with the peer');
});

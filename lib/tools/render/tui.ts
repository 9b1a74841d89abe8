import { writeSync } from 'node:fs';
import type { ReadStream, WriteStream } from 'node:tty';
import { parseKeys, settle, update } from './keys.js';
import { render, shownRows, type Scene, type View } from './screen.js';

// The alternate screen, no cursor, no line wrap (a line that came out too wide for the
// terminal is cut, never wrapped onto the next); and back.
const ENTER = '\x1b[?1049h\x1b[?25l\x1b[?7l\x1b[2J';
const LEAVE = '\x1b[0m\x1b[?7h\x1b[?25h\x1b[?1049l';
// Synchronized output: terminals that know it show the frame at once, the others ignore it.
const BEGIN = '\x1b[?2026h';
const END = '\x1b[?2026l';

export interface TuiOptions {
  scene: Scene;
  view: View;
  keys: ReadStream;
  screen: WriteStream;
  // SB_RENDER_CRASH=1, a test hook: the first key throws inside the loop.
  crash: boolean;
  // SB_RENDER_TRACE=FILE, for the benchmark: the first frame's time since the process
  // started, and each key's (from its arrival to its frame written), in milliseconds.
  trace?: (what: string, ms: number) => void;
}

const SIGNALS: Array<[NodeJS.Signals, number]> = [
  ['SIGINT', 130],
  ['SIGTERM', 143],
  ['SIGHUP', 129],
];

// Runs the screen until q, Ctrl-C or a signal (resolves with the exit status) or a crash
// (rejects); either way the terminal is given back as it was: main screen, cursor, cooked mode.
export function runTui(o: TuiOptions): Promise<number> {
  const { scene, keys, screen } = o;
  let view = o.view;
  let shown: string[] = [];
  let active = true;
  const size = (): { cols: number; rows: number } => ({ cols: screen.columns || 80, rows: screen.rows || 24 });

  const restore = (): void => {
    if (!active) return;
    active = false;
    try {
      keys.setRawMode(false);
    } catch {
      // the terminal is gone (hung up): nothing to give back
    }
    keys.pause();
    try {
      writeSync((screen as unknown as { fd?: number }).fd ?? 1, LEAVE);
    } catch {
      // as above
    }
  };
  const onExit = (): void => restore();
  process.on('exit', onExit);

  return new Promise<number>((resolve, reject) => {
    const cleanup = (): void => {
      if (idle !== undefined) clearTimeout(idle);
      keys.off('data', onData);
      screen.off('resize', onResize);
      for (const [sig] of SIGNALS) process.off(sig, onSignal[sig] as () => void);
      process.off('exit', onExit);
      restore();
    };
    const finish = (status: number): void => {
      cleanup();
      resolve(status);
    };
    const fail = (err: unknown): void => {
      cleanup();
      reject(err);
    };

    // Only the lines that changed are sent, each placed by its row: a keypress redraws little.
    const draw = (): void => {
      const { cols, rows } = size();
      const lines = render(view, scene, cols, rows);
      let out = '';
      lines.forEach((line, i) => {
        if (shown[i] !== line) out += `\x1b[${i + 1};1H\x1b[0m${line}\x1b[0m`;
      });
      shown = lines;
      if (out !== '') screen.write(BEGIN + out + END);
    };

    // While no key comes, read the other boards of the window and cluster shown, one a turn
    // (~10 ms for 10,000 rows), so the user page and the next skill come at once.
    let idle: NodeJS.Timeout | undefined;
    let warmed = '';
    const prefetch = (): void => {
      idle = undefined;
      if (!active) return;
      const todo = scene.source.skills.find((s) => !scene.source.cached(view.window, s, view.cluster));
      if (todo === undefined) {
        // Then the selected user's page, drawn off screen: it reads their monthly history.
        if (view.page !== 'board') return;
        const user = shownRows(view, scene).rows[view.selected]?.user;
        const warm = `${user}\u0000${view.window}\u0000${view.cluster}`;
        if (user === undefined || warm === warmed) return;
        warmed = warm;
        const { cols, rows } = size();
        try {
          render({ ...view, page: 'user', user, userSkill: view.skill }, scene, cols, rows);
        } catch {
          // as below
        }
        return;
      }
      try {
        scene.source.board(view.window, todo, view.cluster);
      } catch {
        // shown, with its reason, when that board is asked for
        return;
      }
      idle = setTimeout(prefetch, 5);
    };
    const later = (): void => {
      if (idle !== undefined) clearTimeout(idle);
      idle = setTimeout(prefetch, 150);
    };

    let keysSeen = 0;
    const onData = (data: string): void => {
      const t0 = performance.now();
      try {
        for (const key of parseKeys(data)) {
          if (o.crash && keysSeen === 0) throw new Error('SB_RENDER_CRASH is set: a crash inside the screen loop (a test hook)');
          keysSeen++;
          const { cols, rows } = size();
          const next = update(view, key, { scene, cols, rows });
          if (next === 'quit') return finish(key === 'ctrl-c' ? 130 : 0);
          view = next;
        }
        draw();
        o.trace?.(`keys ${JSON.stringify(data)}`, performance.now() - t0);
        later();
      } catch (err) {
        fail(err);
      }
    };
    const onResize = (): void => {
      try {
        const { cols, rows } = size();
        view = settle(view, { scene, cols, rows });
        shown = [];
        screen.write('\x1b[2J');
        draw();
      } catch (err) {
        fail(err);
      }
    };
    const onSignal: Partial<Record<NodeJS.Signals, () => void>> = {};
    for (const [sig, status] of SIGNALS) {
      onSignal[sig] = () => finish(status);
      process.on(sig, onSignal[sig] as () => void);
    }

    try {
      screen.write(ENTER);
      keys.setRawMode(true);
      keys.setEncoding('utf8');
      keys.on('data', onData);
      keys.resume();
      screen.on('resize', onResize);
      const { cols, rows } = size();
      view = settle(view, { scene, cols, rows });
      draw();
      o.trace?.('first-frame', performance.now());
      later();
    } catch (err) {
      fail(err);
    }
  });
}

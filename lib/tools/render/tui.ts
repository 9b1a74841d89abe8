import { writeSync } from 'node:fs';
import type { ReadStream, WriteStream } from 'node:tty';
import { arrived, parseKeys, settle, update } from './keys.js';
import { chartMonths, render, shownRows, type Scene, type View } from './screen.js';

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

    // What the view draws that is not read yet: render() draws it as loading, and this reads
    // it in the background (fs/promises), drawing again when it comes if it is still wanted.
    // A key never waits for it; what comes for a page no longer shown only fills the cache.
    // `all`: what it draws, read or not.
    const reads = (v: View, all = false): Array<[string, () => Promise<void>]> => {
      const out: Array<[string, () => Promise<void>]> = [];
      const board = (s: View['skill']): void => {
        if (all || !scene.source.cached(v.window, s, v.cluster)) out.push([`b\u0000${v.group}\u0000${v.window}\u0000${s}\u0000${v.cluster}`, () => scene.source.load(v.window, s, v.cluster)]);
      };
      if (v.page === 'board') board(v.skill);
      if (v.page === 'user' && v.user !== undefined) {
        for (const s of scene.source.skills) board(s);
        const { history } = scene;
        const user = v.user;
        if (history !== undefined && v.group === '') {
          const months = chartMonths(history, 36);
          if (all || (!history.hasSeries(user, v.cluster, months) && history.problem(user, v.cluster) === undefined)) {
            out.push([`h\u0000${user}\u0000${v.cluster}`, () => history.load(user, v.cluster, months)]);
          }
        }
      }
      return out;
    };
    const inFlight = new Set<string>();
    const fetch = (): void => {
      for (const [what, read] of reads(view)) {
        if (inFlight.has(what)) continue;
        inFlight.add(what);
        void read().then(() => {
          inFlight.delete(what);
          if (!active || !reads(view, true).some(([w]) => w === what)) return;
          try {
            const { cols, rows } = size();
            view = arrived(view, { scene, cols, rows });
            draw();
            fetch();
          } catch (err) {
            fail(err);
          }
        });
      }
    };

    // While no key comes, read the other boards of the window and cluster shown, one at a
    // time, then the selected user's months, so the user page and the next skill come at once.
    let idle: NodeJS.Timeout | undefined;
    let quiet = 0;
    const prefetch = (): void => {
      idle = undefined;
      if (!active) return;
      const turn = quiet;
      const again = (): void => {
        if (active && turn === quiet) idle = setTimeout(prefetch, 5);
      };
      const todo = scene.source.skills.find((s) => !scene.source.cached(view.window, s, view.cluster));
      if (todo !== undefined) return void scene.source.load(view.window, todo, view.cluster).then(again);
      const { history } = scene;
      if (view.page !== 'board' || history === undefined || view.group !== '') return;
      const user = rowsShown(view)[view.selected]?.user;
      const months = chartMonths(history, 36);
      if (user === undefined || history.hasSeries(user, view.cluster, months) || history.problem(user, view.cluster) !== undefined) return;
      void history.load(user, view.cluster, months).then(again);
    };
    const rowsShown = (v: View): ReturnType<typeof shownRows>['rows'] => {
      try {
        return shownRows(v, scene).rows;
      } catch {
        return [];
      }
    };
    const later = (): void => {
      quiet++;
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
        fetch();
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
      scene.history?.lastMonth();
      view = settle(view, { scene, cols, rows });
      draw();
      o.trace?.('first-frame', performance.now());
      fetch();
      later();
    } catch (err) {
      fail(err);
    }
  });
}

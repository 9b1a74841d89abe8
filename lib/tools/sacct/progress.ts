import type { Writable } from 'node:stream';
import { formatDuration } from './duration.js';

// Whether to draw a progress line: stderr is a terminal and neither NO_COLOR nor SB_NO_PROGRESS
// is set. Never on a pipe or a file.
export function progressWanted(stderr: Writable, env: NodeJS.ProcessEnv): boolean {
  const tty = (stderr as Writable & { isTTY?: boolean }).isTTY === true;
  return tty && !env['NO_COLOR'] && !env['SB_NO_PROGRESS'];
}

export interface ProgressState {
  done: number;
  // Known once the input has ended.
  total: number | undefined;
  rows: number;
  failed: number;
}

// One line on stderr, redrawn in place with '\r' at most every 200 ms; cleared at the end.
export class ProgressLine {
  private last = 0;
  private shown = false;
  private readonly began = Date.now();

  constructor(
    private readonly stderr: Writable,
    private readonly tool: string,
    readonly enabled: boolean,
  ) {}

  update(s: ProgressState, force = false): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (!force && now - this.last < 200) return;
    this.last = now;
    const total = s.total === undefined ? '?' : String(s.total);
    let eta = '';
    if (s.total !== undefined && s.done > 0 && s.done < s.total) {
      const per = (now - this.began) / 1000 / s.done;
      eta = `, ETA ${formatDuration(per * (s.total - s.done))}`;
    }
    const text = `${this.tool}: ${s.done}/${total} windows, ${s.rows} rows, ${s.failed} failed${eta}`;
    this.stderr.write(`\r${text}\x1b[K`);
    this.shown = true;
  }

  // Removes the line so that later messages start on a clean line.
  clear(): void {
    if (this.shown) this.stderr.write('\r\x1b[K');
    this.shown = false;
  }
}

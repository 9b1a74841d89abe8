import type { Writable } from 'node:stream';
import { formatDuration } from '../../core/sacct/duration.js';

// Whether to draw a progress line: stderr is a terminal and neither NO_COLOR nor SB_NO_PROGRESS
// is set. Never on a pipe or a file.
export function progressWanted(stderr: Writable, env: NodeJS.ProcessEnv): boolean {
  const tty = (stderr as Writable & { isTTY?: boolean }).isTTY === true;
  return tty && !env['NO_COLOR'] && !env['SB_NO_PROGRESS'];
}

export interface ProgressState {
  done: number;
  // Known once the input has ended (it is read ahead: early for sb-chunk's windows).
  total: number | undefined;
  rows: number;
  jobs: number;
  failed: number;
}

const count = (n: number): string => n.toLocaleString('en-US');
const plural = (n: number, one: string, many: string): string => `${count(n)} ${n === 1 ? one : many}`;

// The progress line's text: `37/1,066 windows, 52,113 rows, 9,870 jobs, 0 failed, ETA 34 min`.
export function progressText(s: ProgressState, elapsedSec: number): string {
  const total = s.total === undefined ? '?' : count(s.total);
  let eta = '';
  if (s.total !== undefined && s.done > 0 && s.done < s.total) eta = `, ETA ${formatDuration((elapsedSec / s.done) * (s.total - s.done))}`;
  return `${count(s.done)}/${total} windows, ${plural(s.rows, 'row', 'rows')}, ${plural(s.jobs, 'job', 'jobs')}, ${count(s.failed)} failed${eta}`;
}

// What a run did, as one line: `1,066 windows, 2,345,678 rows, 123,456 jobs, none failed, in 36 min`.
export function summaryText(s: ProgressState, elapsedSec: number): string {
  const failed = s.failed === 0 ? 'none failed' : `${count(s.failed)} failed`;
  return `${plural(s.done, 'window', 'windows')}, ${plural(s.rows, 'row', 'rows')}, ${plural(s.jobs, 'job', 'jobs')}, ${failed}, in ${formatDuration(elapsedSec)}`;
}

// One line on stderr, redrawn in place with '\r' at most every 200 ms; cleared at the end,
// where a summary line stays (finish). Only on a terminal: disabled, it writes nothing.
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
    this.stderr.write(`\r${this.tool}: ${progressText(s, (now - this.began) / 1000)}\x1b[K`);
    this.shown = true;
  }

  // Removes the line so that later messages start on a clean line.
  clear(): void {
    if (this.shown) this.stderr.write('\r\x1b[K');
    this.shown = false;
  }

  // The line replaced by the run's summary, which stays on the terminal.
  finish(s: ProgressState): void {
    if (!this.enabled) return;
    this.clear();
    this.stderr.write(`${this.tool}: ${summaryText(s, (Date.now() - this.began) / 1000)}\n`);
  }
}

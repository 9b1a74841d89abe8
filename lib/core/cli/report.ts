import type { Writable } from 'node:stream';

// Where an input line came from: `stdin:17`, `chunks.csv:3`.
export interface Where {
  source: string;
  line: number;
}

export type ErrorFormat = 'text' | 'json';

// Diagnostics on stderr in GNU form (`sb-x: stdin:17: message`) or as NDJSON with --errors=json.
export class Reporter {
  bad = 0;
  warnings = 0;

  constructor(
    readonly tool: string,
    private readonly stderr: Writable,
    readonly format: ErrorFormat = 'text',
  ) {}

  error(message: string, where?: Where): void {
    this.emit('error', message, where);
  }

  warn(message: string, where?: Where): void {
    this.warnings++;
    this.emit('warning', message, where);
  }

  // A bad input line: counted (for --strict and summaries), reported, and the caller skips it.
  badLine(where: Where, message: string): void {
    this.bad++;
    this.emit('error', message, where);
  }

  // Plain information for the human (summaries under -v).
  info(message: string): void {
    this.emit('info', message);
  }

  private emit(level: string, raw: string, where?: Where): void {
    const message = bounded(raw);
    if (this.format === 'json') {
      const rec: Record<string, unknown> = { tool: this.tool, level };
      if (where) {
        rec['source'] = where.source;
        rec['line'] = where.line;
      }
      rec['message'] = message;
      // JSON escapes C0 itself; DEL and C1 too, so the line is safe to show as it is
      this.stderr.write(JSON.stringify(rec).replace(/[\u007f-\u009f]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`) + '\n');
      return;
    }
    const place = where ? `${escapeControls(where.source)}:${where.line}: ` : '';
    const prefix = level === 'warning' ? 'warning: ' : '';
    this.stderr.write(`${this.tool}: ${place}${prefix}${escapeControls(message)}\n`);
  }
}

// Control characters (C0, DEL, C1) as `\xNN`: a diagnostic quoting a value must never move the
// cursor, clear the screen or end its line on the terminal it is shown on.
export function escapeControls(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

// The longest diagnostic kept whole; a longer one (a huge value quoted) keeps its head and its
// tail (which says what was expected) around a note of what was cut.
const MAX_MESSAGE = 400;

export function bounded(message: string): string {
  if (message.length <= MAX_MESSAGE) return message;
  const head = message.slice(0, 240);
  const tail = message.slice(-120);
  return `${head}[... ${message.length - head.length - tail.length} characters cut ...]${tail}`;
}

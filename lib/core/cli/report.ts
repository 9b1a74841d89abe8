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

  private emit(level: string, message: string, where?: Where): void {
    if (this.format === 'json') {
      const rec: Record<string, unknown> = { tool: this.tool, level };
      if (where) {
        rec['source'] = where.source;
        rec['line'] = where.line;
      }
      rec['message'] = message;
      this.stderr.write(JSON.stringify(rec) + '\n');
      return;
    }
    const place = where ? `${where.source}:${where.line}: ` : '';
    const prefix = level === 'warning' ? 'warning: ' : '';
    this.stderr.write(`${this.tool}: ${place}${prefix}${message}\n`);
  }
}

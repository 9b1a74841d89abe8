// Exit statuses shared by every tool (sb(7), EXIT STATUS).
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  locked: 3,
  dataErr: 65,
  tempFail: 75,
} as const;

// An error a tool expects: printed as one line, mapped to its exit status, no stack trace.
export class SbError extends Error {
  constructor(
    message: string,
    readonly status: number = EXIT.failure,
  ) {
    super(message);
    this.name = 'SbError';
  }
}

// A mistake in the command line: exit 2 and a hint to read --help.
export class UsageError extends SbError {
  constructor(message: string) {
    super(message, EXIT.usage);
    this.name = 'UsageError';
  }
}

// Thrown when the reader of stdout has gone away (`| head`): the run ends quietly with status 0.
export class PipeClosed extends Error {
  constructor() {
    super('output pipe closed');
    this.name = 'PipeClosed';
  }
}

// One input line that cannot be used: reported with its place, counted and skipped.
export class BadInput extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadInput';
  }
}

import { createRequire } from 'node:module';
import type * as ChildProcess from 'node:child_process';
import type * as Crypto from 'node:crypto';

// Node's child_process and crypto cost 2-3 ms each to load, and most runs never use them (a
// filter that never asks date(1), scontrol or getent; --help): they are required on first use,
// not imported at load.
const require = createRequire(import.meta.url);

export function childProcess(): typeof ChildProcess {
  return require('node:child_process') as typeof ChildProcess;
}

export function nodeCrypto(): typeof Crypto {
  return require('node:crypto') as typeof Crypto;
}

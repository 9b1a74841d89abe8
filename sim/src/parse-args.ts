// sacct's command line, read the way getopt_long(3) reads it: clustered short options,
// --long=value and --long value, unique prefixes of long names, and glibc's messages.

export class UsageError extends Error {}

const SHORT = 'aA:bcC:DeE:f:F:g:hi:I:j:k:K:lLM:nN:o:pPq:r:s:S:Ttu:UvVW:x:X';

// [name, takes an argument, the option it stands for]
const LONG: ReadonlyArray<readonly [string, boolean, string]> = [
  ['allusers', false, 'a'], ['accounts', true, 'A'], ['allocations', false, 'X'], ['brief', false, 'b'],
  ['completion', false, 'c'], ['constraints', true, 'C'], ['delimiter', true, 'delimiter'],
  ['duplicates', false, 'D'], ['federation', false, 'federation'], ['helpformat', false, 'e'],
  ['help-fields', false, 'e'], ['endtime', true, 'E'], ['file', true, 'f'], ['flags', true, 'F'],
  ['gid', true, 'g'], ['group', true, 'g'], ['help', false, 'h'], ['local', false, 'local'],
  ['name', true, 'name'], ['nnodes', true, 'i'], ['ncpus', true, 'I'], ['jobs', true, 'j'],
  ['timelimit-min', true, 'k'], ['timelimit-max', true, 'K'], ['long', false, 'l'],
  ['allclusters', false, 'L'], ['cluster', true, 'M'], ['clusters', true, 'M'], ['nodelist', true, 'N'],
  ['noconvert', false, 'noconvert'], ['units', true, 'units'], ['noheader', false, 'n'],
  ['fields', true, 'o'], ['format', true, 'o'], ['parsable', false, 'p'], ['parsable2', false, 'P'],
  ['qos', true, 'q'], ['partition', true, 'r'], ['reason', true, 'R'], ['state', true, 's'],
  ['starttime', true, 'S'], ['truncate', false, 'T'], ['uid', true, 'u'], ['usage', false, 'U'],
  ['user', true, 'u'], ['verbose', false, 'v'], ['version', false, 'V'], ['wckeys', true, 'W'],
  ['whole-hetjob', false, 'whole-hetjob'], ['associations', true, 'x'],
  ['sim-truth', false, 'sim-truth'], ['sim-truth-jobs', false, 'sim-truth-jobs'], ['sim-truth-accounts', false, 'sim-truth-accounts'],
];

export interface Parsed {
  // Options in command-line order, each as [key, value] (value '' for flags).
  opts: Array<[string, string]>;
  rest: string[];
}

export function getopt(argv: readonly string[], prog = 'sacct'): Parsed {
  const opts: Array<[string, string]> = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      rest.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      const exact = LONG.find((o) => o[0] === name);
      let opt = exact;
      if (!opt) {
        const hits = LONG.filter((o) => o[0].startsWith(name));
        const distinct = new Set(hits.map((o) => o[2] + (o[1] ? ':' : '')));
        if (hits.length === 0) throw new UsageError(`${prog}: unrecognized option '${arg}'`);
        if (distinct.size > 1) {
          throw new UsageError(`${prog}: option '${arg}' is ambiguous; possibilities:${hits.map((o) => ` '--${o[0]}'`).join('')}`);
        }
        opt = hits[0]!;
      }
      if (opt[1]) {
        let value: string;
        if (eq >= 0) value = arg.slice(eq + 1);
        else if (i + 1 < argv.length) value = argv[++i]!;
        else throw new UsageError(`${prog}: option '--${opt[0]}' requires an argument`);
        opts.push([opt[2], value]);
      } else {
        if (eq >= 0 && opt[2] !== 'whole-hetjob') throw new UsageError(`${prog}: option '--${opt[0]}' doesn't allow an argument`);
        opts.push([opt[2], eq >= 0 ? arg.slice(eq + 1) : '']);
      }
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      for (let k = 1; k < arg.length; k++) {
        const c = arg[k]!;
        const at = c === ':' ? -1 : SHORT.indexOf(c);
        if (at < 0) throw new UsageError(`${prog}: invalid option -- '${c}'`);
        if (SHORT[at + 1] === ':') {
          let value: string;
          if (k + 1 < arg.length) value = arg.slice(k + 1);
          else if (i + 1 < argv.length) value = argv[++i]!;
          else throw new UsageError(`${prog}: option requires an argument -- '${c}'`);
          opts.push([c, value]);
          break;
        }
        opts.push([c, '']);
      }
      continue;
    }
    rest.push(arg);
  }
  return { opts, rest };
}

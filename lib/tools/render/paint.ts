import pc from 'picocolors';

// The roles text plays on a screen, each a style of the 16-colour palette in the hiscores'
// browns (yellow is brown on most palettes) and golds (bright yellow); or no style at all.
export interface Paint {
  readonly colour: boolean;
  title(s: string): string;
  gold(s: string): string;
  brown(s: string): string;
  head(s: string): string;
  selected(s: string): string;
  muted(s: string): string;
  error(s: string): string;
  // Move to column `n` (1-based) of the line: the terminal's notion of a name's width may
  // differ from ours (emoji sequences), so the columns after a name are placed, not counted.
  col(n: number): string;
}

export function makePaint(colour: boolean, placeColumns = false): Paint {
  const c = pc.createColors(colour);
  return {
    colour,
    // Not bold: many terminals show bold black as grey, faint on yellow.
    title: (s) => c.bgYellow(c.black(s)),
    gold: (s) => c.yellowBright(c.bold(s)),
    brown: (s) => c.yellow(s),
    head: (s) => c.yellow(c.bold(s)),
    selected: (s) => c.bgYellow(c.black(s)),
    muted: (s) => c.dim(s),
    error: (s) => c.redBright(c.bold(s)),
    col: placeColumns ? (n) => `\x1b[${n}G` : () => '',
  };
}

// Colour is for people at a terminal: not under NO_COLOR (any value), TERM=dumb, or off a TTY.
export function wantColour(env: NodeJS.ProcessEnv, isTty: boolean): boolean {
  if (env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '') return false;
  if (env['TERM'] === 'dumb') return false;
  return isTty;
}

// Whether the locale can show UTF-8 (block elements, box lines, names as they are).
export function utf8Locale(env: NodeJS.ProcessEnv): boolean {
  const loc = env['LC_ALL'] || env['LC_CTYPE'] || env['LANG'] || '';
  return /utf-?8/i.test(loc);
}

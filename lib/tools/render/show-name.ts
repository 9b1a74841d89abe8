// Characters a terminal or a page would act on instead of showing: C0 and C1 controls, DEL,
// the line and paragraph separators, bidirectional overrides and isolates (they reorder the
// rest of a line), lone surrogates; and the backslash, so an escape cannot be forged.
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\\]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const NON_ASCII = /[^\x20-\x7e]/gu;

function escapeChar(ch: string): string {
  if (ch === '\\') return '\\\\';
  const cp = ch.codePointAt(0) as number;
  return cp <= 0xff ? `\\x${cp.toString(16).padStart(2, '0')}` : `\\u{${cp.toString(16)}}`;
}

// A user name as it may be shown: control characters escaped (`\x1b`, `\u{202e}`), never
// sent raw; with `ascii` (a terminal whose locale is not UTF-8) every non-ASCII character too.
export function showName(name: string, ascii = false): string {
  let out = name.replace(UNSAFE, escapeChar);
  if (ascii) out = out.replace(NON_ASCII, escapeChar);
  return out;
}

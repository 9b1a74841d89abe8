import stringWidth from 'string-width';

// Terminal columns of a string without escapes: string-width's (graphemes, East Asian Width,
// emoji, ZWJ sequences and flags as two columns).
export function textWidth(text: string): number {
  return stringWidth(text);
}

const segmenter = new Intl.Segmenter();
const ASCII = /^[\x20-\x7e]*$/;

// The text cut to at most `width` columns on a grapheme boundary, with `…` (or `.` in ASCII)
// where it was cut; never wider than asked, so a cell cannot push its line past the edge.
export function clipText(text: string, width: number, ellipsis = '…'): string {
  if (width <= 0) return '';
  if (ASCII.test(text)) return text.length <= width ? text : text.slice(0, Math.max(0, width - 1)) + (width >= 1 ? ellipsis : '');
  if (stringWidth(text) <= width) return text;
  const room = width - 1;
  let out = '';
  let used = 0;
  for (const { segment } of segmenter.segment(text)) {
    const w = stringWidth(segment);
    if (used + w > room) break;
    out += segment;
    used += w;
  }
  return out + ellipsis;
}

// The text clipped and padded with spaces to exactly `width` columns, on the left or right.
export function fitText(text: string, width: number, align: 'left' | 'right' = 'left', ellipsis = '…'): string {
  const clipped = clipText(text, width, ellipsis);
  const pad = ' '.repeat(Math.max(0, width - textWidth(clipped)));
  return align === 'left' ? clipped + pad : pad + clipped;
}

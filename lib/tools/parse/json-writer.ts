// A record's JSON line put down straight in bytes: JSON.stringify and the encoding of its text
// cost twice as much (Node 20's V8 takes ~70 ns a property). What it writes is what encoding
// JSON.stringify's text of the record gives, byte for byte (test/json-writer.test.ts): strings of
// printable ASCII are copied, numbers that are safe integers written in digits, null, true and
// false as words, and the rest (a string holding a quote, a backslash, a control or non-ASCII
// character; any other number) handed to JSON.stringify one value at a time. Values of other
// types are no job line's: an error, never a line.

// The most bytes a value takes beside 6 a UTF-16 unit of a string (JSON.stringify escapes a
// unit in 6 at most, `\u001f` or a lone surrogate's `\udc00`; UTF-8 takes at most 3 a unit): a
// string's quotes, or a number (`-1.2345678901234567e-308`) or a word.
const VALUE_MOST = 24;

// Writes records given as their values, in the order of the writer's field names.
export class JsonWriter {
  // Each field's name with what goes before it (`{"kind":`, `,"cluster":`, ...) as
  // little-endian 32-bit words, the last one overlapping the one before when its length is no
  // multiple of 4 (each is 5 bytes at least), and its length: a word at a time, a name costs a
  // quarter of the stores.
  private readonly words: Uint32Array[];
  private readonly lengths: Int32Array;
  private readonly fixed: number;
  private view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  private viewOf: Uint8Array | undefined;

  constructor(readonly fields: readonly string[]) {
    const names = fields.map((k, i) => Buffer.from(`${i === 0 ? '{' : ','}${JSON.stringify(k)}:`));
    this.words = names.map((name) => {
      const words: number[] = [];
      for (let k = 0; k + 4 <= name.length; k += 4) words.push(name.readUInt32LE(k));
      if (name.length % 4 !== 0) words.push(name.readUInt32LE(name.length - 4));
      return Uint32Array.from(words);
    });
    this.lengths = Int32Array.from(names, (name) => name.length);
    this.fixed = names.reduce((n, b) => n + b.length, 0) + fields.length * VALUE_MOST + 2;
  }

  // The most bytes write() puts down for these values, the newline included.
  most(values: readonly unknown[]): number {
    let n = this.fixed;
    for (let f = 0; f < values.length; f++) {
      const v = values[f];
      if (typeof v === 'string') n += 6 * v.length;
    }
    return n;
  }

  // Writes the line of the record whose values these are, and its '\n', at b[at..] (room for
  // most(values) bytes); returns where it ends.
  write(b: Buffer, at: number, values: readonly unknown[]): number {
    if (b !== this.viewOf) {
      this.viewOf = b;
      this.view = new DataView(b.buffer, b.byteOffset, b.length);
    }
    const view = this.view;
    const words = this.words;
    const lengths = this.lengths;
    for (let f = 0; f < words.length; f++) {
      const w = words[f] as Uint32Array;
      const n = lengths[f] as number;
      const last = w.length - 1;
      for (let k = 0; k < last; k++) view.setUint32(at + 4 * k, w[k] as number, true);
      view.setUint32(at + n - 4, w[last] as number, true);
      at += n;
      const v = values[f];
      if (typeof v === 'string') at = writeString(b, at, v);
      else if (typeof v === 'number') at = Number.isSafeInteger(v) ? writeInteger(b, at, v) : at + b.write(JSON.stringify(v), at, 'latin1');
      else if (v === null) at = word(view, at, 0x6c6c756e); // null
      else if (v === true) at = word(view, at, 0x65757274); // true
      else if (v === false) {
        b[at++] = 0x66; // f
        at = word(view, at, 0x65736c61); // alse
      } else throw new TypeError(`'${this.fields[f]}' is ${typeof v}, no value of a record line`);
    }
    b[at++] = 0x7d; // }
    b[at++] = 0x0a;
    return at;
  }

  // The line as text, without its newline.
  line(values: readonly unknown[]): string {
    const b = Buffer.allocUnsafe(this.most(values));
    return b.toString('utf8', 0, this.write(b, 0, values) - 1);
  }
}

// Four ASCII bytes, the first in the lowest byte of w.
function word(view: DataView<ArrayBufferLike>, at: number, w: number): number {
  view.setUint32(at, w, true);
  return at + 4;
}

// A string in quotes: copied when every unit is printable ASCII but `"` and `\`, else as
// JSON.stringify escapes it, in UTF-8.
function writeString(b: Buffer, at: number, s: string): number {
  const n = s.length;
  b[at] = 0x22;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return at + b.write(JSON.stringify(s), at);
    b[at + 1 + i] = c;
  }
  b[at + 1 + n] = 0x22;
  return at + n + 2;
}

// A safe integer in decimal digits, as JSON.stringify prints it (-0 as 0): in 32-bit integer
// arithmetic, eight digits at a time below the top ones.
function writeInteger(b: Buffer, at: number, v: number): number {
  if (v < 0) {
    b[at++] = 0x2d;
    v = -v;
  }
  if (v < 1e8) return writeSmall(b, at, v | 0);
  const high = Math.floor(v / 1e8);
  at = high < 1e8 ? writeSmall(b, at, high) : writeEight(b, writeSmall(b, at, Math.floor(high / 1e8)), high % 1e8);
  return writeEight(b, at, v - high * 1e8);
}

// 0 <= v < 10^8, without leading zeros.
function writeSmall(b: Buffer, at: number, v: number): number {
  const n = v < 10 ? 1 : v < 100 ? 2 : v < 1000 ? 3 : v < 10000 ? 4 : v < 100000 ? 5 : v < 1000000 ? 6 : v < 10000000 ? 7 : 8;
  for (let i = at + n - 1; i > at; i--) {
    const q = (v / 10) | 0;
    b[i] = 48 + (v - q * 10);
    v = q;
  }
  b[at] = 48 + v;
  return at + n;
}

// 0 <= v < 10^8 in exactly eight digits.
function writeEight(b: Buffer, at: number, v: number): number {
  for (let i = at + 7; i >= at; i--) {
    const q = (v / 10) | 0;
    b[i] = 48 + (v - q * 10);
    v = q;
  }
  return at + 8;
}

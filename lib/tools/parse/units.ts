import { BadInput } from '../../core/cli/errors.js';

// sacct's size suffixes are powers of 1024 (convert_num_unit: K M G T P).
export const KIB = 1024;
export const MIB = 1024 ** 2;

// sacct's "unknown unit" and values no real size reaches (2^53 bytes is 8 PiB).
const UNKNOWN = 63; // '?'

function suffixFactor(code: number): number {
  switch (code | 0x20) {
    case 0x6b: return 1024; // k
    case 0x6d: return 1024 ** 2; // m
    case 0x67: return 1024 ** 3; // g
    case 0x74: return 1024 ** 4; // t
    case 0x70: return 1024 ** 5; // p
    default: return 0;
  }
}

// `123` → 123; anything but ASCII digits (empty, signs, spaces, exponents) → -1.
export function digits(text: string): number {
  const n = text.length;
  if (n === 0 || n > 15) return -1;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

// A whole number field (`ElapsedRaw`, `AllocCPUS`), or BadInput naming the field and value.
export function wholeNumber(field: string, text: string): number {
  const v = digits(text);
  if (v < 0) throw new BadInput(`${field} '${text}' is not a number`);
  return v;
}

// `12`, `2.50`: a plain decimal, or NaN.
function decimal(text: string): number {
  const v = digits(text);
  if (v >= 0) return v;
  return /^\d+\.\d+$|^\d+$/.test(text) ? Number(text) : Number.NaN;
}

// A size as sacct prints it (`3388K`, `2.50M`, `16G`, `0`) → bytes; a number without a suffix
// is worth `plain` bytes each (1 for MaxRSS under --noconvert, MiB for ReqMem). Empty, the
// unknown unit (`16?`) and absurd sizes → null. Anything else is BadInput.
export function sizeBytes(field: string, text: string, plain: number): number | null {
  const n = text.length;
  if (n === 0) return null;
  const last = text.charCodeAt(n - 1);
  let bytes: number;
  if (last >= 48 && last <= 57) {
    const v = decimal(text);
    if (Number.isNaN(v)) throw new BadInput(`${field} '${text}' is not a size`);
    bytes = v * plain;
  } else if (last === UNKNOWN) {
    if (Number.isNaN(decimal(text.slice(0, -1)))) throw new BadInput(`${field} '${text}' is not a size`);
    return null;
  } else {
    const factor = suffixFactor(last);
    const v = decimal(text.slice(0, -1));
    if (factor === 0) {
      throw new BadInput(Number.isNaN(v) && n > 1 ? `${field} '${text}' is not a size` : `${field} '${text}' has an unknown unit`);
    }
    if (Number.isNaN(v)) throw new BadInput(`${field} '${text}' is not a size`);
    bytes = v * factor;
  }
  bytes = Math.round(bytes);
  return bytes <= Number.MAX_SAFE_INTEGER ? bytes : null;
}

// ReqMem → the whole job's bytes. Slurm ≥ 21.08 prints the job's total (`16G`, `16384M` under
// --noconvert); older releases append `c` (per CPU: × AllocCPUS) or `n` (per node: × NNodes).
// A number without a unit is MiB, Slurm's memory unit. Unknown (`16?`, empty) → null.
export function reqMemBytes(text: string, cpus: number, nodes: number): number | null {
  const n = text.length;
  if (n === 0) return null;
  const last = text.charCodeAt(n - 1);
  if (last === 0x63 /* c */ || last === 0x6e /* n */) {
    const each = sizeBytes('ReqMem', text.slice(0, -1), MIB);
    if (each === null) return null;
    const total = each * (last === 0x63 ? cpus : nodes);
    return total <= Number.MAX_SAFE_INTEGER ? total : null;
  }
  return sizeBytes('ReqMem', text, MIB);
}

// GPUs in an AllocTRES string: the `gres/gpu=N` entry where present, else the sum of the typed
// `gres/gpu:TYPE=N` entries (slurmdbd prints both for one GPU: `gres/gpu:a100=1,gres/gpu=1`).
// Other gres/gpu* TRES (`gres/gpumem`, `gres/gpuutil`) are not GPUs.
export function gpusFromTres(text: string): number {
  if (!text.includes('gres/gpu')) return 0;
  let plain = -1;
  let typed = 0;
  for (const item of text.split(',')) {
    const eq = item.indexOf('=');
    if (eq < 0) continue;
    const name = item.slice(0, eq);
    if (name !== 'gres/gpu' && !name.startsWith('gres/gpu:')) continue;
    const value = item.slice(eq + 1);
    const count = digits(value);
    if (count < 0) throw new BadInput(`AllocTRES ${name} '${value}' is not a number`);
    if (name === 'gres/gpu') plain = count;
    else typed += count;
  }
  return plain >= 0 ? plain : typed;
}

// A duration as sacct prints it (`1-02:03:04`, `02:03:04`, `03:04` minutes:seconds,
// `00:03.250`; also Slurm's `1-02:03`) → whole seconds. `UNLIMITED`, `Partition_Limit`,
// `INVALID` and empty → null.
export function durationSeconds(field: string, text: string): number | null {
  if (text === '' || text === 'UNLIMITED' || text === 'Partition_Limit' || text === 'INVALID') return null;
  const n = text.length;
  let days = -1;
  let colons = 0;
  let first = 0;
  let second = 0;
  let v = -1;
  let i = 0;
  for (; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      v = (v < 0 ? 0 : v * 10) + c - 48;
      continue;
    }
    if (v < 0) break;
    if (c === 45 && days < 0 && colons === 0) days = v;
    else if (c === 58 && colons < 2) {
      if (colons === 0) first = v;
      else second = v;
      colons++;
    } else break;
    v = -1;
  }
  if (i < n && text.charCodeAt(i) === 46 && v >= 0 && i + 1 < n) {
    for (i++; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c < 48 || c > 57) break;
    }
  }
  let h = 0;
  let m = 0;
  let sec = 0;
  let ok = i === n && v >= 0 && colons > 0;
  if (colons === 2) {
    h = first;
    m = second;
    sec = v;
  } else if (days >= 0) {
    h = first;
    m = v;
  } else {
    m = first;
    sec = v;
  }
  if (sec > 59 || (colons === 2 || days >= 0 ? m > 59 : false) || (days >= 0 && h > 23)) ok = false;
  if (!ok) throw new BadInput(`${field} '${text}' is not a duration like 1-02:03:04`);
  return ((Math.max(days, 0) * 24 + h) * 60 + m) * 60 + sec;
}

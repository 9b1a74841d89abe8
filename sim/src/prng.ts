// Seeded, allocation-free randomness: every generated value comes from here, so that the same
// (seed, cluster, bucket) always yields the same jobs.

export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return mix32(h);
}

// murmur3's finaliser: a cheap, well-spread 32-bit mix.
export function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

export function combine(a: number, b: number): number {
  return mix32((a ^ Math.imul(b | 0, 0x9e3779b1) ^ (b / 4294967296) | 0) + 0x7f4a7c15);
}

// mulberry32: 32-bit state, fast, good enough for synthetic data.
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed | 0;
  }
  u32(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  float(): number {
    return this.u32() / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.float() * n);
  }
  range(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.float() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.float() * xs.length)]!;
  }
  // Log-uniform integer in [lo, hi]: most values small, a long tail of large ones.
  logUniform(lo: number, hi: number): number {
    if (hi <= lo) return lo;
    const a = Math.log(lo + 1);
    const b = Math.log(hi + 1);
    return Math.min(hi, Math.max(lo, Math.floor(Math.exp(a + this.float() * (b - a))) - 1));
  }
}

// Walker's alias method: O(1) sampling from a fixed discrete distribution.
export class Alias {
  private readonly prob: Float64Array;
  private readonly alias: Int32Array;
  readonly n: number;
  constructor(weights: readonly number[]) {
    const n = weights.length;
    this.n = n;
    this.prob = new Float64Array(n);
    this.alias = new Int32Array(n);
    let sum = 0;
    for (const w of weights) sum += w;
    const scaled = weights.map((w) => (w * n) / sum);
    const small: number[] = [];
    const large: number[] = [];
    scaled.forEach((p, i) => (p < 1 ? small : large).push(i));
    while (small.length > 0 && large.length > 0) {
      const s = small.pop()!;
      const l = large.pop()!;
      this.prob[s] = scaled[s]!;
      this.alias[s] = l;
      scaled[l] = scaled[l]! + scaled[s]! - 1;
      (scaled[l]! < 1 ? small : large).push(l);
    }
    for (const i of large) this.prob[i] = 1;
    for (const i of small) this.prob[i] = 1;
  }
  sample(rng: Rng): number {
    const u = rng.float() * this.n;
    const i = Math.floor(u);
    return u - i < this.prob[i]! ? i : this.alias[i]!;
  }
}

// Pick an index by weight from a short table (linear scan; used where the table has < 12 rows).
export function pickWeighted(rng: Rng, cumulative: readonly number[]): number {
  const u = rng.float() * cumulative[cumulative.length - 1]!;
  let i = 0;
  while (u >= cumulative[i]!) i++;
  return i;
}

export function cumulate(weights: readonly number[]): number[] {
  let s = 0;
  return weights.map((w) => (s += w));
}

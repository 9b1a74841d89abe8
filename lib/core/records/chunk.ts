import { BadInput } from '../cli/errors.js';
import { isClusterName, notClusterName } from './cluster.js';
import { formatTime, parseTime } from './time.js';
import type { Rec } from '../cli/input.js';

// One closed window of one cluster's accounting, in epoch seconds (both ends inclusive).
export interface Chunk {
  cluster: string;
  start: number;
  end: number;
  // A tile (sb-chunk todo): the span to ask sacct for, exactly, and the slack its jobs may end
  // outside it: the tile keeps those whose End is in [start, end], as any window, and that is the
  // span widened by the slack (cut to the range the windows cover).
  tile?: Tile;
}

export interface Tile {
  query: [number, number];
  slack: number;
}

export type CalendarUnit = 'hour' | 'day' | 'month';

// Fixed-length windows from start; the last one ends exactly at end. Closed and touching.
export function cutByStep(start: number, end: number, stepSec: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let s = start; s <= end; s += stepSec) out.push([s, Math.min(s + stepSec - 1, end)]);
  return out;
}

// Windows on UTC calendar boundaries (hours, days, months); the first and last may be partial.
export function cutByCalendar(start: number, end: number, unit: CalendarUnit): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let s = start; s <= end; ) {
    const next = nextBoundary(s, unit);
    out.push([s, Math.min(next - 1, end)]);
    s = next;
  }
  return out;
}

function nextBoundary(sec: number, unit: CalendarUnit): number {
  const d = new Date(sec * 1000);
  switch (unit) {
    case 'hour':
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours() + 1) / 1000;
    case 'day':
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1) / 1000;
    case 'month':
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) / 1000;
  }
}

export function chunkRecord(c: Chunk): { kind: 'chunk'; cluster: string; start: string; end: string } & TileFields {
  return { kind: 'chunk', cluster: c.cluster, start: formatTime(c.start), end: formatTime(c.end), ...tileFields(c) };
}

interface TileFields {
  query_start?: string;
  query_end?: string;
  slack?: number;
}

// A tile's query_start, query_end and slack (seconds), as its chunk and chunk-done records carry them.
export function tileFields(c: Chunk): TileFields {
  return c.tile === undefined ? {} : { query_start: formatTime(c.tile.query[0]), query_end: formatTime(c.tile.query[1]), slack: c.tile.slack };
}

// `start/end` as row records name their window.
export function chunkId(c: Chunk): string {
  return `${formatTime(c.start)}/${formatTime(c.end)}`;
}

// A record carrying cluster/start/end (a chunk, a chunk-done, a ledger entry) → Chunk.
export function chunkFromRecord(rec: Rec, defaultCluster?: string): Chunk {
  const cluster = rec['cluster'] ?? defaultCluster;
  if (typeof cluster !== 'string' || !isClusterName(cluster)) {
    throw new BadInput(cluster === undefined ? "'cluster' is missing" : `'cluster' ${JSON.stringify(cluster)} ${notClusterName(String(cluster))}`);
  }
  const start = timeField(rec, 'start');
  const end = timeField(rec, 'end');
  if (start > end) throw new BadInput(`start ${formatTime(start)} is after end ${formatTime(end)}`);
  const absurd = windowProblem(start, end, Math.floor(Date.now() / 1000));
  if (absurd !== undefined) throw new BadInput(`the window ${formatTime(start)} .. ${formatTime(end)} ${absurd}`);
  if (rec['query_start'] === undefined && rec['query_end'] === undefined && rec['slack'] === undefined) return { cluster, start, end };
  const qs = timeField(rec, 'query_start');
  const qe = timeField(rec, 'query_end');
  const slack = rec['slack'];
  if (typeof slack !== 'number' || !Number.isSafeInteger(slack) || slack < 0 || slack > 86400) throw new BadInput(`'slack' is not a number of seconds from 0 to 86400`);
  // what a tile keeps lies within its slack of the span it asks for
  if (qs > qe || start < qs - slack || end > qe + slack) {
    throw new BadInput(`the window ${formatTime(start)} .. ${formatTime(end)} is not within ${slack} s of its query ${formatTime(qs)} .. ${formatTime(qe)}`);
  }
  return { cluster, start, end, tile: { query: [qs, qe], slack } };
}

// No accounting before this (Slurm's first release was 2002); a window starting earlier is a typo
// that would mark decades done.
export const EARLIEST = Date.UTC(1990, 0, 1) / 1000;
// The longest window: a year (a leap year's 366 days).
export const LONGEST = 366 * 86400;
// How far in the future a window may end: clocks of different hosts disagree, a day never.
const SKEW = 86400;

// Why a window is absurd (it would mark history done that was never fetched), or undefined.
export function windowProblem(start: number, end: number, now: number): string | undefined {
  if (start < EARLIEST) return 'starts before 1990';
  if (end > now + SKEW) return `ends in the future (now is ${formatTime(now)})`;
  if (end - start + 1 > LONGEST) return 'is longer than a year';
  return undefined;
}

function timeField(rec: Rec, name: string): number {
  const v = rec[name];
  if (typeof v !== 'string') throw new BadInput(`'${name}' is missing or not a string`);
  const t = parseTime(v);
  if (t === undefined) throw new BadInput(`'${name}' '${v}' is not a UTC time like 2024-01-01T00:00:00Z`);
  return t;
}

// Collapses duplicates and orders by start, then cluster, then end.
export function sortUnique(chunks: Chunk[]): Chunk[] {
  const seen = new Map<string, Chunk>();
  for (const c of chunks) seen.set(`${c.cluster}\u0000${c.start}\u0000${c.end}`, c);
  return [...seen.values()].sort((a, b) => a.start - b.start || (a.cluster < b.cluster ? -1 : a.cluster > b.cluster ? 1 : 0) || a.end - b.end);
}

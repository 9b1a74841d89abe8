// A second thread for big windows: renders the segments main.ts hands it and posts each one's
// bytes back, staying at most two segments ahead of what has been written.
import { parentPort, workerData } from 'node:worker_threads';
import { readConfig } from './config.js';
import { Output } from './output.js';
import { type Plan, Renderer, type Segment } from './render.js';

interface Data {
  plan: Plan;
  env: NodeJS.ProcessEnv;
  segments: Array<Segment & { index: number }>;
}

const port = parentPort!;
const data = workerData as Data;
const cfg = readConfig(data.env);
let acks = 2;
let wake: (() => void) | null = null;
port.on('message', () => {
  acks++;
  if (wake) {
    wake();
    wake = null;
  }
});

const renderer = new Renderer(data.plan, cfg, new Output(-1, 0, true, data.plan.delimiter));
for (const seg of data.segments) {
  while (acks === 0) await new Promise<void>((r) => (wake = r));
  acks--;
  renderer.segment(seg);
  const chunks = renderer.out.take();
  port.postMessage({ index: seg.index, chunks }, chunks.map((c) => c.buffer as ArrayBuffer));
}
port.close();

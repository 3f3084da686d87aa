/**
 * The buyers of the seat-map bench (bench/seat-map.ts), in a worker thread of
 * their own so that a thousand polling loops do not slow the measurement of
 * the holds and confirms on the main thread. Each buyer fetches the layout
 * once (spread over `layoutBy` ms), then the compact state every
 * `stateEveryMs` with If-None-Match. Messages in: 'measure' (start counting),
 * 'stop'; out: the counts, once stopped.
 */
import { parentPort, workerData } from 'node:worker_threads';

export interface BuyersInput {
  baseUrl: string;
  eventId: string;
  buyers: number;
  layoutBy: number;
  stateEveryMs: number;
}

export interface BuyersOutput {
  requests: number;
  notModified: number;
  bytes: number[];
  ms: number[];
  layoutBytes: number;
  errors: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

if (parentPort) {
  const port = parentPort;
  const { baseUrl, eventId, buyers, layoutBy, stateEveryMs } = workerData as BuyersInput;
  let running = true;
  let measuring = false;
  const out: BuyersOutput = { requests: 0, notModified: 0, bytes: [], ms: [], layoutBytes: 0, errors: [] };
  const loops = Array.from({ length: buyers }, async (_, i) => {
    await sleep((i / buyers) * layoutBy);
    const layout = await fetch(`${baseUrl}/v1/events/${eventId}/seats/layout`);
    out.layoutBytes = (await layout.arrayBuffer()).byteLength; // the page parses it once; only its size matters here
    let etag = '';
    await sleep(Math.random() * stateEveryMs);
    while (running) {
      const t = performance.now();
      const r = await fetch(`${baseUrl}/v1/events/${eventId}/seats/state`, { headers: etag ? { 'if-none-match': etag } : {} });
      const body = await r.arrayBuffer();
      if (measuring) {
        out.requests += 1;
        out.ms.push(performance.now() - t);
        if (r.status === 304) out.notModified += 1;
        else out.bytes.push(body.byteLength);
      }
      if (r.status === 200) etag = r.headers.get('etag') ?? '';
      else if (r.status !== 304 && out.errors.length < 10) out.errors.push(`${r.status} ${Buffer.from(body).toString()}`);
      await sleep(stateEveryMs);
    }
  });
  port.on('message', (m: string) => {
    if (m === 'measure') measuring = true;
    if (m === 'stop') {
      measuring = false;
      running = false;
      void Promise.all(loops).then(() => port.postMessage(out));
    }
  });
}

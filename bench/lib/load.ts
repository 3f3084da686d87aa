import autocannon from 'autocannon';
import type { EventEmitter } from 'node:events';

export type Ctx = Record<string, any>;

/** One step of a connection's request cycle (autocannon `requests`), with typed hooks. */
export interface Step {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** builds this request from the connection's context; may change path, headers and body */
  setup?: (req: { method: string; path: string; headers: Record<string, string>; body?: string }, ctx: Ctx) => void;
  onResponse?: (status: number, body: string, ctx: Ctx) => void;
}

export interface LoadSpec {
  name: string;
  url: string;
  connections: number;
  /** called once for the warm-up and once for the measurement: counters may keep running across both */
  steps: () => Step[];
}

export interface Percentiles {
  p50: number;
  p90: number;
  p97_5: number;
  p99: number;
  p99_9: number;
  max: number;
  mean: number;
}

/** What one autocannon run counted (latencies go to the caller's histogram). */
export interface SliceResult {
  requests: number;
  durationSeconds: number;
  statuses: Record<string, number>;
  errors: number;
  timeouts: number;
}

export interface LoadResult {
  requests: number;
  durationSeconds: number;
  reqPerSec: number;
  /** from every response, any status, at 10 µs resolution (ms) */
  latencyMs: Percentiles;
  statuses: Record<string, number>;
  non2xx: number;
  errors: number;
  timeouts: number;
  slices: number;
}

/**
 * Latency histogram: 10 µs buckets up to 20 s, so percentiles are not rounded
 * to whole milliseconds (autocannon's own histogram is), and slices of one
 * scenario can be merged.
 */
export class Histogram {
  private static readonly RESOLUTION_MS = 0.01;
  private readonly buckets = new Uint32Array(2_000_000);
  private count = 0;
  private sum = 0;
  private max = 0;

  record(ms: number): void {
    const i = Math.min(this.buckets.length - 1, Math.floor(ms / Histogram.RESOLUTION_MS));
    this.buckets[i] += 1;
    this.count += 1;
    this.sum += ms;
    if (ms > this.max) this.max = ms;
  }

  percentiles(): Percentiles {
    const wanted = [0.5, 0.9, 0.975, 0.99, 0.999];
    const found: number[] = [];
    let seen = 0;
    let w = 0;
    for (let i = 0; i < this.buckets.length && w < wanted.length; i += 1) {
      seen += this.buckets[i];
      while (w < wanted.length && this.count > 0 && seen >= Math.ceil(wanted[w] * this.count)) {
        found.push((i + 1) * Histogram.RESOLUTION_MS);
        w += 1;
      }
    }
    while (found.length < wanted.length) found.push(NaN);
    const r = (x: number) => Math.round(x * 100) / 100;
    return {
      p50: r(found[0]),
      p90: r(found[1]),
      p97_5: r(found[2]),
      p99: r(found[3]),
      p99_9: r(found[4]),
      max: r(this.max),
      mean: r(this.count ? this.sum / this.count : NaN),
    };
  }
}

function toRequests(steps: Step[]): autocannon.Request[] {
  return steps.map((step) => {
    const request: autocannon.Request = {
      method: step.method,
      path: step.path,
      headers: { ...(step.body !== undefined ? { 'content-type': 'application/json' } : {}), ...(step.headers ?? {}) },
      ...(step.body !== undefined ? { body: step.body } : {}),
    };
    if (step.setup) {
      const setup = step.setup;
      request.setupRequest = (req, context) => {
        const r = req as unknown as { method: string; path: string; headers: Record<string, string>; body?: string };
        setup(r, context as Ctx);
        return req;
      };
    }
    if (step.onResponse) {
      const onResponse = step.onResponse;
      request.onResponse = (status, body, context) => onResponse(status, body, context as Ctx);
    }
    return request;
  });
}

/** Runs autocannon for `seconds`, printing progress; every response time goes into `histogram`. */
export function runLoad(spec: LoadSpec, seconds: number, label: string, histogram: Histogram = new Histogram()): Promise<SliceResult> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const instance = autocannon(
      {
        url: spec.url,
        connections: spec.connections,
        duration: seconds,
        pipelining: 1,
        timeout: 10,
        requests: toRequests(spec.steps()),
      },
      (err, result) => {
        if (isTTY) process.stdout.write('\r'.padEnd(80) + '\r');
        if (err) return reject(err);
        const statuses: Record<string, number> = {};
        for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statuses[code] = Number(stat?.count ?? 0);
        resolve({
          requests: Object.values(statuses).reduce((a, b) => a + b, 0),
          durationSeconds: result.duration,
          statuses,
          errors: result.errors,
          timeouts: result.timeouts,
        });
      },
    );
    const events = instance as unknown as EventEmitter;
    events.on('response', (_client: unknown, _status: number, _bytes: number, responseTime: number) => histogram.record(responseTime));
    events.on('tick', (tick: { counter: number }) => {
      const elapsed = Math.round((Date.now() - started) / 1000);
      if (elapsed > seconds) return;
      const line = `    ${label} ${spec.name}: ${elapsed}/${seconds} s, ${tick.counter.toLocaleString('en-US')} req/s`;
      if (isTTY) process.stdout.write(`\r${line.padEnd(78)}`);
      else if (elapsed % 5 === 0 && elapsed < seconds && tick.counter > 0) console.log(line);
    });
  });
}

const isTTY = Boolean(process.stdout.isTTY);

/**
 * Step `seatmap` of the bench (issue 19, CONTRACT v1.2 "Looking at seats
 * costs nothing"): a 60,000-seat layout event and BENCH_SEATMAP_BUYERS
 * (default 1,000) admitted buyers following the page's request pattern —
 * the layout once, then the compact state every 5 s with If-None-Match —
 * while holds and confirms go on at a steady rate. Measured on one replica
 * (`node dist/main.js`), in two windows of BENCH_SEATMAP_SECONDS (default
 * 20) with the same writes: nobody looking, then every buyer looking.
 *
 *  - Redis calls per second for seat reading (the seatChanges and seatChunk
 *    scripts, from the service's own /metrics): target ≤ 2 whatever the buyers;
 *  - service CPU per state refresh: the CPU the looking window cost over the
 *    other, per state request;
 *  - bytes per refresh (body of a 200; a 304 has none): target ≤ 32 KB;
 *  - hold and confirm p99 with and without the buyers looking;
 *  - then, on a 100,000-seat layout event: the longest single Redis call of
 *    the seat-map scripts (SLOWLOG), for a whole-map read and for a
 *    change-log read of the most entries one call takes (250 holds of 20 seats).
 */
import { resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import Redis from 'ioredis';
import { startRedis } from '../test/support/redis-harness';
import { Client, inParallel, sleep } from './lib/http';
import { commandStats, diffStats, redisCpuSeconds, scriptShas } from './lib/redis-stats';
import { serviceProcess } from './lib/service';
import type { BuyersInput, BuyersOutput } from './seat-map-buyers';

const int = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const BUYERS = int('BENCH_SEATMAP_BUYERS', 1000);
const WINDOW_S = int('BENCH_SEATMAP_SECONDS', 20);
/** hold + confirm pairs per second, in both windows */
const PAIRS_PER_SECOND = 10;
const STATE_EVERY_MS = 5000;
const SLOWLOG_THRESHOLD_US = 100;
const SEAT_SCRIPTS = ['seatChanges', 'seatChunk'];

export interface SeatMapWindow {
  seconds: number;
  /** seatChanges + seatChunk calls per second (service /metrics) */
  seatReadCallsPerSecond: number;
  /** every EVALSHA Redis ran per second (writes included), and every command */
  evalshaPerSecond: number;
  stateRequests: number;
  state304: number;
  /** mean and largest body of a 200 state answer, bytes */
  stateBytesMean: number;
  stateBytesMax: number;
  stateP99Ms: number;
  serviceCpuSeconds: number;
  holds: number;
  holdP50Ms: number;
  holdP99Ms: number;
  confirms: number;
  confirmP99Ms: number;
}

/** Seat-map script calls in one phase: count, SLOWLOG times (µs), Redis CPU per call (µs, unaffected by other load). */
export interface CallFigures {
  calls: number;
  maxUs: number;
  medianUs: number;
  p90Us: number;
  redisCpuUsPerCall: number;
  over5ms: number;
}

export interface SeatMapResult {
  seats: number;
  buyers: number;
  layoutBytes: number;
  quiet: SeatMapWindow;
  looking: SeatMapWindow;
  /** (CPU looking - CPU quiet) / state requests, µs */
  serviceCpuUsPerStateRefresh: number;
  longestCall: { seats: number; wholeMap: CallFigures; changes: CallFigures; changesEntriesPerCall: number; thresholdUs: number };
  loadAverage: { before: number[]; after: number[] };
}

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] : 0;
};
const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

/** A venue of sections x rows x perRow seats over three price levels. */
const venue = (sections: number, rows: number, perRow: number) => ({
  priceLevels: ['P1', 'P2', 'P3'].map((priceLevel, i) => ({ priceLevel, price: 2000 * (3 - i), currency: 'EUR' })),
  sections: Array.from({ length: sections }, (_, s) => ({
    sectionId: `S${s + 1}`,
    priceLevel: ['P1', 'P2', 'P3'][s % 3],
    rows: Array.from({ length: rows }, (_, r) => ({ rowId: `R${r + 1}`, seats: perRow })),
  })),
});

/** Seat-map script calls the service made so far, from its /metrics. */
async function seatReadCalls(client: Client): Promise<number> {
  const text = (await client.request<string>('GET', '/metrics')).body;
  let n = 0;
  for (const script of SEAT_SCRIPTS) {
    const m = new RegExp(`^queuegate_script_duration_seconds_count\\{script="${script}"\\} (\\d+)`, 'm').exec(text);
    n += Number(m?.[1] ?? 0);
  }
  return n;
}

/** Joins `users` and waits until each is admitted; their Authorization headers. */
async function admit(client: Client, eventId: string, users: string[]): Promise<Record<string, string>[]> {
  const tickets = await inParallel(users.length, 50, async (i) => {
    const r = await client.request('POST', `/v1/events/${eventId}/queue`, { userId: users[i] });
    if (r.status !== 202) throw new Error(`join: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.ticket as string;
  });
  return inParallel(users.length, 50, async (i) => {
    for (let tries = 0; ; tries += 1) {
      const r = await client.request('GET', `/v1/events/${eventId}/queue/${tickets[i]}`);
      if (r.body?.status === 'admitted') return { authorization: `Bearer ${r.body.accessToken}` };
      if (tries > 300) throw new Error(`not admitted: ${JSON.stringify(r.body)}`);
      await sleep(100);
    }
  });
}

/** Hold 2 best available, then confirm, PAIRS_PER_SECOND times a second, round robin over the buyers, until stopped. */
function writers(client: Client, eventId: string, auths: Record<string, string>[]) {
  let running = true;
  let next = 0;
  const hold: number[] = [];
  const confirm: number[] = [];
  const inFlight = new Set<Promise<void>>();
  const done = (async () => {
    const started = performance.now();
    for (let k = 0; running; k += 1) {
      const wait = started + (k * 1000) / PAIRS_PER_SECOND - performance.now();
      if (wait > 0) await sleep(wait);
      const auth = auths[next++ % auths.length];
      const p = (async () => {
        let t = performance.now();
        const h = await client.request('POST', `/v1/events/${eventId}/holds`, { quantity: 2 }, auth);
        hold.push(performance.now() - t);
        if (h.status !== 201) throw new Error(`hold: ${h.status} ${JSON.stringify(h.body)}`);
        t = performance.now();
        const c = await client.request('POST', `/v1/events/${eventId}/holds/${h.body.holdId}/confirm`, {}, auth);
        confirm.push(performance.now() - t);
        if (c.status !== 201) throw new Error(`confirm: ${c.status} ${JSON.stringify(c.body)}`);
      })();
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    }
    await Promise.all(inFlight);
  })();
  return {
    stop: async () => {
      running = false;
      await done;
      return { hold, confirm };
    },
  };
}

/** The buyers, in a worker thread (bench/seat-map-buyers.ts). */
function buyersLooking(client: Client, eventId: string, buyers: number, layoutBy: number) {
  const input: BuyersInput = { baseUrl: client.baseUrl, eventId, buyers, layoutBy, stateEveryMs: STATE_EVERY_MS };
  const worker = new Worker(resolve(__dirname, 'seat-map-buyers.js'), { workerData: input });
  const result = new Promise<BuyersOutput>((done, fail) => {
    worker.once('message', done);
    worker.once('error', fail);
  });
  return {
    measure: () => worker.postMessage('measure'),
    stop: async () => {
      worker.postMessage('stop');
      const out = await result;
      await worker.terminate();
      if (out.errors.length > 0) throw new Error(`state reads failed: ${out.errors.join('; ')}`);
      return { state: { requests: out.requests, notModified: out.notModified, bytes: out.bytes, ms: out.ms }, layoutBytes: out.layoutBytes };
    },
  };
}

async function measureWindow(
  redis: Redis,
  client: Client,
  cpu: () => number,
  eventId: string,
  auths: Record<string, string>[],
  looking?: ReturnType<typeof buyersLooking>,
): Promise<SeatMapWindow> {
  const write = writers(client, eventId, auths);
  await sleep(1000);
  looking?.measure();
  const [reads0, stats0, cpu0, t0] = [await seatReadCalls(client), await commandStats(redis), cpu(), performance.now()];
  await sleep(WINDOW_S * 1000);
  const [reads1, stats1, cpu1, t1] = [await seatReadCalls(client), await commandStats(redis), cpu(), performance.now()];
  // The writes stop first: stopping a thousand buyers takes a while, which is not the window.
  const { hold, confirm } = await write.stop();
  const seen = looking ? await looking.stop() : undefined;
  const seconds = (t1 - t0) / 1000;
  const st = seen?.state ?? { requests: 0, notModified: 0, bytes: [], ms: [] };
  return {
    seconds: round(seconds),
    seatReadCallsPerSecond: round((reads1 - reads0) / seconds, 2),
    evalshaPerSecond: round((diffStats(stats1, stats0).evalsha?.calls ?? 0) / seconds),
    stateRequests: st.requests,
    state304: st.notModified,
    stateBytesMean: Math.round(st.bytes.reduce((a, b) => a + b, 0) / Math.max(1, st.bytes.length)),
    stateBytesMax: Math.max(0, ...st.bytes),
    stateP99Ms: round(percentile(st.ms, 99)),
    serviceCpuSeconds: round(cpu1 - cpu0, 2),
    holds: hold.length,
    holdP50Ms: round(percentile(hold, 50)),
    holdP99Ms: round(percentile(hold, 99)),
    confirms: confirm.length,
    confirmP99Ms: round(percentile(confirm, 99)),
  };
}

/** Longest seat-map script call at 100,000 seats: a whole-map read, then the largest change-log reads. */
async function longestCalls(redis: Redis, client: Client): Promise<SeatMapResult['longestCall']> {
  const eventId = 'bench-seatmap-100k';
  await client.adminExpect(201, 'POST', '/v1/events', { eventId, layout: venue(10, 100, 100), maxSeatsPerUser: 20, holdTtlSeconds: 3600, admission: { ratePerSecond: 100_000, maxActive: 100_000, sessionTtlSeconds: 3600 } });
  const auths = await admit(client, eventId, Array.from({ length: 500 }, (_, i) => `big-${i}`));
  const shas = scriptShas();
  /** the seat-map script calls SLOWLOG holds (every one: each is over the threshold), µs */
  const seatCalls = async () => {
    const log = (await redis.slowlog('GET', 1_000_000)) as [number, number, number, string[]][];
    return log.filter((e) => /^evalsha$/i.test(String(e[3][0])) && SEAT_SCRIPTS.includes(shas.get(String(e[3][1])) ?? '')).map((e) => e[2]);
  };
  const measured = async (work: () => Promise<void>) => {
    await redis.slowlog('RESET');
    const [calls0, cpu0] = [await seatReadCalls(client), await redisCpuSeconds(redis)];
    await work();
    const [calls1, cpu1] = [await seatReadCalls(client), await redisCpuSeconds(redis)];
    const times = await seatCalls();
    const calls = calls1 - calls0;
    return { calls, maxUs: Math.max(0, ...times), medianUs: percentile(times, 50), p90Us: percentile(times, 90), redisCpuUsPerCall: calls ? Math.round(((cpu1 - cpu0) * 1e6) / calls) : 0, over5ms: times.filter((us) => us > 5000).length };
  };
  const wholeMap = await measured(async () => {
    const r = await client.request('GET', `/v1/events/${eventId}/seats/state`);
    if (r.status !== 200) throw new Error(`state: ${r.status}`);
  });
  // Nobody looks for SNAPSHOT_IDLE_MS: no refresh; then 500 holds of 20 seats, then one read (two calls of 250 entries).
  await sleep(6000);
  await inParallel(auths.length, 20, async (i) => {
    const h = await client.request('POST', `/v1/events/${eventId}/holds`, { quantity: 20 }, auths[i]);
    if (h.status !== 201) throw new Error(`hold: ${h.status} ${JSON.stringify(h.body)}`);
  });
  const changes = await measured(async () => {
    const after = await client.request('GET', `/v1/events/${eventId}/seats/state`);
    if (after.body.held !== 10_000) throw new Error(`expected 10,000 held, read ${after.body.held}`);
  });
  return { seats: 100_000, wholeMap, changes, changesEntriesPerCall: 250, thresholdUs: SLOWLOG_THRESHOLD_US };
}

export async function runSeatMap(log: (line: string) => void): Promise<SeatMapResult> {
  const { loadavg } = await import('node:os');
  const loadBefore = loadavg().map((x) => round(x, 2));
  const server = await startRedis(['--appendonly', 'no', '--slowlog-log-slower-than', String(SLOWLOG_THRESHOLD_US), '--slowlog-max-len', '100000']);
  const redis = server.client() as Redis;
  const service = await serviceProcess('seatmap-service', { REDIS_URL: server.url });
  try {
    await service.start('/health/ready');
    const client = new Client(service.url);
    const eventId = 'bench-seatmap-60k';
    log(`▶ seat map: a 60,000-seat venue, ${BUYERS} buyers looking (layout once, state every 5 s) while ${PAIRS_PER_SECOND} holds + confirms a second go on`);
    await client.adminExpect(201, 'POST', '/v1/events', {
      eventId,
      layout: venue(20, 60, 50),
      maxSeatsPerUser: 20,
      holdTtlSeconds: 3600,
      admission: { ratePerSecond: 100_000, maxActive: 100_000, sessionTtlSeconds: 3600 },
    });
    const auths = await admit(client, eventId, Array.from({ length: BUYERS }, (_, i) => `buyer-${i}`));
    const cpu = () => service.cpuSeconds();

    const quiet = await measureWindow(redis, client, cpu, eventId, auths);
    log(`  nobody looking: ${JSON.stringify(quiet)}`);
    const looking = buyersLooking(client, eventId, BUYERS, 5000);
    await sleep(5000 + STATE_EVERY_MS); // every layout fetched, state polls spread out
    const withBuyers = await measureWindow(redis, client, cpu, eventId, auths, looking);
    log(`  ${BUYERS} looking: ${JSON.stringify(withBuyers)}`);
    const layoutBytes = Number((await fetch(`${client.baseUrl}/v1/events/${eventId}/seats/layout`).then((r) => r.text())).length);
    const extraCpu = withBuyers.serviceCpuSeconds / withBuyers.seconds - quiet.serviceCpuSeconds / quiet.seconds;
    const cpuPerRefresh = withBuyers.stateRequests ? Math.round((extraCpu * withBuyers.seconds * 1e6) / withBuyers.stateRequests) : 0;

    const longestCall = await longestCalls(redis, client);
    log(`  seat-map Redis calls at 100,000 seats: whole-map read ${JSON.stringify(longestCall.wholeMap)}, change-log reads ${JSON.stringify(longestCall.changes)}`);
    return {
      seats: 60_000,
      buyers: BUYERS,
      layoutBytes,
      quiet,
      looking: withBuyers,
      serviceCpuUsPerStateRefresh: cpuPerRefresh,
      longestCall,
      loadAverage: { before: loadBefore, after: loadavg().map((x) => round(x, 2)) },
    };
  } finally {
    redis.disconnect();
    await service.stop().catch(() => undefined);
    await server.cleanup();
  }
}

/** The result as a Markdown section (bench/results/seatmap-summary.md). */
export function seatMapMarkdown(r: SeatMapResult, when: string): string {
  const row = (name: string, q: string | number, l: string | number, target = '') => `| ${name} | ${q} | ${l} | ${target} |`;
  return [
    `# Seat map bench (${when})`,
    '',
    `A ${r.seats.toLocaleString('en')}-seat layout event on one replica (\`node dist/main.js\`, its own redis-server); ${r.buyers} admitted buyers following the page's pattern ` +
      `(the layout once, ${(r.layoutBytes / 1024 / 1024).toFixed(2)} MiB; then the compact state every 5 s with If-None-Match) while ${PAIRS_PER_SECOND} holds of 2 seats and their confirms a second go on. ` +
      `Two windows of ${r.quiet.seconds} s with the same writes. Load average before ${r.loadAverage.before.join(' / ')}, after ${r.loadAverage.after.join(' / ')} (2 cores shared with other work).`,
    '',
    '| figure | nobody looking | buyers looking | target |',
    '|---|---|---|---|',
    row('Redis calls/s for seat reading (seatChanges + seatChunk)', r.quiet.seatReadCallsPerSecond, r.looking.seatReadCallsPerSecond, '≤ 2'),
    row('EVALSHA/s on Redis (writes included)', r.quiet.evalshaPerSecond, r.looking.evalshaPerSecond),
    row('state requests (304 among them)', '—', `${r.looking.stateRequests} (${r.looking.state304})`),
    row('bytes per state refresh (mean / max of 200s)', '—', `${r.looking.stateBytesMean} / ${r.looking.stateBytesMax}`, '≤ 32 KB'),
    row('state request p99, ms', '—', r.looking.stateP99Ms),
    row('service CPU per state refresh, µs', '—', r.serviceCpuUsPerStateRefresh),
    row('service CPU, s', r.quiet.serviceCpuSeconds, r.looking.serviceCpuSeconds),
    row('holds: count, p50 / p99 ms', `${r.quiet.holds}, ${r.quiet.holdP50Ms} / ${r.quiet.holdP99Ms}`, `${r.looking.holds}, ${r.looking.holdP50Ms} / ${r.looking.holdP99Ms}`, 'p99 ± 10 %'),
    row('confirms: count, p99 ms', `${r.quiet.confirms}, ${r.quiet.confirmP99Ms}`, `${r.looking.confirms}, ${r.looking.confirmP99Ms}`, 'p99 ± 10 %'),
    '',
    `Seat-map script calls at ${r.longestCall.seats.toLocaleString('en')} seats (SLOWLOG, threshold ${r.longestCall.thresholdUs} µs; Redis CPU per call from INFO cpu, which other load does not inflate; target: no call over 5 ms):`,
    '',
    '| read | calls | median µs | p90 µs | longest µs | Redis CPU µs per call | over 5 ms |',
    '|---|---|---|---|---|---|---|',
    ...([['whole map (seatChunk, 250 seats a call)', r.longestCall.wholeMap], [`change log (seatChanges, ${r.longestCall.changesEntriesPerCall} entries of 20 seats a call)`, r.longestCall.changes]] as [string, CallFigures][]).map(
      ([name, c]) => `| ${name} | ${c.calls} | ${c.medianUs} | ${c.p90Us} | ${c.maxUs} | ${c.redisCpuUsPerCall} | ${c.over5ms} |`,
    ),
    '',
    'GET .../seats with any filter runs no Redis call at all (answered from the snapshot).',
    '',
  ].join('\n');
}

if (require.main === module) {
  runSeatMap(console.log)
    .then((r) => console.log(JSON.stringify(r, null, 2)))
    .catch((err: Error) => {
      console.error(err.stack ?? err.message);
      process.exit(1);
    });
}

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
 *    change-log read of the most entries one call takes (500 holds of 20 seats).
 */
import Redis from 'ioredis';
import { startRedis } from '../test/support/redis-harness';
import { Client, inParallel, sleep } from './lib/http';
import { commandStats, diffStats, scriptShas } from './lib/redis-stats';
import { serviceProcess } from './lib/service';

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

export interface SeatMapResult {
  seats: number;
  buyers: number;
  layoutBytes: number;
  quiet: SeatMapWindow;
  looking: SeatMapWindow;
  /** (CPU looking - CPU quiet) / state requests, µs */
  serviceCpuUsPerStateRefresh: number;
  longestCall: { seats: number; wholeMapUs: number; wholeMapCalls: number; changesUs: number; changesEntries: number; over5ms: number; thresholdUs: number };
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

/** Each buyer: the layout once (by `layoutBy` ms), then the state every STATE_EVERY_MS with If-None-Match, until stopped. */
function buyersLooking(client: Client, eventId: string, buyers: number, layoutBy: number) {
  let running = true;
  let measuring = false;
  const state = { requests: 0, notModified: 0, bytes: [] as number[], ms: [] as number[] };
  let layoutBytes = 0;
  const loops = Array.from({ length: buyers }, async (_, i) => {
    await sleep((i / buyers) * layoutBy);
    const layout = await fetch(`${client.baseUrl}/v1/events/${eventId}/seats/layout`);
    const text = await layout.text(); // the page parses it once; the bench only needs its size
    layoutBytes = text.length;
    let etag = '';
    await sleep(Math.random() * STATE_EVERY_MS);
    while (running) {
      const t = performance.now();
      const r = await fetch(`${client.baseUrl}/v1/events/${eventId}/seats/state`, { headers: etag ? { 'if-none-match': etag } : {} });
      const body = await r.text();
      if (measuring) {
        state.requests += 1;
        state.ms.push(performance.now() - t);
        if (r.status === 304) state.notModified += 1;
        else state.bytes.push(Buffer.byteLength(body));
      }
      if (r.status === 200) etag = r.headers.get('etag') ?? '';
      else if (r.status !== 304) throw new Error(`state: ${r.status} ${body}`);
      await sleep(STATE_EVERY_MS);
    }
  });
  return {
    measure: () => (measuring = true),
    stop: async () => {
      measuring = false;
      running = false;
      await Promise.all(loops);
      return { state, layoutBytes };
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
  const seen = looking ? await looking.stop() : undefined;
  const { hold, confirm } = await write.stop();
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

/** Longest seat-map script call at 100,000 seats: a whole-map read, then the largest change-log read. */
async function longestCalls(redis: Redis, client: Client): Promise<SeatMapResult['longestCall']> {
  const eventId = 'bench-seatmap-100k';
  await client.adminExpect(201, 'POST', '/v1/events', { eventId, layout: venue(10, 100, 100), maxSeatsPerUser: 20, holdTtlSeconds: 3600, admission: { ratePerSecond: 100_000, maxActive: 100_000, sessionTtlSeconds: 3600 } });
  const auths = await admit(client, eventId, Array.from({ length: 500 }, (_, i) => `big-${i}`));
  const shas = scriptShas();
  const seatCalls = async () => {
    const log = (await redis.slowlog('GET', 1_000_000)) as [number, number, number, string[]][];
    return log.filter((e) => /^evalsha$/i.test(String(e[3][0])) && SEAT_SCRIPTS.includes(shas.get(String(e[3][1])) ?? '')).map((e) => e[2]);
  };
  await redis.slowlog('RESET');
  const r = await client.request('GET', `/v1/events/${eventId}/seats/state`);
  if (r.status !== 200) throw new Error(`state: ${r.status}`);
  const whole = await seatCalls();
  // Nobody looks for SNAPSHOT_IDLE_MS: no refresh; then 500 holds of 20 seats, then one read.
  await sleep(6000);
  await inParallel(auths.length, 20, async (i) => {
    const h = await client.request('POST', `/v1/events/${eventId}/holds`, { quantity: 20 }, auths[i]);
    if (h.status !== 201) throw new Error(`hold: ${h.status} ${JSON.stringify(h.body)}`);
  });
  await redis.slowlog('RESET');
  const after = await client.request('GET', `/v1/events/${eventId}/seats/state`);
  if (after.body.held !== 10_000) throw new Error(`expected 10,000 held, read ${after.body.held}`);
  const changes = await seatCalls();
  const all = [...whole, ...changes];
  return {
    seats: 100_000,
    wholeMapUs: Math.max(0, ...whole),
    wholeMapCalls: 100,
    changesUs: Math.max(0, ...changes),
    changesEntries: 500,
    over5ms: all.filter((us) => us > 5000).length,
    thresholdUs: SLOWLOG_THRESHOLD_US,
  };
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
    log(`  longest seat-map Redis call at 100,000 seats: whole-map chunk ${longestCall.wholeMapUs} µs, change-log read of 500 entries ${longestCall.changesUs} µs`);
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
    `Longest single Redis call of the seat-map scripts at ${r.longestCall.seats.toLocaleString('en')} seats (SLOWLOG, threshold ${r.longestCall.thresholdUs} µs): ` +
      `whole-map read (seatChunk, ${r.longestCall.wholeMapCalls} calls of 1,000 seats) ${(r.longestCall.wholeMapUs / 1000).toFixed(2)} ms; ` +
      `change-log read of ${r.longestCall.changesEntries} entries of 20 seats (seatChanges) ${(r.longestCall.changesUs / 1000).toFixed(2)} ms; calls over 5 ms: ${r.longestCall.over5ms} (target ≤ 5 ms). ` +
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

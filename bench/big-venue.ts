/**
 * Step 4 of the bench (`venue`): the longest single Redis command while a
 * 100,000-seat event is created (one POST of 100,000 named seats) and
 * audited, and the join latency of another event on the same Redis meanwhile.
 * Creation and audit run in bounded chunks (CONTRACT v1.1): no call should
 * block Redis for more than a few milliseconds. The service runs as `node
 * dist/main.js` against a redis-server of its own; SLOWLOG records every
 * command over SLOWLOG_THRESHOLD_US (a lower threshold would log every command
 * run inside a script too and slow the scripts down).
 */
import Redis from 'ioredis';
import { startRedis } from '../test/support/redis-harness';
import { Client } from './lib/http';
import { commandStats, diffStats, redisCpuSeconds } from './lib/redis-stats';
import { serviceProcess } from './lib/service';

const SEATS = 100_000;
const SLOWLOG_THRESHOLD_US = 100;

export interface PhaseFigures {
  /** wall time of the HTTP request, ms */
  requestMs: number;
  /** longest single command Redis ran in the phase (SLOWLOG), µs, and its name */
  longestCommandUs: number;
  longestCommand: string;
  /** script calls over the SLOWLOG threshold (every chunk call): median and 90th percentile, µs; robust to another process taking the CPU now and then */
  scriptCallMedianUs: number;
  scriptCallP90Us: number;
  /** commands that took over 5 ms */
  commandsOver5ms: number;
  /** longest command that is not a script: how much of the above is the machine, not the work */
  longestPlainCommandUs: number;
  /** script calls in the phase, and Redis CPU time (user + sys) per call, µs: unaffected by other load */
  scriptCalls: number;
  redisCpuUsPerScriptCall: number;
  /** joins to the other event answered during the phase: count, max and p99 latency (ms) */
  joins: number;
  joinMaxMs: number;
  joinP99Ms: number;
}

export interface BigVenueResult {
  seats: number;
  bodyBytes: number;
  create: PhaseFigures;
  audit: PhaseFigures & { ok: boolean; totalsChecked: boolean };
  slowlogThresholdUs: number;
}

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] : 0;
};

/** Sequential joins (new user each) on `eventId` until `stop()`; returns their latencies. */
let sideUsers = 0;
function joinLoop(client: Client, eventId: string) {
  let running = true;
  const times: number[] = [];
  const done = (async () => {
    while (running) {
      const started = performance.now();
      const r = await client.request('POST', `/v1/events/${eventId}/queue`, { userId: `side-${(sideUsers += 1)}` });
      if (r.status !== 202) throw new Error(`side join: ${r.status} ${JSON.stringify(r.body)}`);
      times.push(performance.now() - started);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await done;
      return times;
    },
  };
}

async function phase(redis: Redis, client: Client, sideEvent: string, work: () => Promise<number>): Promise<PhaseFigures> {
  await redis.slowlog('RESET');
  const statsBefore = await commandStats(redis);
  const cpuBefore = await redisCpuSeconds(redis);
  const joins = joinLoop(client, sideEvent);
  const requestMs = await work();
  const times = await joins.stop();
  const cpu = (await redisCpuSeconds(redis)) - cpuBefore;
  const calls = diffStats(await commandStats(redis), statsBefore).evalsha?.calls ?? 0;
  const log = (await redis.slowlog('GET', 1_000_000)) as [number, number, number, string[]][];
  const own = new Set(['slowlog', 'info', 'config']);
  const entries = log.filter((e) => !own.has(String(e[3][0]).toLowerCase()));
  const scriptTimes = entries.filter((e) => /^eval/i.test(String(e[3][0]))).map((e) => e[2]);
  const longest = entries.reduce<[number, number, number, string[]] | undefined>((a, e) => (!a || e[2] > a[2] ? e : a), undefined);
  return {
    requestMs: Math.round(requestMs),
    longestCommandUs: longest?.[2] ?? 0,
    longestCommand: longest ? String(longest[3][0]).toLowerCase() : '(none over the threshold)',
    scriptCallMedianUs: percentile(scriptTimes, 50),
    scriptCallP90Us: percentile(scriptTimes, 90),
    commandsOver5ms: entries.filter((e) => e[2] > 5000).length,
    longestPlainCommandUs: Math.max(0, ...entries.filter((e) => !/^eval/i.test(String(e[3][0]))).map((e) => e[2])),
    scriptCalls: calls,
    redisCpuUsPerScriptCall: calls ? Math.round((cpu * 1e6) / calls) : 0,
    joins: times.length,
    joinMaxMs: Math.round(Math.max(0, ...times) * 10) / 10,
    joinP99Ms: Math.round(percentile(times, 99) * 10) / 10,
  };
}

const ms = (us: number) => (us / 1000).toFixed(2);
const describe = (p: PhaseFigures) =>
  `${p.requestMs} ms; longest Redis command ${ms(p.longestCommandUs)} ms (${p.longestCommand}; longest plain command ${ms(p.longestPlainCommandUs)} ms), ` +
  `script calls median ${ms(p.scriptCallMedianUs)} ms, p90 ${ms(p.scriptCallP90Us)} ms, ` +
  `${p.scriptCalls} script calls at ${ms(p.redisCpuUsPerScriptCall)} ms Redis CPU each; side joins ${p.joins}, max ${p.joinMaxMs} ms`;

export async function runBigVenue(log: (line: string) => void): Promise<BigVenueResult> {
  const server = await startRedis(['--appendonly', 'no', '--slowlog-log-slower-than', String(SLOWLOG_THRESHOLD_US), '--slowlog-max-len', '100000']);
  const redis = server.client() as Redis;
  const service = await serviceProcess('venue-service', { REDIS_URL: server.url });
  try {
    await service.start('/health/ready');
    const client = new Client(service.url);
    const sideEvent = 'bench-venue-side';
    await client.adminExpect(201, 'POST', '/v1/events', { eventId: sideEvent, capacity: 10, admission: { ratePerSecond: 1 } });
    const body = {
      eventId: 'bench-venue-100k',
      seats: Array.from({ length: SEATS }, (_, i) => `seat-${String(i + 1).padStart(6, '0')}`),
      admission: { ratePerSecond: 1000 },
    };
    const bodyBytes = JSON.stringify(body).length;
    log(`▶ big venue: ${SEATS.toLocaleString('en')} named seats in one POST (${(bodyBytes / 1024 / 1024).toFixed(2)} MiB), then the audit; joins on another event meanwhile`);
    const create = await phase(redis, client, sideEvent, async () => {
      const started = performance.now();
      await client.adminExpect(201, 'POST', '/v1/events', body);
      return performance.now() - started;
    });
    log(`  create: ${describe(create)}`);
    let ok = false;
    let totalsChecked = false;
    const audit = await phase(redis, client, sideEvent, async () => {
      const started = performance.now();
      const r = await client.adminExpect<{ ok: boolean; totalsChecked: boolean }>(200, 'GET', `/v1/events/${body.eventId}/audit`);
      ok = r.ok;
      totalsChecked = r.totalsChecked;
      return performance.now() - started;
    });
    log(`  audit (ok ${ok}): ${describe(audit)}`);
    return { seats: SEATS, bodyBytes, create, audit: { ...audit, ok, totalsChecked }, slowlogThresholdUs: SLOWLOG_THRESHOLD_US };
  } finally {
    redis.disconnect();
    await service.stop().catch(() => undefined);
    await server.cleanup();
  }
}

if (require.main === module) {
  runBigVenue(console.log)
    .then((r) => console.log(JSON.stringify(r, null, 2)))
    .catch((err: Error) => {
      console.error(err.stack ?? err.message);
      process.exit(1);
    });
}

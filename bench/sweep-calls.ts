/**
 * Step `sweep` of the bench: the longest single Redis call the sweeper makes
 * (CONTRACT: no call blocks a shard for more than ~5 ms), on the service as it
 * runs (`node dist/main.js`, its own redis-server, SLOWLOG recording every
 * command over SLOWLOG_THRESHOLD_US):
 *
 *  - the lost-record check with 10,000 live one-seat holds on a 100,000-seat
 *    event: its claim, the ZSCAN of the live-hold index and the EXISTS of a
 *    chunk of records, and reclaimHold for 20 records deleted by hand;
 *  - the sweep of holds falling due together: the same 10,000 one-seat holds,
 *    and 500 holds of 20 seats side by side (`together`, the most a user may
 *    hold) on a 100,000-seat layout, where each seat's return also moves the
 *    row's free flags and run index. The service is stopped first and the
 *    sweep script called with the sweeper's limits, each call timed alone.
 */
import Redis from 'ioredis';
import { startRedis } from '../test/support/redis-harness';
import { admittedUsers } from './http-scenarios';
import { KEY_PREFIX } from './lib/config';
import { Client, inParallel, sleep } from './lib/http';
import { redisCpuSeconds, scriptShas } from './lib/redis-stats';
import { KeyBuilder } from '../src/redis/keys';
import { seatKeys } from '../src/seat/seat.repository';
import { SWEEP_LIMIT, SWEEP_MAX_SEATS } from '../src/seat/sweeper';
import { Cleanup, startService } from './lib/service';

const SLOWLOG_THRESHOLD_US = 100;
const SEATS = 100_000;
const ONE_SEAT_HOLDS = 10_000;
const WIDE_HOLDS = 500;
const WIDE = 20;
const GA_EVENT = 'bench-sweep-ga';
const LAYOUT_EVENT = 'bench-sweep-layout';

/** The longest call of one kind: µs, and how many calls of it went over the SLOWLOG threshold. */
export interface LongestCall {
  us: number;
  overThreshold: number;
}

export interface SweepCallsResult {
  liveHolds: number;
  slowlogThresholdUs: number;
  /** the lost-record check: by command or script (claimRecordCheck, zscan, exists, reclaimHold) */
  recordCheck: Record<string, LongestCall>;
  /** seats of the 20 deleted records back on sale after, ms (the service's clock, polled every 20 ms) */
  reclaimedWithinMs: number;
  /** the sweep of the due holds: one-seat holds (GA) and 20-seat holds (layout) */
  sweep: { oneSeat: SweepCalls; twentySeats: SweepCalls };
}

/** Sweep calls with the sweeper's limits until nothing was due, each timed alone. */
export interface SweepCalls {
  calls: number;
  holds: number;
  /** longest call, µs of Redis wall clock (commandstats) */
  longestUs: number;
  /** longest call, µs of Redis CPU (INFO cpu) */
  longestCpuUs: number;
}

async function evalshaStats(redis: Redis): Promise<{ usec: number; cpu: number }> {
  const m = /^cmdstat_evalsha:calls=\d+,usec=(\d+)/m.exec(await redis.info('commandstats'));
  return { usec: Number(m?.[1] ?? 0), cpu: (await redisCpuSeconds(redis)) * 1e6 };
}

type SlowEntry = [number, number, number, string[]];

/** The longest SLOWLOG entry per name (script name for EVALSHA, else the command), for keys matching `keyPart`. */
function longestByName(entries: SlowEntry[], keyPart: string): Map<string, LongestCall> {
  const names = scriptShas();
  const out = new Map<string, LongestCall>();
  for (const [, , us, args] of entries) {
    const command = String(args[0]).toLowerCase();
    if (!args.some((a) => String(a).includes(keyPart))) continue;
    const name = command === 'evalsha' ? (names.get(String(args[1])) ?? 'evalsha') : command;
    const seen = out.get(name) ?? { us: 0, overThreshold: 0 };
    out.set(name, { us: Math.max(seen.us, us), overThreshold: seen.overThreshold + 1 });
  }
  return out;
}

const OWN = new Set(['slowlog', 'info', 'config', 'client']);
async function slowlog(redis: Redis): Promise<SlowEntry[]> {
  const log = (await redis.slowlog('GET', 1_000_000)) as SlowEntry[];
  return log.filter((e) => !OWN.has(String(e[3][0]).toLowerCase()));
}

export async function runSweepCalls(log: (line: string) => void, cleanups: Cleanup[]): Promise<SweepCallsResult> {
  const server = await startRedis(['--appendonly', 'no', '--slowlog-log-slower-than', String(SLOWLOG_THRESHOLD_US), '--slowlog-max-len', '100000']);
  cleanups.push(() => server.cleanup());
  const redis = server.client() as Redis;
  cleanups.push(async () => void redis.disconnect());
  const service = await startService('sweep-service', { REDIS_URL: server.url }, cleanups);
  const client = new Client(service.url);
  const admission = { ratePerSecond: 100_000, maxActive: 1_000_000, sessionTtlSeconds: 3600 };
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const held = async (eventId: string) => (await client.request('GET', `/v1/events/${eventId}`)).body.held as number;

  log(`▶ sweeper calls: ${ONE_SEAT_HOLDS.toLocaleString('en')} live one-seat holds on a ${SEATS.toLocaleString('en')}-seat event, ${WIDE_HOLDS} holds of ${WIDE} seats on a ${SEATS.toLocaleString('en')}-seat layout`);
  const levels = ['LOWER', 'MIDDLE', 'UPPER'];
  const sections = Array.from({ length: 100 }, (_, s) => ({
    sectionId: `S${s + 1}`,
    priceLevel: levels[s % 3],
    rows: Array.from({ length: 25 }, (_, r) => ({ rowId: String(r + 1), seats: 40 })),
  }));
  await client.adminExpect(201, 'POST', '/v1/events', { eventId: GA_EVENT, capacity: SEATS, maxSeatsPerUser: 20, holdTtlSeconds: 60, admission });
  await client.adminExpect(201, 'POST', '/v1/events', {
    eventId: LAYOUT_EVENT,
    layout: { priceLevels: levels.map((priceLevel, i) => ({ priceLevel, price: 9000 - 3000 * i, currency: 'EUR' })), sections },
    maxSeatsPerUser: WIDE,
    holdTtlSeconds: 60,
    admission,
  });
  const gaUsers = await admittedUsers(client, GA_EVENT, 'ga', ONE_SEAT_HOLDS / 20);
  const wideUsers = await admittedUsers(client, LAYOUT_EVENT, 'wide', WIDE_HOLDS);
  const holdIds = await inParallel(ONE_SEAT_HOLDS, 50, async (i) => {
    const r = await client.request('POST', `/v1/events/${GA_EVENT}/holds`, { quantity: 1 }, bearer(gaUsers[i % gaUsers.length].token));
    if (r.status !== 201) throw new Error(`hold: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.holdId as string;
  });
  await inParallel(WIDE_HOLDS, 50, async (i) => {
    const r = await client.request('POST', `/v1/events/${LAYOUT_EVENT}/holds`, { quantity: WIDE, together: true }, bearer(wideUsers[i].token));
    if (r.status !== 201) throw new Error(`wide hold: ${r.status} ${JSON.stringify(r.body)}`);
  });
  const [gaExpiry, layoutExpiry] = await Promise.all(
    [GA_EVENT, LAYOUT_EVENT].map(async (id) => Number((await redis.zrange(`${KEY_PREFIX}{${id}}:holds`, -1, -1, 'WITHSCORES'))[1])),
  );
  if (!gaExpiry || !layoutExpiry) throw new Error('no live holds found');

  // The lost-record check, with every hold live: three seconds of passes, then 20 records deleted.
  await redis.slowlog('RESET');
  await sleep(3000);
  const lost = holdIds.slice(0, 20).map((id) => `${KEY_PREFIX}{${GA_EVENT}}:hold:${id}`);
  const heldBefore = await held(GA_EVENT);
  await redis.del(...lost);
  const deletedAt = performance.now();
  while ((await held(GA_EVENT)) > heldBefore - 20) {
    if (performance.now() - deletedAt > 10_000) throw new Error('the seats of deleted records did not come back within 10 s');
    await sleep(20);
  }
  const reclaimedWithinMs = Math.round(performance.now() - deletedAt);
  await sleep(1000);
  const check = longestByName(await slowlog(redis), `{${GA_EVENT}}`);
  const recordCheck = Object.fromEntries(['claimRecordCheck', 'zscan', 'exists', 'reclaimHold'].map((n) => [n, check.get(n) ?? { us: 0, overThreshold: 0 }]));
  log(`  lost-record check: ${Object.entries(recordCheck).map(([n, c]) => `${n} ${c.us} µs`).join(', ')}; 20 deleted records' seats back in ${reclaimedWithinMs} ms`);

  // The sweep: every hold falls due. The service stops first, so that each
  // call is timed alone: the sweep script with the sweeper's own limits, called
  // until nothing is due, Redis time per call from INFO commandstats (wall
  // clock inside Redis) and INFO cpu (Redis CPU: unaffected by other load).
  await service.stop();
  const now = async () => {
    const [sec, us] = await redis.time();
    return Number(sec) * 1000 + Math.floor(Number(us) / 1000);
  };
  await sleep(Math.max(0, Math.max(gaExpiry, layoutExpiry) - (await now()) + 100));
  const keys = new KeyBuilder({ keyPrefix: KEY_PREFIX } as never);
  const sweepSha = [...scriptShas()].find(([, name]) => name === 'sweep')![0];
  const timed = async (eventId: string): Promise<SweepCalls> => {
    const out: SweepCalls = { calls: 0, holds: 0, longestUs: 0, longestCpuUs: 0 };
    const k = seatKeys(keys.event(eventId));
    for (;;) {
      const before = await evalshaStats(redis);
      const r = (await redis.evalsha(sweepSha, k.length, ...k, SWEEP_LIMIT, SWEEP_MAX_SEATS)) as [string, number, number, number];
      const after = await evalshaStats(redis);
      if (r[0] !== 'OK') throw new Error(`sweep ${eventId}: ${JSON.stringify(r)}`);
      out.calls += 1;
      out.holds += r[1];
      out.longestUs = Math.max(out.longestUs, after.usec - before.usec);
      out.longestCpuUs = Math.max(out.longestCpuUs, Math.round(after.cpu - before.cpu));
      if (r[3] === 0) return out;
    }
  };
  const sweep = { oneSeat: await timed(GA_EVENT), twentySeats: await timed(LAYOUT_EVENT) };
  log(
    `  sweep of due holds (${SWEEP_LIMIT} holds, about ${SWEEP_MAX_SEATS} seats a call): ` +
      `${sweep.oneSeat.holds} one-seat holds in ${sweep.oneSeat.calls} calls, longest ${sweep.oneSeat.longestUs} µs (Redis CPU ${sweep.oneSeat.longestCpuUs} µs); ` +
      `${sweep.twentySeats.holds} holds of ${WIDE} seats (layout) in ${sweep.twentySeats.calls} calls, longest ${sweep.twentySeats.longestUs} µs (Redis CPU ${sweep.twentySeats.longestCpuUs} µs)`,
  );
  return { liveHolds: ONE_SEAT_HOLDS, slowlogThresholdUs: SLOWLOG_THRESHOLD_US, recordCheck, reclaimedWithinMs, sweep };
}

if (require.main === module) {
  const cleanups: Cleanup[] = [];
  runSweepCalls(console.log, cleanups)
    .then((r) => console.log(JSON.stringify(r, null, 2)))
    .catch((err: Error) => {
      console.error(err.stack ?? err.message);
      process.exitCode = 1;
    })
    .finally(async () => {
      while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
    });
}

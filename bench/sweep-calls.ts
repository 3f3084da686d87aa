/**
 * Step `sweep` of the bench: the longest single Redis call the sweeper makes
 * (CONTRACT: no call blocks a shard for more than ~5 ms), on the service as it
 * runs (`node dist/main.js`, its own redis-server, SLOWLOG recording every
 * command over SLOWLOG_THRESHOLD_US):
 *
 *  - the lost-record check with 10,000 live one-seat holds on a 100,000-seat
 *    event: its claim, the ZRANGE (by expiry) of the live-hold index and the EXISTS of a
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
import { commandStats, diffStats, redisCpuSeconds, scriptShas } from './lib/redis-stats';
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
  /** the lost-record check: by command or script (claimRecordCheck, zrange, exists, reclaimHold) */
  recordCheck: Record<string, LongestCall>;
  /** Redis µs per call of the check's plain commands over the whole phase (commandstats): the typical call */
  recordCheckMeanUs: Record<string, number>;
  /** seats of the 20 deleted records back on sale after, ms (the event's held counter, polled every 20 ms) */
  reclaimedWithinMs: number;
  /** the sweep of the due holds: one-seat holds (GA) and 20-seat holds (layout) */
  sweep: { oneSeat: SweepCalls; twentySeats: SweepCalls };
  /** as many calls of a script that does nothing: what the machine adds to a longest call */
  noiseFloor: SweepCalls;
}

/** Sweep calls with the sweeper's limits until nothing was due, each timed alone. */
export interface SweepCalls {
  calls: number;
  holds: number;
  /** longest and mean call, µs of Redis wall clock (commandstats) */
  longestUs: number;
  meanUs: number;
  /** Redis CPU per call, µs (INFO cpu over all the calls) */
  cpuUsPerCall: number;
}

async function evalshaUsec(redis: Redis): Promise<number> {
  return (await commandStats(redis)).evalsha?.usec ?? 0;
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
  const held = async (eventId: string) => Number(await redis.hget(`${KEY_PREFIX}{${eventId}}:meta`, 'held'));

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
  const statsBefore = await commandStats(redis);
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
  const phase = diffStats(await commandStats(redis), statsBefore);
  const recordCheckMeanUs = Object.fromEntries(['zrange', 'exists'].map((c) => [c, phase[c] ? Math.round(phase[c].usec / phase[c].calls) : 0]));
  const recordCheck = Object.fromEntries(['claimRecordCheck', 'zrange', 'exists', 'reclaimHold'].map((n) => [n, check.get(n) ?? { us: 0, overThreshold: 0 }]));
  log(
    `  lost-record check: longest ${Object.entries(recordCheck).map(([n, c]) => `${n} ${c.us} µs`).join(', ')}; ` +
      `mean ${Object.entries(recordCheckMeanUs).map(([n, us]) => `${n} ${us} µs`).join(', ')}; 20 deleted records' seats back in ${reclaimedWithinMs} ms`,
  );

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
  /** Calls `call` until it says stop, each timed alone; the CPU per call is the mean (getrusage ticks are coarser than one call). */
  const timed = async (call: () => Promise<{ holds: number; more: boolean }>): Promise<SweepCalls> => {
    const out: SweepCalls = { calls: 0, holds: 0, longestUs: 0, meanUs: 0, cpuUsPerCall: 0 };
    const cpuBefore = await redisCpuSeconds(redis);
    let usec = 0;
    for (let more = true; more; ) {
      const before = await evalshaUsec(redis);
      const r = await call();
      const us = (await evalshaUsec(redis)) - before;
      usec += us;
      out.calls += 1;
      out.holds += r.holds;
      out.longestUs = Math.max(out.longestUs, us);
      more = r.more;
    }
    // INFO itself costs Redis a little CPU too: two per call, left in (an upper bound).
    out.cpuUsPerCall = Math.round((((await redisCpuSeconds(redis)) - cpuBefore) * 1e6) / out.calls);
    out.meanUs = Math.round(usec / out.calls);
    return out;
  };
  const sweepOf = (eventId: string) => {
    const k = seatKeys(keys.event(eventId));
    return async () => {
      const r = (await redis.evalsha(sweepSha, k.length, ...k, SWEEP_LIMIT, SWEEP_MAX_SEATS)) as [string, number, number, number];
      if (r[0] !== 'OK') throw new Error(`sweep ${eventId}: ${JSON.stringify(r)}`);
      return { holds: r[1], more: r[3] > 0 };
    };
  };
  const sweep = { oneSeat: await timed(sweepOf(GA_EVENT)), twentySeats: await timed(sweepOf(LAYOUT_EVENT)) };
  // The machine's noise floor: as many calls of a script that does nothing.
  const nothing = (await redis.script('LOAD', 'return 0')) as string;
  let left = sweep.oneSeat.calls + sweep.twentySeats.calls;
  const noiseFloor = await timed(async () => {
    await redis.evalsha(nothing, 0);
    return { holds: 0, more: (left -= 1) > 0 };
  });
  const line = (c: SweepCalls) => `${c.holds} holds in ${c.calls} calls, longest ${c.longestUs} µs, mean ${c.meanUs} µs, Redis CPU ${c.cpuUsPerCall} µs a call`;
  log(`  sweep of due holds (${SWEEP_LIMIT} holds, about ${SWEEP_MAX_SEATS} seats a call): one-seat: ${line(sweep.oneSeat)}; ${WIDE}-seat, layout: ${line(sweep.twentySeats)}`);
  log(`  noise floor (a script that does nothing, as many calls): longest ${noiseFloor.longestUs} µs, mean ${noiseFloor.meanUs} µs`);
  return { liveHolds: ONE_SEAT_HOLDS, slowlogThresholdUs: SLOWLOG_THRESHOLD_US, recordCheck, recordCheckMeanUs, reclaimedWithinMs, sweep, noiseFloor };
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

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
 *    row's free flags and run index.
 */
import Redis from 'ioredis';
import { startRedis } from '../test/support/redis-harness';
import { admittedUsers } from './http-scenarios';
import { KEY_PREFIX } from './lib/config';
import { Client, inParallel, sleep } from './lib/http';
import { scriptShas } from './lib/redis-stats';
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
  /** sweep calls while the holds fell due: one-seat holds (GA) and 20-seat holds (layout) */
  sweep: { oneSeat: LongestCall; twentySeats: LongestCall };
  /** every command over the threshold while due holds went back, the sweep's included */
  longestWhileSweepingUs: number;
  longestWhileSweeping: string;
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

  // The sweep: every hold falls due; the service's sweeper puts them back, SWEEP_LIMIT holds a call.
  const now = async () => Number((await redis.time())[0]) * 1000;
  await sleep(Math.max(0, Math.min(gaExpiry, layoutExpiry) - (await now()) - 500));
  await redis.slowlog('RESET');
  while ((await held(GA_EVENT)) + (await held(LAYOUT_EVENT)) > 0) {
    if ((await now()) > Math.max(gaExpiry, layoutExpiry) + 30_000) throw new Error('due holds still held 30 s after their expiry');
    await sleep(100);
  }
  const entries = await slowlog(redis);
  const none = { us: 0, overThreshold: 0 };
  const sweep = {
    oneSeat: longestByName(entries, `{${GA_EVENT}}`).get('sweep') ?? none,
    twentySeats: longestByName(entries, `{${LAYOUT_EVENT}}`).get('sweep') ?? none,
  };
  const names = scriptShas();
  const longest = entries.reduce<SlowEntry | undefined>((a, e) => (!a || e[2] > a[2] ? e : a), undefined);
  const longestName = longest ? (String(longest[3][0]).toLowerCase() === 'evalsha' ? names.get(String(longest[3][1])) ?? 'evalsha' : String(longest[3][0]).toLowerCase()) : '(none)';
  log(`  sweep of due holds: longest call ${sweep.oneSeat.us} µs (one-seat holds), ${sweep.twentySeats.us} µs (${WIDE}-seat holds, layout); longest command meanwhile ${longest?.[2] ?? 0} µs (${longestName})`);
  return {
    liveHolds: ONE_SEAT_HOLDS,
    slowlogThresholdUs: SLOWLOG_THRESHOLD_US,
    recordCheck,
    reclaimedWithinMs,
    sweep,
    longestWhileSweepingUs: longest?.[2] ?? 0,
    longestWhileSweeping: longestName,
  };
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

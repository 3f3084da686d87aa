import { existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type Redis from 'ioredis';
import { Client, inParallel, sleep } from './lib/http';
import { Ctx, Histogram, LoadResult, LoadSpec, runLoad, SliceResult, Step } from './lib/load';
import { profileMarkdown, ProfileSummary, summarizeProfile } from './lib/profile-summary';
import { ServerProcess } from './lib/processes';
import {
  auditRoundTrips,
  callFigures,
  CommandStats,
  commandStats,
  diffStats,
  RedisCallFigures,
  redisCpuSeconds,
  RoundTripAudit,
} from './lib/redis-stats';
import { RESULTS_DIR, settings, wanted } from './lib/config';

/** Event ids: every run starts its own redis-server, so fixed names never collide. */
export const EV = {
  ceiling: 'bench-ceiling',
  join: 'bench-join-streams',
  joinZset: 'bench-join-zset',
  poll: 'bench-poll',
  hold: 'bench-hold',
  holdRelease: 'bench-hold-release',
  dupLua: 'bench-dup-lua',
  dupWatch: 'bench-dup-watch',
  mixed: 'bench-mixed',
  venue: 'bench-venue',
  assign: 'bench-aws-assign',
  compatPoll: 'bench-aws-poll',
} as const;

const BIG_ADMISSION = { ratePerSecond: 100_000, maxActive: 1_000_000, sessionTtlSeconds: 3600 };
const HOLD_USERS = 2000;
const HOLD_RELEASE_USERS = 1000;
const MIXED_USERS = 2000;
const POLL_TICKETS = 10_000;
/** AWS-compatible request ids polled by the compat-poll scenario. */
const COMPAT_POLL_IDS = 2000;
const MIXED_TICKETS = 10_000;
const DUP_USERS = 10;
/** The venue scenarios: 60,000 seats (60 sections x 25 rows x 40), 80 % sold at random before measuring. */
const VENUE_SOLD_SHARE = 0.8;
const VENUE_USERS = 1000;
/** Admission rate of the flash-crowd event while it is measured (users/s). */
const MIXED_ADMISSION_RATE = 1000;

export interface Admitted {
  userId: string;
  ticket: string;
  token: string;
}

interface Fixtures {
  pollTickets: string[];
  compatPollIds: string[];
  holdUsers: Admitted[];
  holdReleaseUsers: Admitted[];
  mixedUsers: Admitted[];
  mixedTickets: string[];
  venueUsers: Admitted[];
}

export interface ScenarioResult {
  name: string;
  title: string;
  server: 'service' | 'ceiling';
  description: string;
  load: LoadResult;
  redis: RedisCallFigures;
  /** percent of one core over the measured window; server CPU per request in µs (robust on a busy machine) */
  cpu: { serverPercent: number; redisPercent: number; loadGeneratorPercent: number; serverUsPerRequest: number; redisUsPerRequest: number };
}

export interface HttpResults {
  scenarios: ScenarioResult[];
  audits: Record<string, RoundTripAudit>;
  /** background commands per second while idle (admitter and sweeper ticks, flag refresh) */
  backgroundPerSecond: Record<string, number>;
  profiles: Record<string, ProfileSummary & { file: string }>;
  profileMarkdown: string[];
}

export interface HttpContext {
  service: ServerProcess;
  /** starts a ceiling server child (stopped by the caller) */
  startCeiling: () => Promise<ServerProcess>;
  client: Client;
  stats: Redis;
  shas: Map<string, string>;
  /** scenario names to profile in an extra, separately reported pass */
  profile: string[];
  log: (line: string) => void;
}

let counter = 0;
const uid = (prefix: string) => `${prefix}-${(counter += 1)}`;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

// --------------------------------------------------------------------------- set-up

async function createEvent(client: Client, eventId: string, body: Record<string, unknown>): Promise<void> {
  await client.adminExpect(201, 'POST', '/v1/events', { eventId, ...body });
}

async function joinMany(client: Client, eventId: string, userIds: string[]): Promise<string[]> {
  return inParallel(userIds.length, 50, async (i) => {
    const r = await client.request('POST', `/v1/events/${eventId}/queue`, { userId: userIds[i] });
    if (r.status !== 202) throw new Error(`join ${eventId}/${userIds[i]}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.ticket as string;
  });
}

/** Polls every ticket until it is admitted (the service's admitter runs every 100 ms); bounded by `timeoutMs`. */
async function collectTokens(client: Client, eventId: string, userIds: string[], tickets: string[], timeoutMs = 60_000): Promise<Admitted[]> {
  const deadline = Date.now() + timeoutMs;
  return inParallel(tickets.length, 50, async (i) => {
    while (Date.now() < deadline) {
      const r = await client.request('GET', `/v1/events/${eventId}/queue/${tickets[i]}`);
      if (r.status !== 200) throw new Error(`ticket ${tickets[i]}: ${r.status} ${JSON.stringify(r.body)}`);
      if (r.body.status === 'admitted') return { userId: userIds[i], ticket: tickets[i], token: r.body.accessToken as string };
      await sleep(50);
    }
    throw new Error(`ticket ${tickets[i]} of ${eventId} was not admitted within ${timeoutMs} ms`);
  });
}

export async function admittedUsers(client: Client, eventId: string, prefix: string, count: number): Promise<Admitted[]> {
  const userIds = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  const tickets = await joinMany(client, eventId, userIds);
  return collectTokens(client, eventId, userIds, tickets);
}

/** Creates every event and user the scenarios need, before any measurement. */
async function setUp(ctx: HttpContext): Promise<Fixtures> {
  const { client, log } = ctx;
  const paused = async (eventId: string, queue: 'streams' | 'zset', extra: Record<string, unknown> = {}) => {
    await createEvent(client, eventId, { capacity: 1, queue, ...extra });
    await client.adminExpect(200, 'PATCH', `/v1/events/${eventId}`, { paused: true });
  };
  log('  events: ceiling, join (streams, zset), poll, dup (lua, watch) — paused: admission never runs during a join measurement');
  await paused(EV.ceiling, 'streams');
  await paused(EV.join, 'streams');
  await paused(EV.joinZset, 'zset');
  await paused(EV.poll, 'streams');
  await paused(EV.dupLua, 'streams');
  await paused(EV.dupWatch, 'streams');

  log(`  poll: ${POLL_TICKETS} waiting tickets`);
  const pollTickets = await joinMany(client, EV.poll, Array.from({ length: POLL_TICKETS }, (_, i) => `poll-${i}`));

  log(`  AWS compat: assign (paused), poll with ${COMPAT_POLL_IDS} request ids`);
  await paused(EV.assign, 'streams');
  await paused(EV.compatPoll, 'streams');
  const compatPollIds = await inParallel(COMPAT_POLL_IDS, 50, async () => {
    const r = await client.request('POST', '/aws-vwr/public/assign_queue_num', { event_id: EV.compatPoll });
    if (r.status !== 200) throw new Error(`assign_queue_num ${EV.compatPoll}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.api_request_id as string;
  });

  const seatEvent = (holdTtlSeconds: number) => ({
    capacity: 100_000,
    queue: 'streams',
    maxSeatsPerUser: 20,
    holdTtlSeconds,
    admission: BIG_ADMISSION,
  });
  log(`  hold: 100,000 seats, ${HOLD_USERS} admitted users (joined, then polled until admitted)`);
  await createEvent(client, EV.hold, seatEvent(1));
  const holdUsers = await admittedUsers(client, EV.hold, 'hold', HOLD_USERS);
  log(`  hold-release: 100,000 seats, ${HOLD_RELEASE_USERS} admitted users`);
  await createEvent(client, EV.holdRelease, seatEvent(300));
  const holdReleaseUsers = await admittedUsers(client, EV.holdRelease, 'hr', HOLD_RELEASE_USERS);
  log(`  mixed: 100,000 seats, ${MIXED_USERS} admitted buyers, then paused with ${MIXED_TICKETS} waiting tickets`);
  await createEvent(client, EV.mixed, seatEvent(300));
  const mixedUsers = await admittedUsers(client, EV.mixed, 'buyer', MIXED_USERS);
  await client.adminExpect(200, 'PATCH', `/v1/events/${EV.mixed}`, { paused: true, admission: { ratePerSecond: MIXED_ADMISSION_RATE } });
  const mixedTickets = await joinMany(client, EV.mixed, Array.from({ length: MIXED_TICKETS }, (_, i) => `waiter-${i}`));
  const venueUsers = wanted('venue-quantity') || wanted('venue-together') ? await venueSetUp(ctx) : [];
  return { pollTickets, compatPollIds, holdUsers, holdReleaseUsers, mixedUsers, mixedTickets, venueUsers };
}

/**
 * A 60,000-seat layout (3 price levels), 80 % of it sold at random: 2,400
 * buyers each hold 20 random seats and confirm. Returns the admitted users of
 * the venue scenarios.
 */
async function venueSetUp(ctx: HttpContext): Promise<Admitted[]> {
  const { client, log } = ctx;
  const levels = ['LOWER', 'MIDDLE', 'UPPER'];
  const sections = Array.from({ length: 60 }, (_, s) => ({
    sectionId: `S${s + 1}`,
    priceLevel: levels[s % 3],
    rows: Array.from({ length: 25 }, (_, r) => ({ rowId: String(r + 1), seats: 40 })),
  }));
  await createEvent(client, EV.venue, {
    layout: { priceLevels: levels.map((priceLevel, i) => ({ priceLevel, price: 9000 - 3000 * i, currency: 'EUR' })), sections },
    maxSeatsPerUser: 20,
    holdTtlSeconds: 300,
    admission: BIG_ADMISSION,
  });
  const seatIds = sections.flatMap((s) => s.rows.flatMap((r) => Array.from({ length: r.seats }, (_, n) => `${s.sectionId}-${r.rowId}-${n + 1}`)));
  for (let i = seatIds.length - 1; i > 0; i -= 1) {
    const j = Math.floor(Math.random() * (i + 1));
    [seatIds[i], seatIds[j]] = [seatIds[j], seatIds[i]];
  }
  const toSell = seatIds.slice(0, Math.round(seatIds.length * VENUE_SOLD_SHARE));
  const fillers = await admittedUsers(client, EV.venue, 'fill', Math.ceil(toSell.length / 20));
  log(`  venue: 60,000 seats in 60 sections, ${toSell.length} sold at random by ${fillers.length} buyers, ${VENUE_USERS} admitted users`);
  await inParallel(fillers.length, 50, async (i) => {
    const held = await client.request('POST', `/v1/events/${EV.venue}/holds`, { seatIds: toSell.slice(i * 20, i * 20 + 20) }, bearer(fillers[i].token));
    if (held.status !== 201) throw new Error(`venue fill hold: ${held.status} ${JSON.stringify(held.body)}`);
    const bought = await client.request('POST', `/v1/events/${EV.venue}/holds/${held.body.holdId}/confirm`, {}, bearer(fillers[i].token));
    if (bought.status !== 201) throw new Error(`venue fill confirm: ${bought.status} ${JSON.stringify(bought.body)}`);
  });
  // Short holds from now on: a hold whose release a slice's end cut off must
  // not keep one of the few runs of 4 free seats (at 80 % sold) from the next slices.
  await client.adminExpect(200, 'PATCH', `/v1/events/${EV.venue}`, { holdTtlSeconds: 2 });
  return admittedUsers(client, EV.venue, 'venue', VENUE_USERS);
}

// --------------------------------------------------------------------------- request steps

const joinStep = (eventId: string, prefix: string): Step => ({
  method: 'POST',
  path: `/v1/events/${eventId}/queue`,
  body: '{"userId":"x"}',
  setup: (req) => {
    req.body = `{"userId":"${uid(prefix)}"}`;
  },
});

/** AWS's sample site joining: POST /aws-vwr/public/assign_queue_num (a new anonymous place each). */
const assignStep = (eventId: string): Step => ({
  method: 'POST',
  path: '/aws-vwr/public/assign_queue_num',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ event_id: eventId }),
});

/** AWS's sample site waiting: queue_num, serving_num and waiting_num in turn, over pre-assigned ids. */
const compatPollStep = (eventId: string, ids: string[]): Step => {
  let i = 0;
  return {
    method: 'GET',
    path: `/aws-vwr/public/serving_num?event_id=${eventId}`,
    setup: (req) => {
      i += 1;
      const kind = i % 3;
      req.path =
        kind === 0
          ? `/aws-vwr/public/queue_num?event_id=${eventId}&request_id=${ids[Math.floor(i / 3) % ids.length]}`
          : `/aws-vwr/public/${kind === 1 ? 'serving_num' : 'waiting_num'}?event_id=${eventId}`;
    },
  };
};

const roundRobin = <T>(items: T[]) => {
  let i = 0;
  return () => items[(i += 1) % items.length];
};

const pollStep = (eventId: string, tickets: string[]): Step => {
  const next = roundRobin(tickets);
  return {
    method: 'GET',
    path: `/v1/events/${eventId}/queue/${tickets[0]}`,
    setup: (req) => {
      req.path = `/v1/events/${eventId}/queue/${next()}`;
    },
  };
};

export const holdStep = (eventId: string, users: Admitted[], body = '{"quantity":1}'): Step => {
  const next = roundRobin(users);
  return {
    method: 'POST',
    path: `/v1/events/${eventId}/holds`,
    body,
    setup: (req, ctx) => {
      const user = next();
      ctx.token = user.token;
      req.headers = { ...req.headers, ...bearer(user.token) };
    },
    onResponse: (status, body, ctx) => {
      ctx.holdId = status === 201 ? (JSON.parse(body) as { holdId: string }).holdId : 'not-held-0000000';
    },
  };
};

export const afterHoldStep = (eventId: string, kind: 'release' | 'confirm'): Step => ({
  method: kind === 'release' ? 'DELETE' : 'POST',
  path: `/v1/events/${eventId}/holds/x`,
  ...(kind === 'confirm' ? { body: '{}' } : {}),
  setup: (req, ctx: Ctx) => {
    req.path = `/v1/events/${eventId}/holds/${ctx.holdId}${kind === 'confirm' ? '/confirm' : ''}`;
    req.headers = { ...req.headers, ...bearer(ctx.token) };
  },
});

// --------------------------------------------------------------------------- scenarios

interface Scenario {
  name: string;
  title: string;
  description: string;
  server: 'service' | 'ceiling';
  steps: () => Step[];
  /** runs before every slice of this scenario (and its audit) */
  beforeSlice?: () => Promise<void>;
  /** runs after every slice of this scenario (and its audit) */
  afterSlice?: () => Promise<void>;
}

function scenarios(ctx: HttpContext, f: Fixtures): Scenario[] {
  const { client } = ctx;
  return [
    {
      name: 'ceiling',
      title: 'ceiling: bare Fastify + ioredis, one EVALSHA of join',
      description: 'bench/ceiling-server.ts, a paused Streams event, a new userId per request',
      server: 'ceiling',
      steps: () => [joinStep(EV.ceiling, 'c')],
    },
    {
      name: 'join',
      title: 'join (Streams)',
      description: 'POST /v1/events/:id/queue, a new userId per request, paused event (admission does not run)',
      server: 'service',
      steps: () => [joinStep(EV.join, 'j')],
    },
    {
      name: 'assign-queue-num',
      title: 'assign_queue_num (AWS compat)',
      description: 'POST /aws-vwr/public/assign_queue_num {event_id}, a new anonymous place per request, paused event: the native join plus a request id',
      server: 'service',
      steps: () => [assignStep(EV.assign)],
    },
    {
      name: 'compat-poll',
      title: 'AWS compat polls (queue_num / serving_num / waiting_num)',
      description: `GET queue_num over ${COMPAT_POLL_IDS} request ids, serving_num and waiting_num in turn: answered from the replica's snapshot`,
      server: 'service',
      steps: () => [compatPollStep(EV.compatPoll, f.compatPollIds)],
    },
    {
      name: 'join-zset',
      title: 'join (sorted set)',
      description: 'the same on an event created with queue: "zset"',
      server: 'service',
      steps: () => [joinStep(EV.joinZset, 'z')],
    },
    {
      name: 'poll',
      title: 'ticket poll (waiting)',
      description: `GET /v1/events/:id/queue/:ticket over ${POLL_TICKETS} pre-created waiting tickets, round robin`,
      server: 'service',
      steps: () => [pollStep(EV.poll, f.pollTickets)],
    },
    {
      name: 'hold',
      title: 'hold under contention',
      description: `POST /holds {quantity:1} by ${HOLD_USERS} admitted users, all competing for the best seat; holdTtlSeconds 1, so expired holds are swept and seats and per-user limits recycle`,
      server: 'service',
      steps: () => [holdStep(EV.hold, f.holdUsers)],
    },
    {
      name: 'hold-release',
      title: 'hold + release pairs',
      description: `each connection: hold {quantity:1}, then DELETE that hold; ${HOLD_RELEASE_USERS} admitted users; req/s counts both`,
      server: 'service',
      steps: () => [holdStep(EV.holdRelease, f.holdReleaseUsers), afterHoldStep(EV.holdRelease, 'release')],
    },
    {
      name: 'venue-quantity',
      title: 'venue: best 4 (hold + release)',
      description: `60,000-seat layout, 80 % sold at random: each connection holds {quantity:4} (the best 4 free, anywhere), then releases them; ${VENUE_USERS} admitted users; req/s counts both`,
      server: 'service',
      steps: () => [holdStep(EV.venue, f.venueUsers, '{"quantity":4}'), afterHoldStep(EV.venue, 'release')],
    },
    {
      name: 'venue-together',
      title: 'venue: best 4 together (hold + release)',
      description: `the same with {quantity:4, together:true}: the best run of 4 adjacent free seats in one row (run index: O(log rows), never O(seats))`,
      server: 'service',
      steps: () => [holdStep(EV.venue, f.venueUsers, '{"quantity":4,"together":true}'), afterHoldStep(EV.venue, 'release')],
    },
    {
      name: 'join-dup-lua',
      title: 'same-user contention, luaAtomic on (Lua)',
      description: `joins by only ${DUP_USERS} userIds: after the first ${DUP_USERS}, every answer is 409 DUPLICATE`,
      server: 'service',
      steps: () => {
        let i = 0;
        return [{ ...joinStep(EV.dupLua, 'd'), setup: (req) => void (req.body = `{"userId":"dup-${(i += 1) % DUP_USERS}"}`) }];
      },
    },
    {
      name: 'join-dup-watch',
      title: 'same-user contention, luaAtomic off (WATCH/MULTI)',
      description: 'the same with PUT /v1/flags/luaAtomic {enabled:false}: the optimistic-transaction fallback',
      server: 'service',
      steps: () => {
        let i = 0;
        return [{ ...joinStep(EV.dupWatch, 'w'), setup: (req) => void (req.body = `{"userId":"dup-${(i += 1) % DUP_USERS}"}`) }];
      },
      beforeSlice: async () => {
        await client.adminExpect(200, 'PUT', '/v1/flags/luaAtomic', { enabled: false });
      },
      afterSlice: async () => {
        const r = await client.admin('DELETE', '/v1/flags/luaAtomic');
        if (r.status !== 204) throw new Error(`DELETE /v1/flags/luaAtomic: ${r.status}`);
      },
    },
    {
      name: 'mixed',
      title: 'flash crowd (join + 2 polls + hold + confirm)',
      description: `each connection loops: join (new user), poll ×2 (${MIXED_TICKETS} tickets, admitted at ${MIXED_ADMISSION_RATE}/s during the run, so polls see "waiting" then "admitted" with a token), hold {quantity:1} and confirm by ${MIXED_USERS} admitted buyers; admission running`,
      server: 'service',
      steps: () => [
        joinStep(EV.mixed, 'm'),
        pollStep(EV.mixed, f.mixedTickets),
        pollStep(EV.mixed, [...f.mixedTickets].reverse()),
        holdStep(EV.mixed, f.mixedUsers),
        afterHoldStep(EV.mixed, 'confirm'),
      ],
      // Admission runs only while the crowd is measured, so later slices still find waiting tickets.
      beforeSlice: async () => {
        await client.adminExpect(200, 'PATCH', `/v1/events/${EV.mixed}`, { paused: false });
      },
      afterSlice: async () => {
        await client.adminExpect(200, 'PATCH', `/v1/events/${EV.mixed}`, { paused: true });
      },
    },
  ];
}

// --------------------------------------------------------------------------- round-trip audits

async function audits(ctx: HttpContext, f: Fixtures, name: string, out: Record<string, RoundTripAudit>): Promise<void> {
  const { client, stats, shas } = ctx;
  const n = settings.auditRequests;
  const expectStatus = async (p: Promise<{ status: number; body: any }>, status: number, what: string) => {
    const r = await p;
    if (r.status !== status) throw new Error(`audit ${what}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const audit = async (label: string, eventId: string, work: (i: number) => Promise<void>) => {
    out[label] = await auditRoundTrips(stats, eventId, shas, n, async () => {
      for (let i = 0; i < n; i += 1) await work(i);
    });
  };
  const join = (eventId: string, userId: string, status = 202) =>
    expectStatus(client.request('POST', `/v1/events/${eventId}/queue`, { userId }), status, `join ${eventId}`);
  const hold = (eventId: string, user: Admitted) =>
    expectStatus(client.request('POST', `/v1/events/${eventId}/holds`, { quantity: 1 }, bearer(user.token)), 201, 'hold');

  switch (name) {
    case 'join':
      return audit('join (Streams)', EV.join, (i) => join(EV.join, `audit-j-${i}`).then(() => undefined));
    case 'join-zset':
      return audit('join (sorted set)', EV.joinZset, (i) => join(EV.joinZset, `audit-z-${i}`).then(() => undefined));
    case 'poll':
      return audit('poll (waiting)', EV.poll, (i) =>
        expectStatus(client.request('GET', `/v1/events/${EV.poll}/queue/${f.pollTickets[i % f.pollTickets.length]}`), 200, 'poll').then(() => undefined),
      );
    case 'hold-release': {
      const users = f.holdReleaseUsers;
      const holds: string[] = [];
      await audit('hold', EV.holdRelease, async (i) => {
        holds.push((await hold(EV.holdRelease, users[i % users.length])).holdId as string);
      });
      await audit('release', EV.holdRelease, (i) =>
        expectStatus(client.request('DELETE', `/v1/events/${EV.holdRelease}/holds/${holds[i]}`, undefined, bearer(users[i % users.length].token)), 204, 'release').then(
          () => undefined,
        ),
      );
      const toConfirm: string[] = [];
      for (let i = 0; i < n; i += 1) toConfirm.push((await hold(EV.holdRelease, users[i % users.length])).holdId as string);
      await audit('confirm', EV.holdRelease, (i) =>
        expectStatus(client.request('POST', `/v1/events/${EV.holdRelease}/holds/${toConfirm[i]}/confirm`, {}, bearer(users[i % users.length].token)), 201, 'confirm').then(
          () => undefined,
        ),
      );
      return audit('poll (admitted: signs an access token)', EV.holdRelease, (i) =>
        expectStatus(client.request('GET', `/v1/events/${EV.holdRelease}/queue/${users[i % users.length].ticket}`), 200, 'poll admitted').then(() => undefined),
      );
    }
    case 'join-dup-lua':
      return audit('duplicate join, Lua', EV.dupLua, (i) => join(EV.dupLua, `dup-${i % DUP_USERS}`, 409).then(() => undefined));
    case 'join-dup-watch':
      // Called between the scenario's beforeSlice and afterSlice: the flag is off.
      await audit('duplicate join, WATCH/MULTI', EV.dupWatch, (i) => join(EV.dupWatch, `dup-${i % DUP_USERS}`, 409).then(() => undefined));
      return audit('join, WATCH/MULTI', EV.dupWatch, (i) => join(EV.dupWatch, `audit-w-${i}`).then(() => undefined));
    default:
      return;
  }
}

// --------------------------------------------------------------------------- runner

const pct = (cpuSeconds: number, wallSeconds: number) => Math.round((cpuSeconds / wallSeconds) * 1000) / 10;

/**
 * Waits until the requests still in flight when autocannon stopped have
 * reached Redis: calls per 200 ms back near the idle background rate (at most 5 s).
 */
async function waitQuiet(stats: Redis, background: CommandStats): Promise<void> {
  const bgPerWindow = Object.values(background).reduce((sum, s) => sum + s.calls, 0) * 0.2;
  const total = async () => Object.values(await commandStats(stats)).reduce((sum, s) => sum + s.calls, 0);
  await sleep(100);
  const deadline = Date.now() + 5000;
  let last = await total();
  while (Date.now() < deadline) {
    await sleep(200);
    const now = await total();
    if (now - last <= bgPerWindow * 1.5 + 10) return;
    last = now;
  }
}

/** Adds up the slices of one scenario. */
class Accumulator {
  readonly histogram = new Histogram();
  private requests = 0;
  private seconds = 0;
  private errors = 0;
  private timeouts = 0;
  private slices = 0;
  private readonly statuses: Record<string, number> = {};
  private cpu = { server: 0, redis: 0, own: 0, wall: 0 };
  private delta: CommandStats = {};

  add(r: SliceResult, cpu: { server: number; redis: number; own: number; wall: number }, delta: CommandStats): void {
    this.requests += r.requests;
    this.seconds += r.durationSeconds;
    this.errors += r.errors;
    this.timeouts += r.timeouts;
    this.slices += 1;
    for (const [code, count] of Object.entries(r.statuses)) this.statuses[code] = (this.statuses[code] ?? 0) + count;
    for (const k of Object.keys(this.cpu) as (keyof typeof this.cpu)[]) this.cpu[k] += cpu[k];
    for (const [name, d] of Object.entries(delta)) {
      const t = (this.delta[name] ??= { calls: 0, usec: 0 });
      t.calls += d.calls;
      t.usec += d.usec;
    }
  }

  result(s: Scenario, background: CommandStats): ScenarioResult {
    const load: LoadResult = {
      requests: this.requests,
      durationSeconds: Math.round(this.seconds * 100) / 100,
      reqPerSec: Math.round(this.requests / this.seconds),
      latencyMs: this.histogram.percentiles(),
      statuses: this.statuses,
      non2xx: Object.entries(this.statuses).reduce((sum, [code, c]) => sum + (code.startsWith('2') ? 0 : c), 0),
      errors: this.errors,
      timeouts: this.timeouts,
      slices: this.slices,
    };
    return {
      name: s.name,
      title: s.title,
      server: s.server,
      description: s.description,
      load,
      redis: callFigures(this.delta, this.requests, this.seconds, background),
      cpu: {
        serverPercent: pct(this.cpu.server, this.cpu.wall),
        redisPercent: pct(this.cpu.redis, this.cpu.wall),
        loadGeneratorPercent: pct(this.cpu.own, this.cpu.wall),
        serverUsPerRequest: Math.round((this.cpu.server / this.requests) * 1e6),
        redisUsPerRequest: Math.round((this.cpu.redis / this.requests) * 1e6),
      },
    };
  }
}

interface Runner {
  ctx: HttpContext;
  background: CommandStats;
  serverFor: (s: Scenario) => ServerProcess;
}

/** One slice: hooks, autocannon for `seconds`, CPU and commandstats around it. */
async function slice(run: Runner, s: Scenario, seconds: number, label: string, acc: Accumulator, onStart: () => void = () => undefined): Promise<SliceResult> {
  const { stats } = run.ctx;
  const server = run.serverFor(s);
  const spec: LoadSpec = { name: s.name, url: server.url, connections: settings.connections, steps: s.steps };
  await s.beforeSlice?.();
  try {
    const before = await commandStats(stats);
    const redisCpu0 = await redisCpuSeconds(stats);
    const serverCpu0 = server.cpuSeconds();
    const own0 = process.cpuUsage();
    const t0 = performance.now();
    onStart();
    const r = await runLoad(spec, seconds, label, acc.histogram);
    const wall = (performance.now() - t0) / 1000;
    const own = process.cpuUsage(own0);
    const cpu = {
      server: server.cpuSeconds() - serverCpu0,
      redis: (await redisCpuSeconds(stats)) - redisCpu0,
      own: (own.user + own.system) / 1e6,
      wall,
    };
    // Requests in flight at the stop still reach Redis: count them in this slice, not the next.
    await waitQuiet(stats, run.background);
    acc.add(r, cpu, diffStats(await commandStats(stats), before));
    return r;
  } finally {
    await s.afterSlice?.();
  }
}

/** A separate pass with V8's CPU profiler on in the server child (its numbers are reported apart). */
async function profiled(run: Runner, s: Scenario) {
  const server = run.serverFor(s);
  const out = server.profileOut;
  if (!out) throw new Error(`${server.name} was started without the profiler preload`);
  for (const f of [out, `${out}.done`]) rmSync(f, { force: true });
  if (settings.warmup > 0) await slice(run, s, settings.warmup, 'warm-up', new Accumulator());
  const acc = new Accumulator();
  // The first SIGWINCH starts the profiler, the second stops it and writes the file.
  await slice(run, s, settings.duration, 'profile', acc, () => server.signal('SIGWINCH'));
  server.signal('SIGWINCH');
  for (let i = 0; i < 200 && !existsSync(`${out}.done`); i += 1) await sleep(100);
  if (!existsSync(`${out}.done`)) throw new Error(`the profiler did not write ${out}`);
  const file = join(RESULTS_DIR, `profile-${s.name}-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`);
  renameSync(out, file);
  rmSync(`${out}.done`, { force: true });
  return { result: acc.result(s, run.background), summary: summarizeProfile(file), file };
}

/**
 * Runs every scenario in `BENCH_SLICES` slices, round robin (ceiling, join,
 * join-zset, …, ceiling, join, …), so that load from other work on a shared
 * machine falls on all of them alike and the ratios stay fair; a warm-up
 * round first. Then the optional profiling passes, then the round-trip audits.
 */
export async function runHttpScenarios(ctx: HttpContext): Promise<HttpResults> {
  const { log } = ctx;
  const t0 = Date.now();
  const elapsed = () => `${Math.round((Date.now() - t0) / 1000)} s`;
  log('▶ set-up (events, admitted users, tickets)');
  const fixtures = await setUp(ctx);

  log('▶ background baseline: 3 s idle (admitter and sweeper ticks)');
  const b0 = await commandStats(ctx.stats);
  await sleep(3000);
  const bgDelta = diffStats(await commandStats(ctx.stats), b0);
  const background: CommandStats = Object.fromEntries(Object.entries(bgDelta).map(([k, v]) => [k, { calls: v.calls / 3, usec: v.usec / 3 }]));

  const list = scenarios(ctx, fixtures).filter((s) => wanted(s.name));
  const ceiling = list.some((s) => s.server === 'ceiling') ? await ctx.startCeiling() : undefined;
  const results: HttpResults = {
    scenarios: [],
    audits: {},
    backgroundPerSecond: Object.fromEntries(Object.entries(background).map(([k, v]) => [k, Math.round(v.calls * 10) / 10])),
    profiles: {},
    profileMarkdown: [],
  };
  try {
    const run: Runner = { ctx, background, serverFor: (s) => (s.server === 'ceiling' ? ceiling! : ctx.service) };
    const slices = Math.max(1, Math.min(settings.slices, settings.duration));
    const sliceSeconds = Math.max(1, Math.round(settings.duration / slices));
    const acc = new Map(list.map((s) => [s.name, new Accumulator()]));
    if (settings.warmup > 0) {
      log(`▶ warm-up round: ${settings.warmup} s per scenario, not measured (elapsed ${elapsed()})`);
      for (const s of list) await slice(run, s, settings.warmup, 'warm-up', new Accumulator());
    }
    for (let round = 1; round <= slices; round += 1) {
      log(`▶ round ${round}/${slices}: ${list.length} scenarios × ${sliceSeconds} s, ${settings.connections} connections (elapsed ${elapsed()})`);
      for (const s of list) {
        const r = await slice(run, s, sliceSeconds, `round ${round}`, acc.get(s.name)!);
        log(`    ${s.name.padEnd(15)} ${String(Math.round(r.requests / r.durationSeconds)).padStart(6)} req/s  ${JSON.stringify(r.statuses)}`);
      }
    }
    for (const s of list) {
      const r = acc.get(s.name)!.result(s, background);
      results.scenarios.push(r);
      log(
        `  ${s.title}: ${r.load.reqPerSec.toLocaleString('en-US')} req/s, p50 ${r.load.latencyMs.p50} ms, p99 ${r.load.latencyMs.p99} ms, ` +
          `evalsha/req ${r.redis.net.evalshaPerRequest}, CPU server ${r.cpu.serverPercent}% (${r.cpu.serverUsPerRequest} µs/req) Redis ${r.cpu.redisPercent}% load gen ${r.cpu.loadGeneratorPercent}%`,
      );
    }
    for (const s of list.filter((x) => ctx.profile.includes(x.name))) {
      log(`▶ profiling ${s.name}: a separate ${settings.duration} s pass with the CPU profiler on (elapsed ${elapsed()})`);
      const p = await profiled(run, s);
      log(`    ${p.result.load.reqPerSec.toLocaleString('en-US')} req/s while profiled; ${p.file}`);
      results.profiles[s.name] = { ...p.summary, file: p.file };
      results.profileMarkdown.push(
        profileMarkdown(
          p.summary,
          `${s.title}: ${p.result.load.reqPerSec.toLocaleString('en-US')} req/s while profiled (sampling every ${process.env.BENCH_PROFILE_INTERVAL_US ?? 500} µs)`,
        ),
      );
    }
    log(`▶ round-trip audit: ${settings.auditRequests} sequential requests per kind with MONITOR (elapsed ${elapsed()})`);
    for (const s of list) {
      await s.beforeSlice?.();
      try {
        await audits(ctx, fixtures, s.name, results.audits);
      } finally {
        await s.afterSlice?.();
      }
    }
  } finally {
    await ceiling?.stop();
  }
  log(`▶ HTTP scenarios done (elapsed ${elapsed()})`);
  return results;
}

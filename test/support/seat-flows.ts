import { JwtService } from '@nestjs/jwt';
import { ACCESS_TOKEN_SECRET, HttpResult, TestApp } from './app-harness';
import { Admitted } from './flows';
import { isHousekeepingKey, metaForDigest, pollUntil } from './inspect';
import { Topology } from './topology';

/**
 * Helpers for the seat suites: admitting many users fast, outcome tallies,
 * hand-made access tokens and a digest of one event's keys.
 */

/** Runs `work` over `items` with at most `parallel` at a time; results in input order. */
export async function pool<T, R>(items: T[], parallel: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(parallel, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await work(items[i], i);
      }
    }),
  );
  return out;
}

/**
 * Joins every user, runs admission ticks until nobody waits, then reads each
 * ticket for its access token. Needs an event whose admission rate and
 * maxActive let everyone in at once (e.g. ratePerSecond 100000).
 */
export async function admitAll(app: TestApp, eventId: string, userIds: string[], parallel = 50): Promise<Admitted[]> {
  const tickets = await pool(userIds, parallel, async (userId) => {
    const joined = await app.request('POST', `/v1/events/${eventId}/queue`, { userId });
    if (joined.status !== 202) throw new Error(`join ${userId}: ${joined.status} ${JSON.stringify(joined.body)}`);
    return joined.body.ticket as string;
  });
  const deadline = Date.now() + 20_000;
  for (;;) {
    await app.admitNow(eventId);
    const view = await app.request('GET', `/v1/events/${eventId}`);
    if (view.body.waiting === 0) break;
    if (Date.now() > deadline) throw new Error(`${view.body.waiting} users still wait on ${eventId}`);
  }
  return pool(userIds, parallel, async (userId, i) => {
    // A replica answers a waiting ticket from its snapshot of the event, which
    // follows an admission within a refresh (at most 1 s, CONTRACT): read until then.
    const { value: r } = await pollUntil(
      () => app.request('GET', `/v1/events/${eventId}/queue/${tickets[i]}`),
      (res) => res.status !== 200 || res.body.status === 'admitted',
      { timeoutMs: 5000, intervalMs: 100 },
    ).catch(async () => ({ value: await app.request('GET', `/v1/events/${eventId}/queue/${tickets[i]}`) }));
    if (r.status !== 200 || r.body.status !== 'admitted') throw new Error(`ticket of ${userId}: ${r.status} ${JSON.stringify(r.body)}`);
    const token = r.body.accessToken as string;
    return { userId, ticket: tickets[i], token, auth: { authorization: `Bearer ${token}` } };
  });
}

/** '201' for a success, '409 SOLD_OUT' for an error: one key per distinct outcome. */
export const outcome = (r: HttpResult) => (r.status < 300 ? String(r.status) : `${r.status} ${r.body?.code}`);

/** Tallies outcomes: { '201': 100, '409 SEAT_UNAVAILABLE': 900 }. */
export function tally(results: HttpResult[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of results) counts[outcome(r)] = (counts[outcome(r)] ?? 0) + 1;
  return counts;
}

/** Asserts an error answer: status, code and the CONTRACT body shape. */
export function expectError(r: HttpResult, status: number, code: string): void {
  expect({ status: r.status, code: r.body?.code }).toEqual({ status, code });
  expect(r.body).toEqual(expect.objectContaining({ statusCode: status, code, message: expect.any(String) }));
}

/** GET /v1/events/:eventId, failing unless 200. */
export async function eventView(app: TestApp, eventId: string): Promise<any> {
  const r = await app.request('GET', `/v1/events/${eventId}`);
  if (r.status !== 200) throw new Error(`event ${eventId}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** The seat counters of an event: { available, held, sold }. */
export async function counters(app: TestApp, eventId: string) {
  const { available, held, sold } = await eventView(app, eventId);
  return { available, held, sold };
}

export interface AccessPayload {
  sub: string;
  eid: string;
  sid: string;
  /** seconds since the epoch */
  exp: number;
}

/** Signs an access token as the app does (HS256), with the test secret unless told otherwise. */
export function signAccessToken(payload: AccessPayload, secret = ACCESS_TOKEN_SECRET): string {
  return new JwtService({ secret }).sign(payload, { algorithm: 'HS256' });
}

/** The claims inside a token the app issued (not verified: the test only reads them). */
export function readAccessToken(token: string): AccessPayload {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as AccessPayload;
}

/**
 * A digest of every key of one event (every master is asked, so it works on a
 * cluster). The admitter's clock fields (ADMITTER_CLOCK_FIELDS) are left out,
 * and so are housekeeping keys (isHousekeepingKey), for the same reason.
 */
export async function eventDigest(topology: Topology, eventId: string, prefix = 'qg:'): Promise<string> {
  const { createHash } = await import('node:crypto');
  const masters = await topology.masters();
  try {
    const parts: string[] = [];
    for (const node of masters) {
      const keys = (await node.keys(`${prefix}{${eventId}}:*`)).sort();
      for (const key of keys) {
        if (isHousekeepingKey(key)) continue;
        if (key === `${prefix}{${eventId}}:meta`) {
          parts.push(`${key}=${metaForDigest(await node.hgetall(key))}`);
        } else {
          const dump = await node.dumpBuffer(key);
          parts.push(`${key}=${createHash('sha256').update(dump ?? Buffer.alloc(0)).digest('hex')}`);
        }
      }
    }
    parts.sort();
    return `${parts.length}:${createHash('sha256').update(parts.join('\n')).digest('hex')}`;
  } finally {
    masters.forEach((m) => m.disconnect());
  }
}

/** Random distinct picks from `items`. */
export function sample<T>(items: T[], n: number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i -= 1) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy.slice(0, n);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Seat statuses in the order the 2bit-base64 seat state encodes them. */
export const SEAT_STATUS = ['available', 'held', 'sold'];

/** The states a 2bit-base64 answer (GET .../seats/state) encodes, as status names. */
export function decodeSeatState(body: { state: string; count: number }): string[] {
  const bytes = Buffer.from(body.state, 'base64');
  expect(bytes.length).toBe(Math.ceil(body.count / 4));
  return Array.from({ length: body.count }, (_, k) => SEAT_STATUS[(bytes[k >> 2] >> ((k & 3) * 2)) & 3]);
}

/** A seat's status as the seats hash stores it ('a', 'h:<holdId>', 's:<orderId>'). */
export const storedSeatStatus = (value: string | null) => SEAT_STATUS['ahs'.indexOf((value ?? '?')[0])] ?? `missing ${value}`;

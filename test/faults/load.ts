import type { Cluster, Redis } from 'ioredis';
import { performance } from 'node:perf_hooks';
import { TestApp, uniqueId } from '../support/app-harness';
import { Admitted, admitMany } from '../support/flows';

/**
 * The concurrent load every fault scenario runs under: real HTTP requests
 * from simulated users, bounded in count and time, each answer recorded with
 * when it was sent and answered, so a scenario can classify every one of them
 * against the fault's window.
 *
 * - Each admitted user loops: hold (1-2 seats, by quantity or a named seat),
 *   then confirm (while it has bought fewer than `confirmUpTo` seats, now and
 *   then), keep it (while it keeps fewer than `keepUpTo`, now and then) or
 *   release it.
 * - Each joiner loops: join with a fresh user id, then read its ticket.
 * - Each reader loops: the event view, then a page of the seat map.
 *
 * A 503 makes the simulated client wait 50 ms before its next request, as a
 * real client honouring "retry shortly" would; it never retries the same
 * request (an ambiguous answer leaves the hold to expire).
 */

export type Op = 'join' | 'ticket' | 'hold' | 'confirm' | 'release' | 'view' | 'seats';

export interface Call {
  op: Op;
  base: string;
  eventId: string;
  /** performance.now() when sent and when the answer (or failure) came */
  start: number;
  end: number;
  /** 0: no HTTP answer at all (connection failed or the client gave up) */
  status: number;
  code?: string;
  error?: string;
}

/** The answers the contract allows each request of the loop, as "status" or "status CODE" (503 is judged by the scenario). */
export const EXPECTED: Record<Op, string[]> = {
  join: ['202', '410 SOLD_OUT'],
  ticket: ['200'],
  hold: ['201', '409 SOLD_OUT', '409 LIMIT_EXCEEDED', '409 SEAT_UNAVAILABLE'],
  confirm: ['201'],
  release: ['204'],
  view: ['200'],
  seats: ['200'],
};

export interface AckedHold {
  base: string;
  eventId: string;
  userId: string;
  holdId: string;
  seatIds: string[];
  /** when the 201 came back */
  ackedAt: number;
  /** what became of it as far as the client knows; 'unknown' after a confirm or release with no clear answer */
  fate: 'held' | 'confirmed' | 'released' | 'unknown';
  orderId?: string;
  /** when the confirm's 201 came back */
  confirmedAt?: number;
}

export interface AckedJoin {
  base: string;
  eventId: string;
  userId: string;
  ticket: string;
  ackedAt: number;
}

export interface LoadUser extends Admitted {
  base: string;
  eventId: string;
}

export interface LoadOptions {
  users: LoadUser[];
  /** one join loop per entry (fresh user ids) */
  joiners: { base: string; eventId: string }[];
  /** one read loop per entry (event view and seat map) */
  readers?: { base: string; eventId: string }[];
  /** seats per event, to name a random seat now and then */
  capacity: number;
  /** a user confirms only while it has bought fewer than this many seats (stays under maxSeatsPerUser) */
  confirmUpTo?: number;
  /** a user now and then keeps a hold (neither confirms nor releases it) while it keeps fewer than this many seats; default 0 */
  keepUpTo?: number;
  /** the whole loop stops after this many requests... */
  maxRequests: number;
  /** ...or this long, whichever comes first */
  maxDurationMs: number;
  /** the client gives up on one request after this long: it counts as hung (status 0) */
  requestTimeoutMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class LoadLoop {
  readonly calls: Call[] = [];
  readonly holds: AckedHold[] = [];
  readonly joins: AckedJoin[] = [];
  private stopping = false;
  private started = 0;
  private done?: Promise<void>;

  constructor(private readonly options: LoadOptions) {}

  start(): this {
    this.started = performance.now();
    this.done = Promise.all([
      ...this.options.users.map((u) => this.userLoop(u)),
      ...this.options.joiners.map((j, i) => this.joinLoop(j.base, j.eventId, i)),
      ...(this.options.readers ?? []).map((r) => this.readLoop(r.base, r.eventId)),
    ]).then(() => undefined);
    return this;
  }

  /** Stops the loop after the requests in flight, and waits for them. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.done;
  }

  private get going(): boolean {
    return !this.stopping && this.calls.length < this.options.maxRequests && performance.now() - this.started < this.options.maxDurationMs;
  }

  private async request(op: Op, base: string, eventId: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const start = performance.now();
    const call: Call = { op, base, eventId, start, end: start, status: 0 };
    let json: any;
    try {
      const response = await fetch(base + path, {
        method,
        headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.requestTimeoutMs ?? 10_000),
      });
      const text = await response.text();
      call.status = response.status;
      json = text ? JSON.parse(text) : undefined;
      call.code = json?.code;
    } catch (err) {
      call.error = (err as Error).name === 'TimeoutError' ? 'client timeout' : String((err as Error & { cause?: Error }).cause ?? err);
    }
    call.end = performance.now();
    this.calls.push(call);
    if (call.status === 503) await sleep(50);
    return { call, json };
  }

  private async userLoop(user: LoadUser): Promise<void> {
    const { base, eventId, auth, userId } = user;
    const confirmUpTo = this.options.confirmUpTo ?? 8;
    const keepUpTo = this.options.keepUpTo ?? 0;
    let bought = 0;
    let kept = 0;
    while (this.going) {
      const named = Math.random() < 0.3;
      const body = named ? { seatIds: [`GA-${1 + Math.floor(Math.random() * this.options.capacity)}`] } : { quantity: 1 + Math.floor(Math.random() * 2) };
      const hold = await this.request('hold', base, eventId, 'POST', `/v1/events/${eventId}/holds`, body, auth);
      if (hold.call.status === 0) return; // the replica is gone: this user's client stops
      if (hold.call.status !== 201) continue;
      const acked: AckedHold = { base, eventId, userId, holdId: hold.json.holdId, seatIds: hold.json.seatIds, ackedAt: hold.call.end, fate: 'held' };
      this.holds.push(acked);
      if (!this.going) return;
      const seats = acked.seatIds.length;
      if (kept + seats <= keepUpTo && Math.random() < 0.15) {
        kept += seats;
        continue;
      }
      if (bought + seats <= confirmUpTo && Math.random() < 0.25) {
        const r = await this.request('confirm', base, eventId, 'POST', `/v1/events/${eventId}/holds/${acked.holdId}/confirm`, {}, auth);
        if (r.call.status === 201) {
          Object.assign(acked, { fate: 'confirmed', orderId: r.json.orderId, confirmedAt: r.call.end });
          bought += seats;
        } else acked.fate = 'unknown';
        if (r.call.status === 0) return;
      } else {
        const r = await this.request('release', base, eventId, 'DELETE', `/v1/events/${eventId}/holds/${acked.holdId}`, undefined, auth);
        acked.fate = r.call.status === 204 ? 'released' : 'unknown';
        if (r.call.status === 0) return;
      }
    }
  }

  private async joinLoop(base: string, eventId: string, index: number): Promise<void> {
    let n = 0;
    while (this.going) {
      const userId = `load${index}-${(n += 1)}`;
      const join = await this.request('join', base, eventId, 'POST', `/v1/events/${eventId}/queue`, { userId });
      if (join.call.status === 0) return;
      if (join.call.status !== 202) continue;
      this.joins.push({ base, eventId, userId, ticket: join.json.ticket, ackedAt: join.call.end });
      const ticket = await this.request('ticket', base, eventId, 'GET', `/v1/events/${eventId}/queue/${join.json.ticket}`);
      if (ticket.call.status === 0) return;
    }
  }

  private async readLoop(base: string, eventId: string): Promise<void> {
    while (this.going) {
      const view = await this.request('view', base, eventId, 'GET', `/v1/events/${eventId}`);
      if (view.call.status === 0 || !this.going) return;
      const seats = await this.request('seats', base, eventId, 'GET', `/v1/events/${eventId}/seats?limit=50`);
      if (seats.call.status === 0) return;
    }
  }
}

const answer = (c: { status: number; code?: string }) => (c.code ? `${c.status} ${c.code}` : String(c.status));

/**
 * The calls whose answer the contract does not allow: anything outside
 * EXPECTED, except `503 UNAVAILABLE` where `may503(call)` says the fault
 * could explain it.
 */
export function unexpectedCalls(calls: Call[], may503: (c: Call) => boolean = () => false): Call[] {
  return calls.filter((c) => {
    if (c.status === 503 && c.code === 'UNAVAILABLE' && may503(c)) return false;
    return !EXPECTED[c.op].includes(String(c.status)) && !EXPECTED[c.op].includes(answer(c));
  });
}

/** A short readable summary: counts by op and answer, e.g. { "hold 201": 812, "hold 503 UNAVAILABLE": 9 }. */
export function tally(calls: Call[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of calls) {
    const key = `${c.op} ${c.status === 0 ? `no answer (${c.error})` : answer(c)}`;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

/** Calls for an assertion message: the first few, with times relative to `t0`. */
export function show(calls: Call[], t0 = 0, max = 10): string[] {
  return calls
    .slice(0, max)
    .map((c) => `${c.op} ${c.eventId} sent +${Math.round(c.start - t0)}ms answered +${Math.round(c.end - t0)}ms: ${c.status} ${c.code ?? c.error ?? ''}`);
}

/** Polls a URL (readiness) every `everyMs` and records each answer with its time. */
export class Poller {
  readonly samples: { start: number; end: number; status: number }[] = [];
  private stopping = false;
  private done?: Promise<void>;

  constructor(
    private readonly url: string,
    private readonly everyMs = 100,
    private readonly maxDurationMs = 60_000,
  ) {}

  start(): this {
    const started = performance.now();
    this.done = (async () => {
      while (!this.stopping && performance.now() - started < this.maxDurationMs) {
        const start = performance.now();
        let status = 0;
        try {
          const r = await fetch(this.url, { signal: AbortSignal.timeout(10_000) });
          await r.text();
          status = r.status;
        } catch {
          status = 0;
        }
        this.samples.push({ start, end: performance.now(), status });
        await sleep(this.everyMs);
      }
    })();
    return this;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.done;
  }

  /** Resolves with the time of the first answer `status` sent after `after`, or throws after `timeoutMs`. */
  async waitFor(status: number, after: number, timeoutMs: number): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      const hit = this.samples.find((s) => s.start >= after && s.status === status);
      if (hit) return hit.end;
      await sleep(20);
    }
    throw new Error(`${this.url} did not answer ${status} within ${timeoutMs} ms`);
  }
}

export interface LoadEvents {
  eventIds: string[];
  users: LoadUser[];
  joiners: { base: string; eventId: string }[];
  readers: { base: string; eventId: string }[];
}

export const LOAD_CAPACITY = 300;

/**
 * Two events (one per queue backend) on `app`, each with `usersPerEvent`
 * admitted users and two join loops. maxSeatsPerUser 20 leaves room for the
 * holds an ambiguous answer may leave behind.
 */
export async function prepareLoad(app: TestApp, prefix: string, usersPerEvent = 6, extra: Record<string, unknown> = {}): Promise<LoadEvents> {
  const out: LoadEvents = { eventIds: [], users: [], joiners: [], readers: [] };
  for (const queue of ['streams', 'zset']) {
    const eventId = uniqueId(`${prefix}-${queue}`);
    await app.createEvent(eventId, { capacity: LOAD_CAPACITY, queue, maxSeatsPerUser: 20, admission: { ratePerSecond: 200 }, ...extra });
    const admitted = await admitMany(app, eventId, Array.from({ length: usersPerEvent }, (_, i) => `user${i}`), usersPerEvent);
    out.eventIds.push(eventId);
    out.users.push(...admitted.map((a) => ({ ...a, base: app.url, eventId })));
    out.joiners.push({ base: app.url, eventId }, { base: app.url, eventId });
    out.readers.push({ base: app.url, eventId });
  }
  return out;
}

/** Every seat's status of an event, through the public seat map. */
export async function seatStatuses(base: string, eventId: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let cursor: number | null = 0;
  for (let page = 0; cursor !== null && page < 200; page += 1) {
    const r = await fetch(`${base}/v1/events/${eventId}/seats?limit=1000&cursor=${cursor}`);
    if (r.status !== 200) throw new Error(`seat map of ${eventId}: ${r.status} ${await r.text()}`);
    const body = (await r.json()) as { seats: { seatId: string; status: string }[]; nextCursor: number | null };
    for (const s of body.seats) out.set(s.seatId, s.status);
    cursor = body.nextCursor;
  }
  return out;
}

/** The orderIds in an event's orders stream. */
export async function orderIds(client: Redis | Cluster, eventId: string, prefix = 'qg:'): Promise<Set<string>> {
  const entries = await client.xrange(`${prefix}{${eventId}}:orders`, '-', '+');
  const ids = new Set<string>();
  for (const [, fields] of entries) {
    const i = fields.indexOf('orderId');
    if (i >= 0) ids.add(fields[i + 1]);
  }
  return ids;
}

export { sleep };

/** With FAULTS_VERBOSE=1, prints what a scenario's load did (counts by answer). */
export function report(what: string, calls: Call[]): void {
  if (process.env.FAULTS_VERBOSE) process.stdout.write(`${what}: ${calls.length} requests ${JSON.stringify(tally(calls))}\n`);
}

/**
 * App log level for fault scenarios: a fault makes hundreds of expected 503s,
 * each logged at error level; FAULTS_VERBOSE=1 shows them.
 */
export const FAULT_LOG_LEVEL = { LOG_LEVEL: process.env.FAULTS_VERBOSE ? 'error' : 'fatal' };

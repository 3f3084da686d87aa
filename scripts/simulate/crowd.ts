/**
 * The crowd: every user joins at once (bounded by the connection pool), polls
 * its ticket, is admitted, picks seats (from the map, or "best available"),
 * holds them, then buys, releases or walks away; everyone who finds the event
 * sold out gives up and leaves, and so does everyone still waiting once the
 * queue answers soldOut or closed: the crowd ends when the sale does. Each
 * user ends in exactly one outcome. While it runs, the event's counters are
 * sampled once a second and progress is shown on stderr. Afterwards it waits
 * for walked-away holds to expire and reads the final counters and the audit:
 * everything the report is made from.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Answer, Http } from './http';
import type { Layout, Options } from './options';

/** How one user's visit ended: each user is counted in exactly one. */
export const OUTCOMES = ['bought', 'released', 'walkedAway', 'foundNoSeats', 'sessionOver', 'confirmFailed', 'toldSoldOut', 'toldClosed', 'lost'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export interface Tallies {
  joined: number;
  joinFailed: number;
  admitted: number;
  lostTicket: number;
  holds: number;
  seatConflicts: number;
  /** together holds (venues), and together requests answered NO_ADJACENT_SEATS (then bought apart) */
  togetherHolds: number;
  noAdjacent: number;
  /** together holds whose seats were not side by side in one row: must stay 0 */
  togetherBroken: number;
  confirmed: number;
  confirmedSeats: number;
  confirmFailed: number;
  confirmUnknown: number;
  released: number;
  abandoned: number;
  soldOutGaveUp: number;
  sessionOver: number;
  left: number;
  done: number;
}

/** A pre-queue user: the order it joined in (its pre-queue number) and the rank the shuffle gave it. */
export interface PrequeueRank {
  joinOrder: number;
  rank: number;
}

export interface Sample {
  t: number;
  joined: number;
  waiting: number;
  active: number;
  available: number;
  held: number;
  sold: number;
}

const rand = (min: number, max: number) => min + Math.random() * (max - min);
const pick = <T>(items: T[], n: number): T[] => {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i -= 1) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy.slice(0, n);
};
/** How many seats one person wants: mostly pairs; at a venue, groups of 1 to 6. */
function seatsWanted(max: number, venue: boolean): number {
  const r = Math.random();
  const want = venue
    ? r < 0.1 ? 1 : r < 0.45 ? 2 : r < 0.6 ? 3 : r < 0.85 ? 4 : r < 0.92 ? 5 : 6
    : r < 0.2 ? 1 : r < 0.65 ? 2 : r < 0.8 ? 3 : 4;
  return Math.min(want, max);
}

/** Every seat of a layout: its row and its place in that row (to check that "together" held neighbours). */
function seatPlaces(layout: Layout): Map<string, { row: string; at: number }> {
  const places = new Map<string, { row: string; at: number }>();
  for (const s of layout.sections) {
    for (const r of s.rows) {
      const numbers = Array.isArray(r.seats) ? r.seats : Array.from({ length: r.seats }, (_, i) => String(i + 1));
      numbers.forEach((seat, at) => places.set(`${s.sectionId}-${r.rowId}-${seat}`, { row: `${s.sectionId}-${r.rowId}`, at }));
    }
  }
  return places;
}

class Crowd {
  readonly t: Tallies = {
    joined: 0, joinFailed: 0, admitted: 0, lostTicket: 0, holds: 0, seatConflicts: 0, togetherHolds: 0, noAdjacent: 0, togetherBroken: 0, confirmed: 0, confirmedSeats: 0,
    confirmFailed: 0, confirmUnknown: 0, released: 0, abandoned: 0, soldOutGaveUp: 0, sessionOver: 0, left: 0, done: 0,
  };
  /** every seat in every order the clients got back (a seat twice here is a seat sold twice) */
  readonly orderSeats: string[] = [];
  readonly orderIds = new Set<string>();
  soldOutAtMs?: number;
  /** when the clients' confirmed seats first reached 50 / 90 / 99 / 100 % of capacity (ms since start) */
  readonly soldMilestones: Record<string, number> = {};
  readonly prequeueRanks: PrequeueRank[] = [];
  readonly outcomes = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
  readonly toldSoldOutAtMs: number[] = [];
  private readonly path: string;

  constructor(
    private readonly http: Http,
    private readonly o: Options,
    private readonly started: number,
  ) {
    this.path = `/v1/events/${o.eventId}`;
  }

  private think(minMs: number, maxMs: number): Promise<void> {
    return this.o.think > 0 ? sleep(rand(minMs, maxMs) * this.o.think) : Promise.resolve();
  }

  /** Retries what a real client would retry: 503 and network errors, with backoff. */
  private async retrying(endpoint: string, method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Answer> {
    let answer: Answer = { status: 0, body: undefined };
    for (let attempt = 0; attempt < 5; attempt += 1) {
      answer = await this.http.call(endpoint, method, path, body, headers);
      if (answer.status !== 0 && answer.status !== 503) return answer;
      await sleep(200 * 2 ** attempt + rand(0, 200));
    }
    return answer;
  }

  async user(index: number): Promise<void> {
    try {
      this.outcomes[await this.journey(index).catch((): Outcome => 'lost')] += 1;
    } finally {
      this.t.done += 1;
    }
  }

  /** The queue said the sale is over: the user gives up (counted, with when). */
  private told(status: 'soldOut' | 'closed'): Outcome {
    if (status === 'closed') return 'toldClosed';
    this.toldSoldOutAtMs.push(performance.now() - this.started);
    return 'toldSoldOut';
  }

  private async journey(index: number): Promise<Outcome> {
    // A scheduled sale: everyone joins the pre-queue at a random moment in its first 80 %.
    if (this.o.prequeue > 0) await sleep(rand(0, 0.8 * this.o.prequeue * 1000));
    // As a real client does (web/api/client.ts): one Idempotency-Key per person, sent
    // again on every retry, so a join that went through but was answered 503 (or whose
    // answer was lost) gets its ticket back instead of 409 DUPLICATE and no place.
    const joinKey = { 'idempotency-key': randomBytes(18).toString('base64url') };
    const joined = await this.retrying('join', 'POST', `${this.path}/queue`, { userId: `u${index}` }, joinKey);
    if (joined.status !== 202 && joined.status !== 200) {
      this.t.joinFailed += 1;
      if (joined.body?.code === 'SOLD_OUT') return this.told('soldOut');
      if (joined.body?.code === 'QUEUE_CLOSED') return this.told('closed');
      return 'lost';
    }
    this.t.joined += 1;
    let ticket = joined.body.ticket as string;
    let eta = Number(joined.body.etaSeconds) || 1;
    if (joined.body.status === 'prequeue') {
      // No place until the start: wait for it, then the first read hands out the drawn place.
      const joinOrder = Number(/^p(\d+)\./.exec(ticket)?.[1]);
      await sleep(Math.max(0, Date.parse(joined.body.salesStartAt) - Date.now()) + rand(200, 1500));
      for (;;) {
        const status = await this.retrying('status', 'GET', `${this.path}/queue/${ticket}`);
        if (status.status !== 200) {
          this.t.lostTicket += 1;
          return 'lost';
        }
        if (status.body.status === 'soldOut' || status.body.status === 'closed') return this.told(status.body.status);
        if (status.body.status === 'prequeue') {
          await sleep(rand(500, 1000));
          continue;
        }
        if (status.body.ticket) {
          ticket = status.body.ticket as string;
          // The replacement's sequence is the shuffled rank (the pre-queue takes the first sequences of a new event).
          this.prequeueRanks.push({ joinOrder, rank: Number(/^s(\d+)\./.exec(ticket)?.[1]) });
        }
        eta = Number(status.body.etaSeconds) || 1;
        break;
      }
    }

    // Wait: poll about twice per remaining ETA, at least 1 s and at most --poll-max apart.
    let token: string | undefined;
    while (!token) {
      await sleep(Math.min(this.o.pollMax, Math.max(1, eta / 2)) * rand(800, 1200));
      const status = await this.retrying('status', 'GET', `${this.path}/queue/${ticket}`);
      if (status.status !== 200) {
        this.t.lostTicket += 1;
        return 'lost';
      }
      if (status.body.status === 'admitted') token = status.body.accessToken as string;
      else if (status.body.status === 'soldOut' || status.body.status === 'closed') return this.told(status.body.status);
      else eta = Number(status.body.etaSeconds) || 1;
    }
    this.t.admitted += 1;
    const auth = { authorization: `Bearer ${token}` };
    const leave = async () => {
      const r = await this.retrying('leave', 'DELETE', `${this.path}/queue/${ticket}`);
      if (r.status === 204) this.t.left += 1;
    };

    await this.think(300, 2000); // looking at the map
    const hold = await this.tryHold(auth);
    if (hold === 'sessionOver') {
      await leave();
      return 'sessionOver';
    }
    if (!hold) {
      await leave();
      return 'foundNoSeats';
    }

    await this.think(500, 3000); // paying
    const r = Math.random();
    let outcome: Outcome;
    if (r < this.o.confirm) {
      const confirmed = await this.retrying('confirm', 'POST', `${this.path}/holds/${hold.holdId}/confirm`, {}, {
        ...auth,
        'idempotency-key': `c-${hold.holdId}`,
      });
      if (confirmed.status === 201 || confirmed.status === 200) {
        if (!this.orderIds.has(confirmed.body.orderId)) {
          this.orderIds.add(confirmed.body.orderId);
          this.t.confirmed += 1;
          for (const seatId of confirmed.body.seatIds as string[]) this.orderSeats.push(seatId);
          this.t.confirmedSeats += confirmed.body.seatIds.length;
          for (const share of [0.5, 0.9, 0.99, 1]) {
            const key = `${Math.round(share * 100)}%`;
            if (this.soldMilestones[key] === undefined && this.t.confirmedSeats >= Math.ceil(share * this.o.seats)) {
              this.soldMilestones[key] = Math.round((performance.now() - this.started) / 100) / 10;
            }
          }
          if (this.soldOutAtMs === undefined && this.t.confirmedSeats >= this.o.seats) this.soldOutAtMs = performance.now() - this.started;
        }
        outcome = 'bought';
      } else if (confirmed.status === 0 || confirmed.status >= 500) {
        this.t.confirmUnknown += 1;
        outcome = 'confirmFailed';
      } else {
        this.t.confirmFailed += 1;
        outcome = 'confirmFailed';
      }
    } else if (r < this.o.confirm + this.o.release) {
      const released = await this.retrying('release', 'DELETE', `${this.path}/holds/${hold.holdId}`, undefined, auth);
      if (released.status === 204) this.t.released += 1;
      outcome = 'released';
    } else {
      this.t.abandoned += 1; // closes the tab: the hold expires, the session times out
      return 'walkedAway';
    }
    await leave();
    return outcome;
  }

  /**
   * Tries to hold seats; undefined when there are none to be had or the
   * session ended. Lost races are retried at once. When nothing is available
   * but some seats are only held, an impatient person gives up after a couple
   * of looks; a patient one (--patience) keeps looking every 3-6 s until the
   * holds seen could have expired.
   */
  private async tryHold(auth: Record<string, string>): Promise<{ holdId: string } | 'sessionOver' | undefined> {
    let want = seatsWanted(this.o.maxSeatsPerUser, this.o.layout !== undefined);
    const named = Math.random() < this.o.named;
    let together = !named && this.o.layout !== undefined && Math.random() < this.o.together;
    const patient = Math.random() < this.o.patience;
    const giveUpAt = performance.now() + (this.o.holdTtl + 10) * 1000;
    let looks = 0;
    let conflicts = 0;
    /** Nothing available now: wait and look again, or give up. */
    const noneNow = async (held: number): Promise<boolean> => {
      looks += 1;
      if (held === 0) return false; // sold for good
      if (patient ? performance.now() > giveUpAt : looks >= 3) return false;
      await sleep(rand(3000, 6000));
      return true;
    };
    for (;;) {
      let body: { seatIds: string[] } | { quantity: number; together?: boolean };
      if (named) {
        const seats = await this.availableSeats();
        if (seats.ids.length === 0) {
          if (await noneNow(seats.held)) continue;
          break;
        }
        body = { seatIds: pick(seats.ids, Math.min(want, seats.ids.length)) };
      } else {
        body = together ? { quantity: want, together: true } : { quantity: want };
      }
      const r = await this.retrying('hold', 'POST', `${this.path}/holds`, body, auth);
      if (r.status === 201) {
        this.t.holds += 1;
        if (together) this.checkTogether(r.body.seatIds as string[]);
        return r.body;
      }
      const code = r.body?.code;
      if (code === 'NO_ADJACENT_SEATS' && together) {
        // No run that long left: the group sits apart rather than not at all.
        this.t.noAdjacent += 1;
        together = false;
        continue;
      }
      if (code === 'SEAT_UNAVAILABLE' && (conflicts += 1) < 6) {
        this.t.seatConflicts += 1;
        continue;
      }
      if (code === 'SOLD_OUT') {
        const available = Number(r.body?.available);
        if (available > 0) {
          want = Math.min(want, available); // fewer left than wanted: take what there is
          continue;
        }
        const view = await this.retrying('event', 'GET', this.path);
        if (await noneNow(Number(view.body?.held) || 0)) continue;
        break;
      }
      if (code === 'FORBIDDEN') {
        this.t.sessionOver += 1;
        return 'sessionOver';
      }
      break; // anything else: give up
    }
    this.t.soldOutGaveUp += 1;
    return undefined;
  }

  private places?: Map<string, { row: string; at: number }>;

  /** A together hold must be one row, side by side: counted when it is not. */
  private checkTogether(seatIds: string[]): void {
    this.t.togetherHolds += 1;
    this.places ??= seatPlaces(this.o.layout as Layout);
    const at = seatIds.map((id) => this.places!.get(id));
    const ok = at.every((p, i) => p && p.row === at[0]?.row && (i === 0 || p.at === (at[i - 1] as { at: number }).at + 1));
    if (!ok) this.t.togetherBroken += 1;
  }

  /** A page of available seats from a random place in the map (as a person scrolling would see). */
  private async availableSeats(): Promise<{ ids: string[]; held: number }> {
    // A venue seat's cursor is row x 4096 + position (rows numbered from 1).
    const rows = this.o.layout?.sections.reduce((n, s) => n + s.rows.length, 0);
    const cursor = Math.floor(Math.random() * (rows ? (rows + 1) * 4096 : this.o.seats));
    let page = await this.retrying('seats', 'GET', `${this.path}/seats?status=available&limit=50&cursor=${cursor}`);
    if (page.status === 200 && page.body.seats.length < 4 && cursor > 0) {
      page = await this.retrying('seats', 'GET', `${this.path}/seats?status=available&limit=50`);
    }
    if (page.status !== 200) return { ids: [], held: 0 };
    return { ids: (page.body.seats as { seatId: string }[]).map((s) => s.seatId), held: Number(page.body.held) };
  }
}

/** What the crowd phase collected: the report is computed from this alone. */
export interface CrowdRun {
  tallies: Tallies;
  /** every seat in every order the clients got back */
  orderSeats: string[];
  soldOutAtMs?: number;
  soldMilestones: Record<string, number>;
  /** pre-queue users' join order and shuffled rank (--prequeue) */
  prequeueRanks?: PrequeueRank[];
  /** users by how their visit ended (OUTCOMES) */
  outcomes: Record<Outcome, number>;
  /** when (ms since start) each waiting user was told soldOut */
  toldSoldOutAtMs: number[];
  /** ms from the first join until the last user was done */
  crowdDoneMs: number;
  samples: Sample[];
  /** the event (GET /v1/events/:eventId) once the abandoned holds expired, or the deadline passed */
  finalView: any;
  audit: Answer;
}

export async function runCrowd(
  http: Http,
  o: Options,
  base: string,
  admin: Record<string, string>,
  log: (line: string) => void,
  tty: boolean,
): Promise<CrowdRun> {
  const started = performance.now();
  const crowd = new Crowd(http, o, started);
  const samples: Sample[] = [];
  let last: Sample | undefined;
  let lastRequests = 0;
  let lastAt = started;
  let rps = 0;

  // Sampler: the event's counters once a second (its own connection, not the pool).
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const joinedBefore = crowd.t.joined;
      const view = await fetch(`${base}/v1/events/${o.eventId}`).then((r) => r.json() as Promise<any>, () => undefined);
      if (view && typeof view.waiting === 'number') {
        last = { t: performance.now() - started, joined: joinedBefore, waiting: view.waiting, active: view.active, available: view.available, held: view.held, sold: view.sold };
        samples.push(last);
      }
      await sleep(1000);
    }
  })();

  // Progress on stderr: one updating line on a terminal, a line every 5 s otherwise.
  const bar = (done: number, total: number, width = 24) => {
    const filled = Math.round((Math.min(done, total) / Math.max(total, 1)) * width);
    return `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
  };
  const progress = () => {
    const now = performance.now();
    rps = ((http.requests - lastRequests) * 1000) / Math.max(now - lastAt, 1);
    lastRequests = http.requests;
    lastAt = now;
    const t = crowd.t;
    const line =
      `${bar(last?.sold ?? 0, o.seats)} sold ${(last?.sold ?? 0).toLocaleString()}/${o.seats.toLocaleString()}` +
      ` | joined ${t.joined.toLocaleString()}/${o.users.toLocaleString()} | admitted ${t.admitted.toLocaleString()}` +
      ` | waiting ${(last?.waiting ?? 0).toLocaleString()} | done ${t.done.toLocaleString()}` +
      ` | ${Math.round(rps).toLocaleString()} req/s | ${((now - started) / 1000).toFixed(0)} s`;
    process.stderr.write(tty ? `\r\x1b[K${line}` : `${line}\n`);
  };
  const ticker = setInterval(progress, tty ? 250 : 5000);

  await Promise.all(Array.from({ length: o.users }, (_, i) => crowd.user(i)));
  const crowdDoneMs = performance.now() - started;
  clearInterval(ticker);
  progress();
  if (tty) process.stderr.write('\n');

  // Walked-away holds must come back on sale within holdTtl (+1 s for the sweep).
  log(`all users done in ${(crowdDoneMs / 1000).toFixed(1)} s; waiting for abandoned holds to expire`);
  const settleDeadline = performance.now() + (o.holdTtl + 5) * 1000;
  let view: any;
  for (;;) {
    view = (await http.call('event', 'GET', `/v1/events/${o.eventId}`)).body;
    if (view?.held === 0 || performance.now() > settleDeadline) break;
    await sleep(250);
  }
  sampling = false;
  await sampler;
  const audit = await http.call('audit', 'GET', `/v1/events/${o.eventId}/audit`, undefined, admin);
  return {
    tallies: crowd.t,
    orderSeats: crowd.orderSeats,
    soldOutAtMs: crowd.soldOutAtMs,
    soldMilestones: crowd.soldMilestones,
    prequeueRanks: crowd.prequeueRanks,
    outcomes: crowd.outcomes,
    toldSoldOutAtMs: crowd.toldSoldOutAtMs,
    crowdDoneMs,
    samples,
    finalView: view,
    audit,
  };
}

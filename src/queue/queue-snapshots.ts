import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { RecurringJob } from '../common/recurring-job';
import { AdmissionMode, eventStatus, EventStatus, QueueMethod } from '../event/event-status';
import { NonceCache } from './nonce-cache';
import { QueueRepository } from './queue.repository';

/** How often a replica re-reads the head of each event it serves: frames go out within a second of a change. */
export const SNAPSHOT_REFRESH_MS = 500;
/** A read of a snapshot older than this waits for a fresh one (CONTRACT: refreshed at least once a second). */
export const SNAPSHOT_MAX_AGE_MS = 1000;
/** An event nobody asked about for this long (and with no open stream) is no longer refreshed. */
export const SNAPSHOT_IDLE_MS = 5000;
/** Most leaves one refresh reads (a few ms of Redis at most); a replica further behind catches up over the next refreshes. */
export const SNAPSHOT_MAX_LEAVES = 1000;
/** Most join nonces of each kind one refresh reads (4 bytes each: 64 KB, well under a millisecond of Redis). */
export const SNAPSHOT_MAX_NONCES = 16_384;

/** The public queue head (GET /v1/events/:eventId/queue), the same for every caller. */
export interface QueueHeadView {
  status: EventStatus;
  waiting: number;
  admittedThrough: number;
  observedRatePerSecond: number | null;
  /** manual: people are let in by the organiser (POST .../admissions), so no ETA follows from a rate */
  admissionMode: AdmissionMode;
  updatedAt: string;
}

/**
 * What one replica knows of one event's queue, at most SNAPSHOT_MAX_AGE_MS
 * old. With the ticket (its sequence) it answers a waiting ticket without
 * Redis: position = seq - head.
 */
export interface QueueSnapshot {
  queue: 'streams' | 'zset';
  /** the event's createdAt (ms): tickets are signed for it */
  epoch: number;
  /**
   * last sequence admitted: a ticket at or below it had its turn. Never
   * lower than a head this replica saw before (in a refresh or a script's
   * reply), so its answers never go back in time (invariant 12).
   */
  head: number;
  /** the last sequence handed out when read */
  seq: number;
  status: EventStatus;
  /** the rate etaSeconds divides by: observed over the last minute, else configured */
  etaRate: number;
  /** Streams sequences above head that left (from the event's `left` announcements) */
  left: ReadonlySet<number>;
  /** sequences above head whose turn came (a random draw's 'a<seq>' announcement, or a script said so): their next read asks Redis */
  taken: ReadonlySet<number>;
  /** join nonces by sequence this replica has read (lua/includes/nonces.lua) */
  nonces: NonceReader;
  /** join nonces by pre-queue number */
  pnonces: NonceReader;
  /** pre-queue numbers that left before the seal ('p<pn>' announcements) */
  leftPrequeue: ReadonlySet<number>;
  queueMethod: QueueMethod;
  /** ms, 0: no pre-queue */
  salesStartAt: number;
  /** Redis time (ms) when the read ran: with readAt, this replica's estimate of Redis time now (redisNow) */
  nowMs: number;
  /** the sequences the sealed pre-queue holds (base, end]; null before the seal */
  prequeue: { base: number; end: number } | null;
  /** false while this replica has not read every announced leave yet: ticket reads then ask Redis */
  leftComplete: boolean;
  view: QueueHeadView;
  /** the view as sent, and its ETag */
  viewJson: string;
  etag: string;
  /** counts refreshes of this event on this replica: streams wait for a larger one */
  version: number;
  /** performance.now() when the read was sent (its data is at least that recent) */
  readAt: number;
}

/** Redis time now as this replica estimates it from a snapshot: its clock reading plus the time since. */
export const redisNow = (s: QueueSnapshot): number => s.nowMs + (performance.now() - s.readAt);

/** salesStartAt reached (Redis time): the pre-queue's order is fixed, its tickets have a place. */
export const salesStarted = (s: QueueSnapshot): boolean => s.salesStartAt === 0 || redisNow(s) >= s.salesStartAt;

/** A nonce look-up: the stored nonce (0: none written), undefined when this replica has not read it. */
export interface NonceReader {
  get(n: number): number | undefined;
}

interface Entry {
  snapshot?: QueueSnapshot;
  refreshing?: Promise<QueueSnapshot | null>;
  askedAt: number;
  watchers: number;
  waiters: Set<(s: QueueSnapshot | null) => void>;
  seenLeftVersion: number;
  left: Set<number>;
  taken: Set<number>;
  leftPrequeue: Set<number>;
  nonces: NonceCache;
  pnonces: NonceCache;
  /** nonces of joins made through this replica, until a refresh has read them */
  recent: Map<number, number>;
  /** the same by pre-queue number */
  recentP: Map<number, number>;
  /** the highest head seen (refreshes and script replies) */
  headFloor: number;
}

/**
 * Per-event queue snapshots on this replica: one queueHead script per event
 * every SNAPSHOT_REFRESH_MS, only for events someone asked about in the last
 * SNAPSHOT_IDLE_MS or with an open status stream. Every status read and
 * every open stream of that event shares it, so N waiting users who look
 * cost Redis the same as one.
 */
@Injectable()
export class QueueSnapshots extends RecurringJob {
  private readonly entries = new Map<string, Entry>();
  /** queueHead calls made by this replica (tests compare them with Redis's own counts) */
  refreshes = 0;
  /** queueHead calls sent and not answered yet */
  inFlight = 0;

  constructor(private readonly repo: QueueRepository) {
    super('QueueSnapshots', SNAPSHOT_REFRESH_MS);
  }

  /** A snapshot at most SNAPSHOT_MAX_AGE_MS old; null when the event does not exist. */
  async get(eventId: string): Promise<QueueSnapshot | null> {
    const entry = this.entry(eventId);
    entry.askedAt = performance.now();
    const s = entry.snapshot;
    if (s && performance.now() - s.readAt < SNAPSHOT_MAX_AGE_MS) return s;
    return this.refresh(eventId, entry);
  }

  /**
   * Resolves with the first snapshot newer than `afterVersion` (at once when
   * there is one), null when the event is gone, undefined when `signal` aborts.
   */
  next(eventId: string, afterVersion: number, signal: AbortSignal): Promise<QueueSnapshot | null | undefined> {
    const entry = this.entry(eventId);
    if (entry.snapshot && entry.snapshot.version > afterVersion) return Promise.resolve(entry.snapshot);
    if (signal.aborted) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const done = (s: QueueSnapshot | null | undefined) => {
        entry.waiters.delete(done);
        signal.removeEventListener('abort', onAbort);
        resolve(s);
      };
      const onAbort = () => done(undefined);
      entry.waiters.add(done);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Keeps an event refreshed while a stream is open; call the returned function when it closes. */
  watch(eventId: string): () => void {
    const entry = this.entry(eventId);
    entry.watchers += 1;
    let open = true;
    return () => {
      if (open) entry.watchers -= 1;
      open = false;
    };
  }

  /**
   * A Streams ticket this replica just saw leave: refused here at once (other
   * replicas learn of it from the event's `left` announcements on their next refresh).
   */
  noteLeft(eventId: string, seq: number): void {
    const entry = this.entries.get(eventId);
    if (entry?.snapshot && seq > entry.snapshot.head) entry.left.add(seq);
  }

  /** For the metrics: per event kept fresh (asked about lately or streamed), its snapshot's age and its open streams. */
  freshness(): { eventId: string; ageMs: number; streams: number }[] {
    const now = performance.now();
    return [...this.entries]
      .filter(([, e]) => e.snapshot && (e.watchers > 0 || now - e.askedAt < SNAPSHOT_IDLE_MS))
      .map(([eventId, e]) => ({ eventId, ageMs: now - e.snapshot!.readAt, streams: e.watchers }));
  }

  /** A pre-queue ticket this replica just saw leave before the seal. */
  noteLeftPrequeue(eventId: string, pn: number): void {
    this.entries.get(eventId)?.leftPrequeue.add(pn);
  }

  /**
   * A script's reply showed the queue's head at `head` (a join's position,
   * a status read, an admission): this replica's answers start from there
   * at once, so none of them says less than a reply it gave already.
   */
  noteHead(eventId: string, epoch: number, head: number): void {
    const entry = this.entries.get(eventId);
    const s = entry?.snapshot;
    if (!entry || !s || s.epoch !== epoch || head <= s.head) return;
    entry.headFloor = head;
    entry.snapshot = { ...s, head };
  }

  /** A script said this sequence's turn came (admitted): its reads ask Redis from now on, never answer waiting. */
  noteAdmitted(eventId: string, epoch: number, seq: number): void {
    const entry = this.entries.get(eventId);
    if (entry?.snapshot && entry.snapshot.epoch === epoch && seq > entry.snapshot.head) entry.taken.add(seq);
  }

  /**
   * A join through this replica took sequence ('s') or pre-queue number
   * ('p') n with this nonce: its ticket is known here before the next
   * refresh reads it. If this replica read another nonce for n, Redis lost
   * the join that had it: what was read goes at once (the next refresh reads
   * again), so the lost ticket is refused now, not a refresh later.
   */
  noteJoined(eventId: string, epoch: number, kind: 's' | 'p', n: number, nonce: number): void {
    const entry = this.entries.get(eventId);
    if (!entry?.snapshot || entry.snapshot.epoch !== epoch) return;
    const read = (kind === 's' ? entry.nonces : entry.pnonces).get(n);
    if (read !== undefined && read !== nonce) this.forget(entry);
    const recent = kind === 's' ? entry.recent : entry.recentP;
    if (recent.size < 100_000) recent.set(n, nonce);
  }

  /** Redis lost writes this replica had read: everything learned from them goes, and the next refresh reads again from the head. */
  private forget(entry: Entry): void {
    entry.left.clear();
    entry.taken.clear();
    entry.leftPrequeue.clear();
    entry.recent.clear();
    entry.recentP.clear();
    entry.seenLeftVersion = 0;
    entry.headFloor = 0;
    entry.nonces.clear();
    entry.pnonces.clear();
    if (entry.snapshot) entry.snapshot = { ...entry.snapshot, leftComplete: false };
  }

  protected async runOnce(): Promise<void> {
    const now = performance.now();
    const due: Promise<unknown>[] = [];
    for (const [eventId, entry] of this.entries) {
      if (entry.watchers > 0 || now - entry.askedAt < SNAPSHOT_IDLE_MS) {
        // A failed refresh (Redis away) leaves the snapshot to age: reads then
        // refresh themselves and answer 503, open streams wait for the next one.
        due.push(this.refresh(eventId, entry).catch(() => undefined));
      } else if (entry.waiters.size === 0) {
        this.entries.delete(eventId);
      }
    }
    await Promise.all(due);
  }

  private entry(eventId: string): Entry {
    let entry = this.entries.get(eventId);
    if (!entry) {
      entry = {
        askedAt: performance.now(), watchers: 0, waiters: new Set(), seenLeftVersion: 0, left: new Set(), taken: new Set(), leftPrequeue: new Set(),
        nonces: new NonceCache(), pnonces: new NonceCache(), recent: new Map(), recentP: new Map(), headFloor: 0,
      };
      this.entries.set(eventId, entry);
    }
    return entry;
  }

  /** One queueHead call per event at a time: concurrent readers share it. */
  private refresh(eventId: string, entry: Entry): Promise<QueueSnapshot | null> {
    entry.refreshing ??= this.read(eventId, entry).finally(() => (entry.refreshing = undefined));
    return entry.refreshing;
  }

  private async read(eventId: string, entry: Entry): Promise<QueueSnapshot | null> {
    this.refreshes += 1;
    // The age counts from before the call: whatever it returns is newer than that.
    const started = performance.now();
    this.inFlight += 1;
    const seqCursor = entry.nonces.cursor();
    const pnCursor = entry.pnonces.cursor();
    const h = await this.repo
      .queueHead(eventId, entry.seenLeftVersion, SNAPSHOT_MAX_LEAVES, {
        check: seqCursor.check, from: seqCursor.from, pcheck: pnCursor.check, pfrom: pnCursor.from || 1, max: SNAPSHOT_MAX_NONCES,
      })
      .finally(() => (this.inFlight -= 1));
    if (!h) {
      // Gone (or never created): forget what was known, tell open streams.
      this.entries.delete(eventId);
      for (const w of [...entry.waiters]) w(null);
      return null;
    }
    const previous = entry.snapshot;
    // Redis lost writes this replica had read (a nonce it read is gone or
    // another now), or the event was deleted and created again: what it
    // learned from them goes, and it reads again.
    const seqKept = entry.nonces.apply(h.nonces, seqCursor.generation);
    const pnKept = entry.pnonces.apply(h.pnonces, pnCursor.generation);
    const lost = !seqKept || !pnKept || (previous !== undefined && previous.epoch === h.epoch && h.seq < previous.seq);
    // Read again from the head on the next refresh; until then reads ask Redis.
    if (lost || (previous && previous.epoch !== h.epoch)) this.forget(entry);
    if (h.leftVersion < entry.seenLeftVersion) entry.seenLeftVersion = 0;
    const head = Math.max(h.head, entry.headFloor);
    entry.headFloor = head;
    for (const seq of entry.recent.keys()) if (seq < entry.nonces.end || seq <= head) entry.recent.delete(seq);
    for (const pn of entry.recentP.keys()) if (pn < entry.pnonces.end) entry.recentP.delete(pn);
    entry.nonces.dropBelow(head + 1);
    for (const [member, version] of h.leaves) {
      // '<seq>' left, 'a<seq>' taken by a random draw, 'p<pn>' left the pre-queue before the seal.
      if (member.startsWith('p')) entry.leftPrequeue.add(Number(member.slice(1)));
      else if (member.startsWith('a')) {
        if (Number(member.slice(1)) > head) entry.taken.add(Number(member.slice(1)));
      } else if (Number(member) > head) entry.left.add(Number(member));
      entry.seenLeftVersion = version;
    }
    if (h.leaves.length < SNAPSHOT_MAX_LEAVES) entry.seenLeftVersion = h.leftVersion;
    if (!previous || previous.head !== head) {
      for (const seq of entry.left) if (seq <= head) entry.left.delete(seq);
      for (const seq of entry.taken) if (seq <= head) entry.taken.delete(seq);
    }

    const status = eventStatus(h);
    const same =
      previous &&
      previous.epoch === h.epoch &&
      previous.view.status === status &&
      previous.view.waiting === h.waiting &&
      previous.view.admittedThrough === head &&
      previous.view.observedRatePerSecond === h.observedRate &&
      previous.view.admissionMode === h.admissionMode;
    let view: QueueHeadView, viewJson: string, etag: string;
    if (same) {
      ({ view, viewJson, etag } = previous);
    } else {
      view = {
        status,
        waiting: h.waiting,
        admittedThrough: head,
        observedRatePerSecond: h.observedRate,
        admissionMode: h.admissionMode,
        updatedAt: new Date(h.nowMs).toISOString(),
      };
      viewJson = JSON.stringify(view);
      etag = `"${createHash('sha1').update(viewJson).digest('base64url').slice(0, 16)}"`;
    }
    const snapshot: QueueSnapshot = {
      queue: h.queue,
      epoch: h.epoch,
      head,
      seq: h.seq,
      status,
      etaRate: h.observedRate ?? h.ratePerSecond,
      left: entry.left,
      taken: entry.taken,
      nonces: { get: (n) => entry.nonces.get(n) ?? entry.recent.get(n) },
      pnonces: { get: (n) => entry.pnonces.get(n) ?? entry.recentP.get(n) },
      leftPrequeue: entry.leftPrequeue,
      queueMethod: h.queueMethod,
      salesStartAt: h.salesStartAt,
      nowMs: h.nowMs,
      prequeue: h.prequeue,
      leftComplete: entry.seenLeftVersion >= h.leftVersion,
      view,
      viewJson,
      etag,
      version: (previous?.version ?? 0) + 1,
      readAt: started,
    };
    entry.snapshot = snapshot;
    for (const w of [...entry.waiters]) w(snapshot);
    return snapshot;
  }
}

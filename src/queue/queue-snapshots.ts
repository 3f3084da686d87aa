import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { RecurringJob } from '../common/recurring-job';
import { AdmissionMode, eventStatus, EventStatus, QueueMethod } from '../event/event-status';
import { QueueRepository } from './queue.repository';

/** How often a replica re-reads the head of each event it serves: frames go out within a second of a change. */
export const SNAPSHOT_REFRESH_MS = 500;
/** A read of a snapshot older than this waits for a fresh one (CONTRACT: refreshed at least once a second). */
export const SNAPSHOT_MAX_AGE_MS = 1000;
/** An event nobody asked about for this long (and with no open stream) is no longer refreshed. */
export const SNAPSHOT_IDLE_MS = 5000;
/** Most leaves one refresh reads (a few ms of Redis at most); a replica further behind catches up over the next refreshes. */
export const SNAPSHOT_MAX_LEAVES = 1000;

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
  /** last sequence admitted: a ticket at or below it had its turn */
  head: number;
  status: EventStatus;
  /** the rate etaSeconds divides by: observed over the last minute, else configured */
  etaRate: number;
  /** Streams sequences above head that left (from the event's `left` announcements) */
  left: ReadonlySet<number>;
  /** sequences above head a random draw admitted ('a<seq>' announcements): their next read asks Redis */
  taken: ReadonlySet<number>;
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

  /** A pre-queue ticket this replica just saw leave before the seal. */
  noteLeftPrequeue(eventId: string, pn: number): void {
    this.entries.get(eventId)?.leftPrequeue.add(pn);
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
    const h = await this.repo.queueHead(eventId, entry.seenLeftVersion, SNAPSHOT_MAX_LEAVES).finally(() => (this.inFlight -= 1));
    if (!h) {
      // Gone (or never created): forget what was known, tell open streams.
      this.entries.delete(eventId);
      for (const w of [...entry.waiters]) w(null);
      return null;
    }
    const previous = entry.snapshot;
    if (previous && previous.epoch !== h.epoch) {
      // The event was deleted and created again: its leaves are new ones.
      entry.left.clear();
      entry.taken.clear();
      entry.leftPrequeue.clear();
      entry.seenLeftVersion = 0;
    }
    if (h.leftVersion < entry.seenLeftVersion) entry.seenLeftVersion = 0;
    for (const [member, version] of h.leaves) {
      // '<seq>' left, 'a<seq>' taken by a random draw, 'p<pn>' left the pre-queue before the seal.
      if (member.startsWith('p')) entry.leftPrequeue.add(Number(member.slice(1)));
      else if (member.startsWith('a')) {
        if (Number(member.slice(1)) > h.head) entry.taken.add(Number(member.slice(1)));
      } else if (Number(member) > h.head) entry.left.add(Number(member));
      entry.seenLeftVersion = version;
    }
    if (h.leaves.length < SNAPSHOT_MAX_LEAVES) entry.seenLeftVersion = h.leftVersion;
    if (!previous || previous.head !== h.head) {
      for (const seq of entry.left) if (seq <= h.head) entry.left.delete(seq);
      for (const seq of entry.taken) if (seq <= h.head) entry.taken.delete(seq);
    }

    const status = eventStatus(h);
    const same =
      previous &&
      previous.epoch === h.epoch &&
      previous.view.status === status &&
      previous.view.waiting === h.waiting &&
      previous.view.admittedThrough === h.head &&
      previous.view.observedRatePerSecond === h.observedRate &&
      previous.view.admissionMode === h.admissionMode;
    let view: QueueHeadView, viewJson: string, etag: string;
    if (same) {
      ({ view, viewJson, etag } = previous);
    } else {
      view = {
        status,
        waiting: h.waiting,
        admittedThrough: h.head,
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
      head: h.head,
      status,
      etaRate: h.observedRate ?? h.ratePerSecond,
      left: entry.left,
      taken: entry.taken,
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

import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { DomainError } from '../common/domain-error';
import { redisConfig } from '../config/configuration';
import { RecurringJob } from '../common/recurring-job';
import { setTimeout as sleep } from 'node:timers/promises';
import { SNAPSHOT_IDLE_MS, SNAPSHOT_MAX_AGE_MS, SNAPSHOT_REFRESH_MS } from '../queue/queue-snapshots';
import { buildLayout, SeatChunk, SeatLayout, SeatMap } from './seat-map';
import { SeatMapRepository } from './seat-map.repository';
import { ReplyCode } from '../redis/script-replies';
import { ScriptRegistry } from '../redis/script-registry';

/**
 * Seats per whole-map chunk: under a millisecond of Redis CPU at 100,000 seats (bench "Seat map": 500 a
 * call cost 1.1-1.5 ms of Redis CPU on the loaded bench machine, 1,000 a median of 3.6 ms).
 */
export const SEAT_CHUNK = 250;
/**
 * How old a map a read may still be answered with when Redis does not answer a
 * refresh within a command timeout (frozen, failing over, just thawed).
 */
export const SEAT_STALE_MAX_MS = 10_000;

/** Change-log entries per refresh call (each a hold's, release's, confirm's or expiry's seats: up to 20). */
export const SEAT_CHANGES_MAX = 250;
/** Entries the change log keeps (SEAT_LOG_SIZE in lua/includes/layout.lua). */
const SEAT_LOG_SIZE = 4096;
/**
 * Calls one refresh makes at most to catch up with the log: enough for all of
 * it. A refresh only counts once caught up (a read after a change must see
 * it); one that still trails after these reads the whole map instead.
 */
const MAX_CATCH_UP_CALLS = Math.ceil(SEAT_LOG_SIZE / SEAT_CHANGES_MAX) + 1;
/** A snapshot nobody read for this long is dropped (kept a while past SNAPSHOT_IDLE_MS so a returning reader catches up from the log). */
export const SEAT_SNAPSHOT_KEEP_MS = 60_000;
/** Whole-map reads tried before giving up (the log moved past the read, or the event was re-created, each time). */
const FULL_READ_ATTEMPTS = 3;

/** The scripts that change seats (sweep only when it expired a hold); KEYS[1] of each is the event's meta key. */
const SEAT_WRITERS = new Set(['hold', 'release', 'confirm', 'sweep', 'reclaimHold']);

interface Entry {
  map?: SeatMap;
  refreshing?: Promise<SeatMap | null>;
  askedAt: number;
  /** performance.now() when the read behind `map` was sent */
  readAt: number;
  /** the map's version when last refreshed (the map itself moves in place) */
  version: number;
  /** performance.now() of this replica's last seat change on the event (-1: none) */
  touchedAt: number;
  /** reads waiting for the next refresh to end */
  waiters: Set<() => void>;
}

/**
 * Per-event seat snapshots on this replica (CONTRACT "Looking at seats costs
 * nothing"), run like the queue snapshots (src/queue/queue-snapshots.ts): an
 * event someone read in the last SNAPSHOT_IDLE_MS is refreshed every
 * SNAPSHOT_REFRESH_MS, a read finds a snapshot at most SNAPSHOT_MAX_AGE_MS
 * old, and every reader of the event shares it, so N readers cost Redis what
 * one does. A refresh is one seatChanges call: the seat version and the
 * change-log entries since the snapshot's (O(changes)); only a snapshot
 * that fell more than the log's length behind, or a first read, reads the
 * whole map, in SEAT_CHUNK-seat calls.
 */
/** The entry's map was read after `after` (a change this replica made) and is young enough to answer with. */
function fresh(entry: Entry, after: number): entry is Entry & { map: SeatMap } {
  return entry.map !== undefined && entry.readAt > after && performance.now() - entry.readAt < SNAPSHOT_MAX_AGE_MS;
}

@Injectable()
export class SeatSnapshots extends RecurringJob {
  private readonly entries = new Map<string, Entry>();
  /** Redis calls made by this replica for seat snapshots (tests compare them with Redis's own counts) */
  calls = 0;
  /** calls sent and not answered yet */
  inFlight = 0;
  /** refreshes that found seats changed (log entries applied, or a whole-map read) */
  changedRefreshes = 0;
  /** performance.now() of the periodic run's last tick: reads wait for the next one only while it ticks */
  private tickedAt = -Infinity;

  constructor(
    private readonly repo: SeatMapRepository,
    scripts: ScriptRegistry,
    @Inject(redisConfig.KEY) private readonly redisSettings: ConfigType<typeof redisConfig>,
  ) {
    super('SeatSnapshots', SNAPSHOT_REFRESH_MS);
    // Every seat change this replica makes goes through one of these scripts.
    scripts.observe({
      onReply: (script, keys, reply) => {
        if (reply[0] === ReplyCode.OK && SEAT_WRITERS.has(script) && (script !== 'sweep' || reply[1] !== 0)) {
          const eventId = /\{([^}]*)\}/.exec(keys[0])?.[1];
          if (eventId !== undefined) this.touched(eventId);
        }
      },
      onError: () => undefined,
    });
  }

  /**
   * The event's seat map, at most SNAPSHOT_MAX_AGE_MS old and newer than
   * any seat change this replica made (touched); null when the event does
   * not exist. A read after such a change waits for the next periodic
   * refresh (at most SNAPSHOT_REFRESH_MS) rather than making one: a
   * replica's own holds show in its next answers, and however many buyers
   * write and read, an event costs Redis one refresh per period. Only a
   * first read, or one of an event not refreshed lately, refreshes itself.
   */
  async get(eventId: string): Promise<SeatMap | null> {
    // A read may wait for the next periodic refresh and then for its calls: with Redis
    // frozen or just thawed that is a tick plus command timeouts, past the CONTRACT's
    // bound for an answer (REDIS_COMMAND_TIMEOUT_MS + 200 ms). So a read waits one command
    // timeout at most; then it answers from the map it has, if that is recent (Redis is
    // not answering, so nothing newer can be known), and 503 without one.
    // Most reads find the map fresh: they answer at once, with no timer.
    const known = this.entries.get(eventId);
    if (known && fresh(known, known.touchedAt)) {
      known.askedAt = performance.now();
      return known.map;
    }
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), this.redisSettings.commandTimeoutMs);
    });
    const current = this.current(eventId);
    current.catch(() => undefined); // a refresh that fails after the deadline has no one to tell
    try {
      const map = await Promise.race([current, late]);
      if (map !== 'late') return map;
      const entry = this.entries.get(eventId);
      if (entry?.map && performance.now() - entry.readAt < SEAT_STALE_MAX_MS) return entry.map;
      throw new DomainError('UNAVAILABLE', 'The seat map could not be read in time; retry shortly.');
    } finally {
      clearTimeout(timer);
    }
  }

  private async current(eventId: string): Promise<SeatMap | null> {
    let entry = this.entries.get(eventId);
    if (!entry) {
      entry = { askedAt: 0, readAt: 0, version: 0, touchedAt: -1, waiters: new Set() };
      this.entries.set(eventId, entry);
    }
    const polled = performance.now() - entry.askedAt < SNAPSHOT_IDLE_MS && performance.now() - this.tickedAt < 2 * SNAPSHOT_REFRESH_MS;
    entry.askedAt = performance.now();
    // A refresh sent after this replica's last change of the event's seats shows it.
    const after = entry.touchedAt;
    for (let waited = false; ; ) {
      if (fresh(entry, after)) return entry.map;
      if (entry.refreshing) {
        if ((await entry.refreshing) === null) return null;
        continue;
      }
      if (entry.map && polled && !waited && performance.now() - entry.readAt < SNAPSHOT_MAX_AGE_MS) {
        waited = true;
        await this.nextRefresh(entry);
        continue;
      }
      if ((await this.refresh(eventId, entry)) === null) return null;
    }
  }

  /** Resolves when the entry's next refresh ends (or after SNAPSHOT_MAX_AGE_MS, whichever comes first). */
  private nextRefresh(entry: Entry): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        entry.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, SNAPSHOT_MAX_AGE_MS);
      entry.waiters.add(done);
    });
  }

  /** This replica changed seats of the event (hold, release, confirm, expiry): its next reads see it. */
  touched(eventId: string): void {
    const entry = this.entries.get(eventId);
    if (entry) entry.touchedAt = performance.now();
  }

  protected async runOnce(): Promise<void> {
    const now = performance.now();
    this.tickedAt = now;
    const due: Promise<unknown>[] = [];
    for (const [eventId, entry] of this.entries) {
      if (now - entry.askedAt < SNAPSHOT_IDLE_MS) {
        // A first read may just have refreshed it.
        if (now - entry.readAt < SNAPSHOT_REFRESH_MS / 2) continue;
        // A failed refresh (Redis away) leaves the snapshot to age: reads then refresh themselves and answer 503.
        due.push(this.refresh(eventId, entry).catch(() => undefined));
      } else if (now - entry.askedAt > SEAT_SNAPSHOT_KEEP_MS && !entry.refreshing) {
        this.entries.delete(eventId);
      }
    }
    await Promise.all(due);
  }

  /** One refresh per event at a time: concurrent readers share it. */
  private refresh(eventId: string, entry: Entry): Promise<SeatMap | null> {
    entry.refreshing ??= this.read(eventId, entry).finally(() => {
      entry.refreshing = undefined;
      for (const done of [...entry.waiters]) done();
    });
    return entry.refreshing;
  }

  private async call<T>(work: () => Promise<T>): Promise<T> {
    this.calls += 1;
    this.inFlight += 1;
    try {
      return await work();
    } finally {
      this.inFlight -= 1;
    }
  }

  private async read(eventId: string, entry: Entry): Promise<SeatMap | null> {
    // The age counts from before the first call: whatever it returns is newer than that.
    const started = performance.now();
    const before = entry.map;
    const followed = before ? await this.follow(eventId, before) : 'recreated';
    const map = typeof followed === 'string' ? await this.wholeMap(eventId, followed === 'behind' ? before?.layout : undefined) : followed;
    if (map === null) {
      // Gone (deleted, or never created): forget what was known.
      entry.map = undefined;
      this.entries.delete(eventId);
      return null;
    }
    if (map !== before || map.version !== entry.version) this.changedRefreshes += 1;
    entry.map = map;
    entry.version = map.version;
    entry.readAt = started;
    return map;
  }

  /**
   * Brings `map` up to date from the change log, in place, in calls of
   * SEAT_CHANGES_MAX entries. null: the event is gone; 'behind': the log no
   * longer reaches back to the map's version, or its entry there is not the
   * one the map applied (Redis lost writes and reused the version: the tags
   * differ), or writes outran MAX_CATCH_UP_CALLS calls; 'recreated': the
   * event was deleted and created again.
   */
  private async follow(eventId: string, map: SeatMap): Promise<SeatMap | null | 'behind' | 'recreated'> {
    for (let calls = 0; calls < MAX_CATCH_UP_CALLS; calls += 1) {
      const c = await this.call(() => this.repo.changes(eventId, map.version, map.tag, SEAT_CHANGES_MAX));
      if (!c) return null;
      if (c.epoch !== map.epoch) return 'recreated';
      if (!c.reachable) return 'behind';
      map.apply(c.entries, map.version + c.entries.length, c.tag);
      if (map.version >= c.version) return map;
    }
    return 'behind';
  }

  /**
   * Reads every seat in SEAT_CHUNK-seat calls (with the layout unless this
   * creation's is `known`), then follows the change log from the first
   * chunk's version: every seat a later chunk read is then up to date too,
   * since each logged change sets a seat's state outright. null: the event is gone.
   */
  private async wholeMap(eventId: string, known?: SeatLayout): Promise<SeatMap | null> {
    let layout = known;
    for (let attempt = 1; attempt <= FULL_READ_ATTEMPTS; attempt += 1) {
      const chunks: SeatChunk[] = [];
      for (let after = 0; ; after = chunks.at(-1)!.next) {
        const chunk = await this.call(() => this.repo.chunk(eventId, after, SEAT_CHUNK, !layout));
        if (!chunk) return null;
        chunks.push(chunk);
        if (chunk.epoch !== chunks[0].epoch || chunk.epoch !== (layout?.epoch ?? chunk.epoch) || chunk.next === 0) break;
      }
      const first = chunks[0];
      const last = chunks.at(-1)!;
      if (last.epoch !== first.epoch || first.epoch !== (layout?.epoch ?? first.epoch)) {
        // Created again during the read (or since the layout was read): read the new one whole.
        layout = undefined;
        continue;
      }
      layout ??= buildLayout(chunks);
      const followed = await this.follow(eventId, new SeatMap(layout, chunks.map((c) => c.states).join(''), first.version, first.tag));
      if (typeof followed !== 'string') return followed;
      if (followed === 'recreated') layout = undefined;
    }
    throw new Error(`the seat map of ${eventId} changed faster than it could be read (${FULL_READ_ATTEMPTS} attempts)`);
  }
}

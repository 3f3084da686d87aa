import { Injectable } from '@nestjs/common';
import { RecurringJob } from '../common/recurring-job';
import { EventRegistry } from './event-registry';
import { EventProbe, EventRepository } from './event.repository';

/** How often each replica looks at every event it does not know to be finished. */
export const PROBE_PERIOD_MS = 1000;
/** Events probed per batch: bounds what one replica has in flight. */
const PROBE_BATCH = 1000;
/**
 * Admission ticks go on this long past the last session end, so the tick
 * that prunes the last ended session runs even with clocks a little apart.
 */
const SESSION_GRACE_MS = 5000;

/** What one event needs from the background loops, decided from one probe. */
export interface EventNeeds {
  /** 'tick': admit every tick (someone waits); 'prune': once a second (sessions to end); 'none' */
  admit: 'tick' | 'prune' | 'none';
  /** sweep every sweep period: seats are held (live or due holds, or a stranded seat) */
  sweep: boolean;
  /** nothing will ever happen again unless an admin changes the event (closed, nothing live) or it is gone */
  finished: boolean;
}

const NOTHING: EventNeeds = { admit: 'none', sweep: false, finished: true };

/** The needs of an event from its probe (null: the event is gone), at replica time `now` (ms). */
export function needsOf(p: EventProbe | null, now: number): EventNeeds {
  if (!p) return NOTHING;
  const closed = p.endsAt > 0 && now >= p.endsAt;
  // Sold out (nothing available, nothing held): nobody more can be admitted.
  const soldOut = p.available === 0 && p.held === 0;
  // Pre-queue entries wait too, but nobody is admitted before salesStartAt.
  const waiting = (p.seq > p.drained || p.pqWaiting > 0) && !(p.salesStartAt > now);
  const sessions = p.sessionsUntil + SESSION_GRACE_MS > now;
  // A manual event is admitted only by POST .../admissions: its ticks just end sessions.
  const admit = waiting && !p.manual && !p.paused && !closed && !soldOut ? 'tick' : sessions ? 'prune' : 'none';
  const sweep = p.held > 0;
  return { admit, sweep, finished: closed && !sessions && !sweep };
}

/**
 * Which events this replica's admitter and sweeper work on, so that an idle
 * event costs one cheap read per replica per second and a finished one
 * nothing (CONTRACT "Scale").
 *
 * Every PROBE_PERIOD_MS it reads the registry and, for each listed event,
 * one HMGET of its hash: seq against drained (someone waits: the admit
 * script records 'drained' when it finds the queue empty, a join raises
 * seq), held (holds to expire), sessionsUntil, paused and endsAt. Cluster
 * slots rule out one cross-event set that the scripts keep up to date, so
 * each event's own hash says what it needs, written atomically by the
 * scripts that change it.
 *
 * A probe can be up to a period old, so what this replica itself just did
 * counts at once: a join marks its event as waiting and a hold as held
 * until a probe that started after the mark has answered. Other replicas
 * learn of it from their next probe, within a second, which is less than any
 * hold's lifetime, so holds still come back within 1 s of expiry.
 *
 * An event that is closed with nothing live, or gone (deleted, or listed but
 * never created), is finished: not probed again until its registry revision
 * changes (a PATCH, or a new event of the same id). Deleted events leave the
 * registry altogether.
 */
@Injectable()
export class EventActivity extends RecurringJob {
  private needs = new Map<string, EventNeeds>();
  /** finished events, with the registry revision they were finished at */
  private readonly finished = new Map<string, number>();
  /** this replica's own joins and holds since the last probe began: id -> when */
  private readonly joined = new Map<string, number>();
  private readonly held = new Map<string, number>();
  /** events whose sessions were pruned since the last probe */
  private readonly pruned = new Set<string>();

  constructor(
    private readonly registry: EventRegistry,
    private readonly events: EventRepository,
  ) {
    super('EventActivity', PROBE_PERIOD_MS);
  }

  protected runOnce(): Promise<void> {
    return this.probe();
  }

  /** A replica that just started looks at once rather than a period later. */
  override onApplicationBootstrap(): void {
    super.onApplicationBootstrap();
    this.probe().catch(() => undefined); // the periodic run logs failures
  }

  /** Reads the registry and probes every event not known to be finished. */
  async probe(): Promise<void> {
    const startedAt = performance.now();
    const listed = await this.registry.read();
    for (const [id, revision] of this.finished) {
      if (listed.get(id) !== revision) this.finished.delete(id);
    }
    const ids = [...listed.keys()].filter((id) => !this.finished.has(id));
    const next = new Map<string, EventNeeds>();
    for (let i = 0; i < ids.length; i += PROBE_BATCH) {
      const batch = ids.slice(i, i + PROBE_BATCH);
      const probes = await this.events.probe(batch);
      const now = Date.now();
      batch.forEach((id, j) => {
        const needs = needsOf(probes[j], now);
        if (needs.finished) this.finished.set(id, listed.get(id)!);
        next.set(id, needs);
      });
    }
    this.needs = next;
    this.pruned.clear();
    // Marks made before this probe began are in what it read.
    for (const marks of [this.joined, this.held]) {
      for (const [id, at] of marks) if (at < startedAt) marks.delete(id);
    }
  }

  /** Events to admit on this tick; an event that only has sessions to end comes once per probe. */
  admitTargets(): string[] {
    const out = new Set(this.joined.keys());
    for (const [id, n] of this.needs) {
      if (n.admit === 'tick' || (n.admit === 'prune' && !this.pruned.has(id))) out.add(id);
    }
    for (const id of out) if (this.needs.get(id)?.admit !== 'tick') this.pruned.add(id);
    return [...out];
  }

  /** Events to sweep now. */
  sweepTargets(): string[] {
    const out = new Set(this.held.keys());
    for (const [id, n] of this.needs) if (n.sweep) out.add(id);
    return [...out];
  }

  /** Events this replica still looks at (listed and not finished). */
  servedIds(): string[] {
    return [...this.needs].filter(([, n]) => !n.finished).map(([id]) => id);
  }

  /** Someone joined this event through this replica. */
  markJoined(eventId: string): void {
    this.joined.set(eventId, performance.now());
  }

  /** Seats of this event were held through this replica. */
  markHeld(eventId: string): void {
    this.held.set(eventId, performance.now());
  }

  /**
   * A script found no such event (deleted): no more work on it here until a
   * probe says otherwise. Only this replica's view changes, never the registry.
   */
  gone(eventId: string): void {
    this.joined.delete(eventId);
    this.held.delete(eventId);
    if (this.needs.has(eventId)) this.needs.set(eventId, NOTHING);
  }
}

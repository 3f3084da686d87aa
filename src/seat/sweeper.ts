import { Injectable } from '@nestjs/common';
import { RecurringJob } from '../common/recurring-job';
import { EventActivity } from '../event/event-activity';
import { SeatRepository } from './seat.repository';

/** Every 250 ms, so an expired hold's seats are back on sale well within 1 s of expiresAt. */
export const SWEEP_PERIOD_MS = 250;
/**
 * Holds, and seats, one sweep script returns at most (it stops after the hold
 * that reaches SWEEP_MAX_SEATS): keeps each call short (the bench's "sweep"
 * step measures the longest). The cost is mostly per seat, about 18-25 µs
 * on this loaded 2-core machine (a layout's row flags and run index
 * included): 50 seats a call is about 1 ms, where 100 seats averaged 2-2.7 ms
 * and, now and then preempted, took 7.7 ms; 1,000 holds a call held Redis
 * 6.9 ms and 100 holds of 20 seats on a layout up to 45 ms. A bigger batch
 * that falls due together is taken in more calls.
 */
export const SWEEP_LIMIT = 50;
export const SWEEP_MAX_SEATS = 50;
/**
 * While more holds are due than one call takes, this many calls go at once:
 * Redis runs them one after the other (each still bounded), and the round
 * trips overlap. One at a time, 10,000 one-seat holds falling due together
 * came back up to 1.3 s after their expiresAt on a loaded machine (100
 * calls of 100, each mostly waiting for its answer); four of 50 keep what
 * Redis runs for one connection in one go near 4-5 ms.
 */
const SWEEP_IN_FLIGHT = 4;
/**
 * While holds are still due after a call, sweep that event again, for up to
 * this long per run. Without it a burst of holds falling due together (more
 * than one call's worth per period) came back on sale seconds late (CONTRACT
 * invariant 3). Below the period, so the next tick is not skipped.
 */
const SWEEP_BUDGET_MS = 200;

/**
 * The lost-record check (CONTRACT invariant 9: a hold whose record is gone
 * gives its seats back within 1 s, not at its expiry). Whichever replica's
 * sweep first finds the event's claim free takes it for `periodMs`
 * (lua/seat/claimRecordCheck-2.lua) and looks for the record of every live
 * hold, `chunk` a call (SeatRepository.reclaimLostHolds). The claim lasts
 * one sweep period, so every live hold is looked at about every 250-330 ms
 * (the claim's length, rounded up to a tick of some replica: with 400 ms one
 * replica alone looked every 500 ms, and a lost record's seats came back up
 * to 860 ms late on a loaded machine), however many replicas: the cost is at
 * most four passes over the live holds a second per event (about 6 ms of
 * Redis per pass per 10,000 live holds here), not per replica. The chunk:
 * a ZRANGE of 2,000 with scores averaged 1.1 ms here, 1,000 about half that.
 */
export const RECORD_CHECK = { periodMs: SWEEP_PERIOD_MS, chunk: 1000 };

/**
 * Returns to sale the seats of expired holds, and of live holds whose record
 * is gone, with or without traffic, for every event with seats held
 * (EventActivity tells which): an event without holds costs the sweeper nothing.
 */
@Injectable()
export class Sweeper extends RecurringJob {
  constructor(
    private readonly activity: EventActivity,
    private readonly seats: SeatRepository,
  ) {
    super('Sweeper', SWEEP_PERIOD_MS);
  }

  protected runOnce(): Promise<void> {
    return this.sweepAll();
  }

  async sweepAll(): Promise<void> {
    const deadline = performance.now() + SWEEP_BUDGET_MS;
    await Promise.all(this.activity.sweepTargets().map((id) => this.sweepEvent(id, deadline)));
  }

  private async sweepEvent(eventId: string, deadline: number): Promise<void> {
    let calls = 1;
    for (;;) {
      // Sent together on one connection: Redis answers them in order, the last one last.
      const replies = await Promise.all(Array.from({ length: calls }, () => this.seats.sweep(eventId, SWEEP_LIMIT, SWEEP_MAX_SEATS)));
      const swept = replies[replies.length - 1];
      if (!swept || replies.includes(null)) {
        this.activity.gone(eventId);
        return;
      }
      if (swept.due > 0 && performance.now() < deadline) {
        calls = Math.min(SWEEP_IN_FLIGHT, Math.ceil(swept.due / SWEEP_LIMIT));
        continue;
      }
      if (swept.live > 0 && (await this.seats.claimRecordCheck(eventId, RECORD_CHECK.periodMs))) {
        await this.seats.reclaimLostHolds(eventId, RECORD_CHECK.chunk);
      }
      return;
    }
  }
}

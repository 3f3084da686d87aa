import { Injectable } from '@nestjs/common';
import { RecurringJob } from '../common/recurring-job';
import { EventActivity } from '../event/event-activity';
import { SeatRepository } from './seat.repository';

/** Every 250 ms, so an expired hold's seats are back on sale well within 1 s of expiresAt. */
export const SWEEP_PERIOD_MS = 250;
/** Holds one sweep script expires: keeps each script run short. */
const SWEEP_LIMIT = 1000;
/**
 * A full pass means more holds may be due: sweep that event again, for up to
 * this long per run. Without it a burst of holds falling due together (more
 * than SWEEP_LIMIT per period) came back on sale seconds late (CONTRACT
 * invariant 3). Below the period, so the next tick is not skipped.
 */
const SWEEP_BUDGET_MS = 200;

/**
 * Live holds whose records one sweep looks for (CONTRACT invariant 9: a hold
 * whose record is gone gives its seats back within 1 s, not at its expiry).
 * With four sweeps a second, an event with up to 4 x this many live holds
 * is covered every second; a bigger one takes proportionally longer.
 */
const RECORD_CHECK_WINDOW = 500;

/**
 * Returns to sale the seats of expired holds, and of live holds whose record
 * is gone, with or without traffic, for every event with seats held
 * (EventActivity tells which): an event without holds costs the sweeper nothing.
 */
@Injectable()
export class Sweeper extends RecurringJob {
  /** Where the next look for lost hold records starts, per event (a rank in the live-hold index). */
  private readonly recordCursor = new Map<string, number>();

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
    await Promise.all(
      this.activity.sweepTargets().map(async (id) => {
        for (;;) {
          const swept = await this.seats.sweep(id, SWEEP_LIMIT);
          if (!swept) {
            this.recordCursor.delete(id);
            this.activity.gone(id);
            return;
          }
          if (swept.live > 0 && swept.expired < SWEEP_LIMIT) await this.checkRecords(id);
          if (swept.expired !== SWEEP_LIMIT || performance.now() >= deadline) break;
        }
      }),
    );
  }

  private async checkRecords(eventId: string): Promise<void> {
    const offset = this.recordCursor.get(eventId) ?? 0;
    const { checked } = await this.seats.reclaimLostHolds(eventId, offset, RECORD_CHECK_WINDOW);
    this.recordCursor.set(eventId, checked < RECORD_CHECK_WINDOW ? 0 : offset + checked);
  }
}

import { Inject, Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { ConfigType } from '@nestjs/config';
import { DomainError, eventNotFound } from '../common/domain-error';
import { RecurringJob } from '../common/recurring-job';
import { appConfig } from '../config/configuration';
import { EventActivity } from '../event/event-activity';
import { KeyBuilder } from '../redis/keys';
import { numberAt, ReplyCode } from '../redis/script-replies';
import { ScriptRegistry } from '../redis/script-registry';
import { QueueSnapshots } from './queue-snapshots';
import { queueKeys } from './queue.repository';

/**
 * Most users one admit call takes. One call costs Redis 3-5 µs per user
 * from the queue and up to 20 µs from a large sealed pre-queue (bench:
 * "Admission at scale", "Fair start"), so 100 keeps every call to a few
 * milliseconds at most, under the 5 ms any one command may block a shard.
 * A tick that may admit more makes several calls.
 */
export const ADMIT_MAX_BATCH = 100;

/** Most people one POST .../admissions may admit (CONTRACT). */
export const ADMISSIONS_MAX_COUNT = 100_000;

/** What POST .../admissions answers: how many were admitted and the last sequence whose turn came. */
export interface AdmissionsResult {
  admitted: number;
  admittedThrough: number;
}

/**
 * Every replica runs this loop: each tick, one admit script per event that
 * needs it (someone waits; once a second while sessions are live), as
 * EventActivity tells. The token bucket is in Redis, so N replicas together
 * admit at the event's rate.
 */
@Injectable()
export class Admitter extends RecurringJob {
  /** admissions made by this replica, by event (tests add these up across replicas) */
  readonly admitted = new Map<string, number>();

  constructor(
    private readonly activity: EventActivity,
    private readonly keys: KeyBuilder,
    private readonly scripts: ScriptRegistry,
    private readonly snapshots: QueueSnapshots,
    @Inject(appConfig.KEY) private readonly config: ConfigType<typeof appConfig>,
  ) {
    super('Admitter', config.admitTickMs);
  }

  protected async runOnce(): Promise<void> {
    await Promise.all(this.activity.admitTargets().map((id) => this.admit(id)));
  }

  /**
   * Admits what the event's bucket allows this tick: calls of at most
   * ADMIT_MAX_BATCH, another only while the last one took a full batch (a
   * rate above ADMIT_MAX_BATCH per tick), so Redis serves other commands
   * between them. Within one tick period: what is left waits for the next
   * tick, whose bucket still holds it (up to one tick's burst).
   */
  async admit(eventId: string): Promise<number> {
    const keys = queueKeys(this.keys.event(eventId));
    const deadline = performance.now() + this.config.admitTickMs;
    let total = 0;
    while (performance.now() < deadline) {
      // Fresh randomness for queueMethod random's draws: nobody outside the service can predict them.
      const r = await this.scripts.run('admit', keys, [this.config.admitTickMs, ADMIT_MAX_BATCH, randomBytes(16).toString('hex')]);
      if (r[0] === ReplyCode.EVENT_NOT_FOUND) {
        this.activity.gone(eventId);
        break;
      }
      const count = r[0] === ReplyCode.OK ? numberAt('admit', r, 1) : 0;
      if (r[0] === ReplyCode.OK) this.snapshots.noteHead(eventId, numberAt('admit', r, 4), numberAt('admit', r, 3));
      total += count;
      if (count < ADMIT_MAX_BATCH) break;
    }
    this.count(eventId, total);
    return total;
  }

  /**
   * Admits the next `count` people in line now, whatever the event's mode,
   * pause, rate and maxActive (POST .../admissions, and the AWS-compatible
   * increment_serving_counter): the caller is the admission policy. Calls of
   * at most ADMIT_MAX_BATCH, each one atomic, so Redis serves other commands
   * between them and concurrent callers never admit anyone twice; it stops
   * when `count` are in or nobody waits any more. Before salesStartAt it
   * admits nobody (the pre-queue's order is not fixed yet).
   */
  async admitNow(eventId: string, count: number): Promise<AdmissionsResult> {
    const keys = queueKeys(this.keys.event(eventId));
    let admitted = 0;
    let admittedThrough = 0;
    while (admitted < count) {
      const r = await this.scripts.run('admit', keys, [this.config.admitTickMs, ADMIT_MAX_BATCH, randomBytes(16).toString('hex'), count - admitted]);
      if (r[0] === ReplyCode.EVENT_NOT_FOUND) throw eventNotFound(eventId);
      // Sold out or closed half-way: those admitted so far are the answer.
      if (r[0] === ReplyCode.SOLD_OUT && admitted === 0) {
        throw new DomainError('SOLD_OUT', `event ${eventId} is sold out: nobody more is admitted`);
      }
      if (r[0] === ReplyCode.CLOSED && admitted === 0) {
        throw new DomainError('QUEUE_CLOSED', `event ${eventId} is closed: nobody more is admitted`, { statusCode: 409 });
      }
      // NOT_STARTED (before salesStartAt nobody has a place yet), or sold out / closed after some.
      if (r[0] !== ReplyCode.OK) break;
      const n = numberAt('admit', r, 1);
      const head = numberAt('admit', r, 3);
      const stillWaiting = numberAt('admit', r, 5);
      this.snapshots.noteHead(eventId, numberAt('admit', r, 4), head);
      admitted += n;
      // Nobody left in line, or a call that neither admitted nor passed over
      // anyone (no seat on sale right now): more calls would change nothing.
      const moved = n > 0 || head > admittedThrough;
      admittedThrough = head;
      if (stillWaiting === 0 || !moved) break;
    }
    this.count(eventId, admitted);
    return { admitted, admittedThrough };
  }

  private count(eventId: string, n: number): void {
    if (n > 0) this.admitted.set(eventId, (this.admitted.get(eventId) ?? 0) + n);
  }
}

import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { RecurringJob } from '../common/recurring-job';
import { appConfig } from '../config/configuration';
import { EventActivity } from '../event/event-activity';
import { KeyBuilder } from '../redis/keys';
import { numberAt, ReplyCode } from '../redis/script-replies';
import { ScriptRegistry } from '../redis/script-registry';
import { queueKeys } from './queue.repository';

/** Most users one admit call takes; keeps each script run short. */
export const ADMIT_MAX_BATCH = 1000;

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
    @Inject(appConfig.KEY) private readonly config: ConfigType<typeof appConfig>,
  ) {
    super('Admitter', config.admitTickMs);
  }

  protected async runOnce(): Promise<void> {
    await Promise.all(this.activity.admitTargets().map((id) => this.admit(id)));
  }

  async admit(eventId: string): Promise<number> {
    const r = await this.scripts.run('admit', queueKeys(this.keys.event(eventId)), [this.config.admitTickMs, ADMIT_MAX_BATCH]);
    if (r[0] === ReplyCode.EVENT_NOT_FOUND) {
      this.activity.gone(eventId);
      return 0;
    }
    const count = r[0] === ReplyCode.OK ? numberAt('admit', r, 1) : 0;
    if (count > 0) this.admitted.set(eventId, (this.admitted.get(eventId) ?? 0) + count);
    return count;
  }
}

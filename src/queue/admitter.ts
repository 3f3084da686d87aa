import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { PeriodicTask } from '../common/periodic-task';
import { appConfig } from '../config/configuration';
import { EventRegistry } from '../event/event-registry';
import { KeyBuilder } from '../redis/keys';
import { numberAt, ReplyCode } from '../redis/script-replies';
import { ScriptRegistry } from '../redis/script-registry';
import { queueKeys } from './queue.repository';

/** Most users one admit call takes; keeps each script run short. */
export const ADMIT_MAX_BATCH = 1000;

/**
 * Every replica runs this loop: each tick, one admit script per event. The
 * token bucket is in Redis, so N replicas together admit at the event's rate.
 */
@Injectable()
export class Admitter implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly task: PeriodicTask;
  /** admissions made by this replica, by event (read by metrics) */
  readonly admitted = new Map<string, number>();

  constructor(
    private readonly registry: EventRegistry,
    private readonly keys: KeyBuilder,
    private readonly scripts: ScriptRegistry,
    @Inject(appConfig.KEY) private readonly config: ConfigType<typeof appConfig>,
  ) {
    this.task = new PeriodicTask('Admitter', config.admitTickMs, () => this.tick());
  }

  onApplicationBootstrap(): void {
    this.task.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  stop(): Promise<void> {
    return this.task.stop();
  }

  async tick(): Promise<void> {
    const ids = await this.registry.eventIds();
    await Promise.all(ids.map((id) => this.admit(id)));
  }

  async admit(eventId: string): Promise<number> {
    const r = await this.scripts.run('admit', queueKeys(this.keys.event(eventId)), [this.config.admitTickMs, ADMIT_MAX_BATCH]);
    if (r[0] === ReplyCode.EVENT_NOT_FOUND) {
      await this.registry.forget(eventId);
      return 0;
    }
    const count = r[0] === ReplyCode.OK ? numberAt('admit', r, 1) : 0;
    if (count > 0) this.admitted.set(eventId, (this.admitted.get(eventId) ?? 0) + count);
    return count;
  }
}

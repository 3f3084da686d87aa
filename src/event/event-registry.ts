import { Injectable } from '@nestjs/common';
import { EventRepository } from './event.repository';

/**
 * Every event id with its revision, for the background work of every
 * replica. A Redis sorted set (its own key, so on a cluster one read instead
 * of a SCAN of every master) that only the service writes, each time after
 * the event's own script ran: an id is listed once its event exists (create),
 * its revision moves up when its settings change (PATCH) and it leaves when
 * the event is deleted. Replicas never remove ids: an id without an event
 * costs them nothing (src/event/event-activity.ts), so a lookup that ran
 * while an event was being created or deleted can never drop a live one.
 * EventActivity reads it once a second.
 */
@Injectable()
export class EventRegistry {
  constructor(private readonly events: EventRepository) {}

  /** Every listed id with its revision. */
  async read(): Promise<Map<string, number>> {
    await this.events.adoptLegacyRegistry();
    return this.events.registryEntries();
  }

  /** A new event, after its create script ran. */
  register(eventId: string, createdAt: number): Promise<void> {
    return this.events.register(eventId, createdAt, 'set');
  }

  /**
   * An event found to exist when creating it again: lists it if a create
   * answered with an error after its script ran (the retry lands here), and
   * changes nothing otherwise.
   */
  registerExisting(eventId: string, createdAt: number): Promise<void> {
    return this.events.registerIfMissing(eventId, createdAt);
  }

  /** An event whose settings changed, after its update script ran. */
  revised(eventId: string, revision: number): Promise<void> {
    return this.events.register(eventId, revision, 'raise');
  }

  /** A deleted event, once its hash is gone. */
  unregister(eventId: string): Promise<void> {
    return this.events.unregister(eventId);
  }
}

import { Injectable } from '@nestjs/common';
import { EventRepository } from './event.repository';

const REFRESH_MS = 1000;

/**
 * The ids of every event, for the background loops (admitter, sweeper). A
 * Redis set read at most once a second: works the same on a cluster, where
 * SCAN would have to visit every master.
 */
@Injectable()
export class EventRegistry {
  private ids: string[] = [];
  private readAt = 0;

  constructor(private readonly events: EventRepository) {}

  async eventIds(): Promise<string[]> {
    if (Date.now() - this.readAt >= REFRESH_MS) {
      this.ids = await this.events.eventIds();
      this.readAt = Date.now();
    }
    return this.ids;
  }

  /** Drops an id whose event no longer exists (it was registered but never created). */
  async forget(eventId: string): Promise<void> {
    this.ids = this.ids.filter((id) => id !== eventId);
    await this.events.forget(eventId);
  }
}

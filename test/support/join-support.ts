import { EventKeys, KeyBuilder } from '../../src/redis/keys';
import type { TestApp } from './app-harness';
import { eventDigest } from './inspect';
import type { Topology } from './topology';

export const keysOfEvent = (app: TestApp, eventId: string): EventKeys => app.app.get(KeyBuilder).event(eventId);

/**
 * What a refused join must leave as it was: every key of the event (dumped,
 * see eventDigest; pause the event so the admitter writes nothing either) and
 * the number of keys on every master (no key appeared anywhere else).
 */
export async function refusalDigest(topology: Topology, app: TestApp, eventId: string): Promise<string> {
  const client = topology.client();
  const masters = await topology.masters();
  try {
    const sizes = await Promise.all(masters.map((m) => m.dbsize()));
    return `${await eventDigest(client, keysOfEvent(app, eventId))}|${sizes.join(',')}`;
  } finally {
    client.disconnect();
    for (const m of masters) m.disconnect();
  }
}

/** Creates an event with admission paused (nothing moves while a test compares digests). */
export async function pausedEvent(app: TestApp, eventId: string, extra: Record<string, unknown> = { capacity: 5 }): Promise<void> {
  await app.createEvent(eventId, extra);
  const r = await app.admin('PATCH', `/v1/events/${eventId}`, { paused: true });
  if (r.status !== 200) throw new Error(`pausing ${eventId}: ${r.status}`);
}

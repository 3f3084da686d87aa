/**
 * The one place an event's status is computed from its state (CONTRACT
 * "Event status"), so the event view, the queue head and every ticket answer
 * agree. soldOut comes first: with no seat available and none held nothing
 * can come back on sale, whatever else is set.
 */
/** Statuses produced so far: the scripts decide (lua/includes/eventStatus.lua); 'closed' comes from endsAt. */
export type EventStatus = 'open' | 'paused' | 'soldOut' | 'closed';

export interface StatusInputs {
  available: number;
  held: number;
  paused: boolean;
}

export function eventStatus(s: StatusInputs): EventStatus {
  if (s.available === 0 && s.held === 0) return 'soldOut';
  if (s.paused) return 'paused';
  return 'open';
}

/** Statuses a waiting ticket reads instead of its place: nobody more is admitted. */
export const FINAL_STATUSES: ReadonlySet<EventStatus> = new Set<EventStatus>(['soldOut']);

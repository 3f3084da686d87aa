/**
 * The one place the service computes an event's status from its state
 * (CONTRACT "Event status"), so the event view, the queue head and every
 * ticket answer agree; lua/includes/eventStatus.lua is the same rule for the
 * scripts. In order: closed from endsAt on; soldOut (no seat available and
 * none held: nothing can come back on sale, whatever else is set); closed
 * while queueMethod is reject; scheduled before queueOpensAt; prequeue before
 * salesStartAt; paused; open. Times are Redis time in ms (0: none).
 * Both sides answer every vector of test/fixtures/event-status-vectors.json
 * (test/event-status-vectors.e2e-spec.ts).
 */
export const EVENT_STATUSES = ['scheduled', 'prequeue', 'open', 'paused', 'soldOut', 'closed'] as const;
export type EventStatus = (typeof EVENT_STATUSES)[number];

/** CONTRACT "Admission mode": auto admits by rate and maxActive; manual only through POST .../admissions. */
export const ADMISSION_MODES = ['auto', 'manual'] as const;
export type AdmissionMode = (typeof ADMISSION_MODES)[number];

export const QUEUE_METHODS = ['fifo', 'random', 'passthrough', 'reject'] as const;
export type QueueMethod = (typeof QUEUE_METHODS)[number];

export interface StatusInputs {
  available: number;
  held: number;
  paused: boolean;
  /** Redis time of the read (ms) */
  nowMs: number;
  queueMethod: QueueMethod;
  queueOpensAt: number;
  salesStartAt: number;
  endsAt: number;
}

export function eventStatus(s: StatusInputs): EventStatus {
  if (s.endsAt > 0 && s.nowMs >= s.endsAt) return 'closed';
  if (s.available === 0 && s.held === 0) return 'soldOut';
  if (s.queueMethod === 'reject') return 'closed';
  if (s.queueOpensAt > 0 && s.nowMs < s.queueOpensAt) return 'scheduled';
  if (s.salesStartAt > 0 && s.nowMs < s.salesStartAt) return 'prequeue';
  if (s.paused) return 'paused';
  return 'open';
}

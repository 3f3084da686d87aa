import { AdmissionMode, QueueMethod } from './event-status';

/* What Redis holds about an event, as the event scripts (event.scripts.ts) take and answer it. */

export interface LevelSnapshot {
  priceLevel: string;
  price: number;
  currency: string;
  available: number;
  held: number;
  sold: number;
}
export type QueueKind = 'streams' | 'zset';

export interface EventSettings {
  holdTtlSeconds: number;
  maxSeatsPerUser: number;
  ratePerSecond: number;
  maxActive: number;
  sessionTtlSeconds: number;
  /** join challenge difficulty in bits; 0: no challenge */
  powBits: number;
  /** exact origins the Queue-it flow may send admitted visitors back to (kept as JSON in meta) */
  redirectOrigins: string[];
}

/** When the queue opens and sales start, and the pre-queue shuffle's seed (CONTRACT "Fair start"). */
export interface EventSchedule {
  /** ms, 0: none */
  queueOpensAt: number;
  /** ms, 0: no pre-queue */
  salesStartAt: number;
  queueMethod: QueueMethod;
  admissionMode: AdmissionMode;
  /** hex seed and its hex SHA-256, '' without a pre-queue */
  seed: string;
  commitment: string;
}

export interface EventSnapshot extends EventSettings {
  queue: QueueKind;
  capacity: number;
  available: number;
  held: number;
  sold: number;
  waiting: number;
  active: number;
  paused: boolean;
  levels: LevelSnapshot[];
  /** admissions per second over the last minute (admit script); null before the first admission */
  observedRatePerSecond: number | null;
  queueMethod: QueueMethod;
  queueOpensAt: number;
  salesStartAt: number;
  /** ms since the epoch (Redis time), 0 for an event without an end */
  endsAt: number;
  /** '' without a pre-queue */
  commitment: string;
  /** '' until salesStartAt */
  seed: string;
  /** Redis time of the read (ms) */
  nowMs: number;
  admissionMode: AdmissionMode;
}

/** A PATCH's fields: only those given change. */
export type EventUpdate = Partial<EventSettings> & { paused?: boolean; endsAt?: number; queueMethod?: QueueMethod; admissionMode?: AdmissionMode };

export type DeleteStart = { kind: 'deleting' } | { kind: 'active'; sessions: number; holds: number } | { kind: 'missing' };

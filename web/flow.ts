/**
 * The page's steps by name. Each view registers the steps it owns when it is
 * set up (its init function), and moves the person on through `flow`, so no
 * view imports another: the views form a star around this module, not a cycle.
 */
import type { Hold, Order, TicketStatus } from './api/types.js';

export interface Steps {
  /** An empty join form, the seat map forgotten, the event looked up again (join view). */
  startOver(): void;
  /** In line: follows the ticket until the turn comes (wait view). */
  startWaiting(initial?: TicketStatus): void;
  /** The seat map for the person's turn (seats view). */
  openSeats(): Promise<void>;
  /** Reads what the seat map shows now again (seats view). */
  refreshSeats(): Promise<void>;
  /** Seats someone else just took: shown as taken at once (seats view). */
  markTaken(seatIds: string[]): void;
  /** Seats held: the countdown, buy or release (hold view). */
  showHold(hold: Hold): void;
  /** Bought (done view). */
  showDone(order: Order): void;
}

const registered: Partial<Steps> = {};

/** Registers steps a view owns; app.ts sets every view up before the first step runs. */
export function provide(steps: Partial<Steps>): void {
  Object.assign(registered, steps);
}

function step<K extends keyof Steps>(name: K): Steps[K] {
  const run = registered[name];
  if (!run) throw new Error(`no view registered the ${name} step`);
  return run;
}

export const flow: Steps = {
  startOver: () => step('startOver')(),
  startWaiting: (initial) => step('startWaiting')(initial),
  openSeats: () => step('openSeats')(),
  refreshSeats: () => step('refreshSeats')(),
  markTaken: (seatIds) => step('markTaken')(seatIds),
  showHold: (hold) => step('showHold')(hold),
  showDone: (order) => step('showDone')(order),
};

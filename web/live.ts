/**
 * Live updates of a ticket's status: the Server-Sent Events stream, and
 * polling every 2 s when the stream cannot open, drops, or reports a failure
 * other than a lost ticket. Either way a page left open costs the service
 * almost nothing: the stream is fed from the replica's per-event snapshot
 * (no Redis work per person), and polling reads the queue head, one answer
 * for everyone that the browser and any CDN cache, and works out the place
 * from the ticket's own sequence. The ticket itself is read only once its
 * turn has come (or the sale ended), for the access token.
 */
import * as api from './api/client.js';
import { ApiError } from './api/client.js';
import type { ErrorBody, TicketStatus } from './api/types.js';

export interface LiveHandlers {
  /** Every status read, from the stream or a poll. */
  onStatus(status: TicketStatus): void;
  /** How updates arrive now, in words for the page. */
  onMode(text: string): void;
  /** The ticket (or its event) is gone: nothing more will come. */
  onGone(err: ApiError): void;
  /** The service handed out a replacement ticket (after the pre-queue shuffle): keep it. */
  onTicket?(ticket: string): void;
}

/** The arrival sequence a ticket carries ('s<seq>.<mac>'), or undefined for a ticket of another kind. */
const sequenceOf = (ticket: string): number | undefined => {
  const match = /^s(\d+)\./.exec(ticket);
  return match ? Number(match[1]) : undefined;
};

/** Statuses after which nothing more will change for this ticket. */
const isFinal = (s: TicketStatus) => s.status === 'admitted' || s.status === 'soldOut';

/** Follows one ticket until it is admitted, sold out or gone; the returned function stops it. */
export function followTicket(eventId: string, firstTicket: string, on: LiveHandlers): () => void {
  let pollTimer: number | undefined;
  let stopped = false;
  // A pre-queue ticket ('p…') is replaced after the shuffle by one that
  // carries its place: from then on that one is read (or worked out from the head).
  let ticket = firstTicket;
  let seq = sequenceOf(ticket);
  const replaced = (s: TicketStatus) => {
    if (s.ticket && s.ticket !== ticket) {
      ticket = s.ticket;
      seq = sequenceOf(ticket);
      on.onTicket?.(ticket);
    }
  };
  /** the admission rate last told by the service (etaSeconds = position / rate), until the head observes one */
  let rate = 0;
  const remember = (s: TicketStatus) => {
    if (s.position && s.etaSeconds) rate = s.position / s.etaSeconds;
  };
  /** The ticket's status from the shared queue head while it waits; the ticket itself once its turn came. */
  const read = async (): Promise<TicketStatus> => {
    if (seq !== undefined) {
      const head = await api.getQueueHead(eventId);
      // Before the first admission only the ticket's own answer knows the configured rate.
      // Let in by the organiser (admission.mode manual): a place, but no rate to tell a wait from.
      const manual = head.admissionMode === 'manual';
      const known = manual || head.observedRatePerSecond !== null || rate > 0;
      if (known && head.status !== 'soldOut' && head.status !== 'closed' && seq > head.admittedThrough) {
        const position = seq - head.admittedThrough;
        if (manual) return { status: 'waiting', position };
        const perSecond = head.observedRatePerSecond ?? rate;
        return { status: 'waiting', position, etaSeconds: Math.ceil(position / Math.max(perSecond, 1 / 60)) };
      }
    }
    const status = await api.getTicket(eventId, ticket);
    remember(status);
    replaced(status);
    return status;
  };
  const poll = async () => {
    if (stopped) return;
    try {
      const status = await read();
      if (stopped) return;
      on.onMode('Checking every 2 seconds');
      on.onStatus(status);
      if (isFinal(status)) return;
    } catch (err) {
      if (stopped) return;
      if (err instanceof ApiError && (err.code === 'TICKET_NOT_FOUND' || err.code === 'EVENT_NOT_FOUND')) return on.onGone(err);
      on.onMode('Reconnecting…');
    }
    pollTimer = window.setTimeout(() => void poll(), 2000);
  };
  const fallBackToPolling = () => {
    if (stopped || pollTimer !== undefined) return;
    pollTimer = window.setTimeout(() => void poll(), 0);
  };

  let source: EventSource | undefined;
  if (typeof EventSource === 'function') {
    source = new EventSource(api.ticketEventsUrl(eventId, ticket));
    source.onopen = () => on.onMode('Live updates');
    source.onmessage = (m: MessageEvent<string>) => {
      const status = JSON.parse(m.data) as TicketStatus;
      if (isFinal(status)) source?.close(); // the server ends the stream; don't reconnect
      remember(status);
      replaced(status);
      on.onStatus(status);
    };
    source.addEventListener('failure', (m) => {
      source?.close();
      const body = JSON.parse((m as MessageEvent<string>).data) as ErrorBody;
      if (body.code === 'TICKET_NOT_FOUND') return on.onGone(new ApiError(body.statusCode, body.code, body.message, body));
      fallBackToPolling();
    });
    // A stream that cannot open (404 before it starts, a proxy that buffers,
    // an old browser) or that drops: poll instead.
    source.onerror = () => {
      source?.close();
      fallBackToPolling();
    };
  } else {
    fallBackToPolling();
  }
  return () => {
    stopped = true;
    source?.close();
    window.clearTimeout(pollTimer);
  };
}

/**
 * Live updates of a ticket's status: the Server-Sent Events stream, and
 * polling every 2 s when the stream cannot open, drops, or reports a failure
 * other than a lost ticket.
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
}

/** Follows one ticket until it is admitted or gone; the returned function stops it. */
export function followTicket(eventId: string, ticket: string, on: LiveHandlers): () => void {
  let pollTimer: number | undefined;
  let stopped = false;
  const poll = async () => {
    if (stopped) return;
    try {
      const status = await api.getTicket(eventId, ticket);
      if (stopped) return;
      on.onMode('Checking every 2 seconds');
      on.onStatus(status);
      if (status.status === 'admitted') return;
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
      if (status.status === 'admitted') source?.close(); // the server ends the stream; don't reconnect
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

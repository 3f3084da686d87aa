/** 2. In line: the place and wait, updated live, until the turn comes. */
import * as api from '../api/client.js';
import { ApiError } from '../api/client.js';
import type { TicketStatus } from '../api/types.js';
import { followTicket } from '../live.js';
import { endSession, onLeaveView, saveSession, session, show } from '../state.js';
import { $, describeEta } from '../util.js';
import { alertUser, explain } from './errors.js';
import { startOver } from './join.js';
import { openSeats } from './seats.js';

/** The highest place seen in this wait: the progress bar's full length. */
let firstPosition = 0;
/** The lowest place shown so far: a place never goes back up (two replicas may be a refresh apart). */
let shownPosition = Infinity;

function renderWaiting(s: TicketStatus): void {
  const position = Math.min(s.position ?? 0, shownPosition);
  shownPosition = position;
  if (position > firstPosition) firstPosition = position;
  $('position').textContent = position.toLocaleString();
  $('eta').textContent = describeEta(s.etaSeconds ?? 0);
  const progress = $<HTMLProgressElement>('progress');
  progress.max = Math.max(firstPosition, 1);
  progress.value = firstPosition - position + (firstPosition === position ? 0 : 1);
  document.title = `#${position.toLocaleString()} in line · queuegate`;
}

function onStatus(s: TicketStatus): void {
  if (s.status === 'admitted' && s.accessToken && session) {
    session.accessToken = s.accessToken;
    session.accessExpiresAt = s.accessExpiresAt;
    saveSession(session);
    document.title = 'Your turn · queuegate';
    void openSeats();
  } else if (s.status === 'soldOut') {
    endSession();
    document.title = 'Sold out · queuegate';
    $('wait-mode').textContent = 'The sale has ended';
    alertUser('Sold out: every seat has been sold, so nobody else will be let in. Thank you for waiting.', [], 'info');
  } else {
    renderWaiting(s);
  }
}

export function startWaiting(initial?: TicketStatus): void {
  show('wait');
  firstPosition = 0;
  shownPosition = Infinity;
  if (initial) renderWaiting(initial);
  const s = session;
  if (!s) return;
  const mode = $('wait-mode');
  const stop = followTicket(s.eventId, s.ticket, {
    onStatus,
    onMode: (text) => (mode.textContent = text),
    onGone: (err) => explain(err),
  });
  onLeaveView(stop);
}

async function leaveLine(): Promise<void> {
  const s = session;
  if (!s) return startOver();
  try {
    await api.leaveQueue(s.eventId, s.ticket);
  } catch (err) {
    if (!(err instanceof ApiError && err.code === 'TICKET_NOT_FOUND')) return explain(err, () => void leaveLine());
  }
  endSession();
  startOver();
  alertUser('You left the line. You can join again at any time, but you will start at the back.', [], 'info');
}

export function initWait(): void {
  $('leave-button').addEventListener('click', () => void leaveLine());
}

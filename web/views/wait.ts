/** 2. In line: the place and wait, updated live, until the turn comes. */
import * as api from '../api/client.js';
import { ApiError } from '../api/client.js';
import type { TicketStatus } from '../api/types.js';
import { followTicket } from '../live.js';
import { alertUser, explain } from '../alerts.js';
import { flow, provide } from '../flow.js';
import { endSession, onLeaveView, saveSession, session, show } from '../state.js';
import { $, clock, describeEta } from '../util.js';

/** The highest place seen in this wait: the progress bar's full length. */
let firstPosition = 0;
/** The lowest place shown so far: a place never goes back up (two replicas may be a refresh apart). */
let shownPosition = Infinity;

/** The pre-queue countdown's timer, and whether this wait began in the pre-queue. */
let countdownTimer: number | undefined;
let wasPrequeue = false;

/** Before salesStartAt: a countdown to it (the service's time is what counts; this clock only shows it). */
function renderPrequeue(salesStartAt: string): void {
  wasPrequeue = true;
  $('prequeue').hidden = false;
  $('position').textContent = '–';
  $('eta').textContent = 'Your place is drawn when sales start';
  const target = Date.parse(salesStartAt);
  const tick = () => {
    const left = target - Date.now();
    $('countdown').textContent = left > 0 ? clock(left) : 'any moment now';
    document.title = left > 0 ? `Sales start in ${clock(left)} · queuegate` : 'Sales starting · queuegate';
  };
  window.clearInterval(countdownTimer);
  tick();
  countdownTimer = window.setInterval(tick, 1000);
  if (session) void showCommitment(session.eventId, false);
}

/** After the start: the line was shuffled; show the commitment (and the revealed seed) to check it by. */
async function showCommitment(eventId: string, started: boolean): Promise<void> {
  try {
    const view = await api.getEvent(eventId);
    if (!view.shuffle) return;
    const note = $('shuffle-note');
    note.hidden = false;
    // The commitment and seed are 64 hex characters with no place to break: each
    // goes in its own <code class="hash">, which wraps anywhere (a phone is 390 px wide).
    note.replaceChildren(
      ...(started
        ? ['The line was shuffled at the start. Commitment ', hash(view.shuffle.commitment), '; seed ', view.shuffle.seed ? hash(view.shuffle.seed) : '(not out yet)', ': check your place with scripts/verify-shuffle.mjs.']
        : ['The order is fixed already: its commitment is ', hash(view.shuffle.commitment), ' (the seed behind it is published when sales start).']),
    );
  } catch {
    /* the note is extra: the wait goes on without it */
  }
}

function hash(hex: string): HTMLElement {
  const code = document.createElement('code');
  code.className = 'hash';
  code.textContent = hex;
  return code;
}

function leavePrequeue(): void {
  window.clearInterval(countdownTimer);
  countdownTimer = undefined;
  $('prequeue').hidden = true;
  if (wasPrequeue && session) void showCommitment(session.eventId, true);
  wasPrequeue = false;
}

function renderWaiting(s: TicketStatus): void {
  if (s.position === undefined) {
    // queueMethod random: no place to show, everyone waiting has the same chance.
    $('position').textContent = '–';
    $('eta').textContent = 'Admission is by random draw among everyone waiting';
    document.title = 'In line · queuegate';
    return;
  }
  const position = Math.min(s.position ?? 0, shownPosition);
  shownPosition = position;
  if (position > firstPosition) firstPosition = position;
  $('position').textContent = position.toLocaleString();
  // No ETA on an event whose organiser lets people in (admission.mode manual): no rate to tell it from.
  $('eta').textContent =
    s.etaSeconds === undefined ? `You are number ${position.toLocaleString()}; people are let in by the organiser` : describeEta(s.etaSeconds);
  const progress = $<HTMLProgressElement>('progress');
  progress.max = Math.max(firstPosition, 1);
  progress.value = firstPosition - position + (firstPosition === position ? 0 : 1);
  document.title = `#${position.toLocaleString()} in line · queuegate`;
}

function onStatus(s: TicketStatus): void {
  if (s.status === 'prequeue' && s.salesStartAt) return renderPrequeue(s.salesStartAt);
  leavePrequeue();
  if (s.status === 'closed') {
    $('wait-mode').textContent = 'The line is closed for now: you keep your place';
    document.title = 'Line closed · queuegate';
    return;
  }
  if (s.status === 'admitted' && s.accessToken && session) {
    session.accessToken = s.accessToken;
    session.accessExpiresAt = s.accessExpiresAt;
    saveSession(session);
    document.title = 'Your turn · queuegate';
    void flow.openSeats();
  } else if (s.status === 'soldOut') {
    // One sold-out state, the one a newcomer sees too: the join view for this
    // event (sold out, no "Join the line") under the banner. The waiting card
    // goes, so no place or wait is left on screen.
    endSession();
    flow.startOver();
    document.title = 'Sold out · queuegate';
    alertUser('Sold out: every seat has been sold, so nobody else will be let in. Thank you for waiting.', [], 'info');
  } else {
    renderWaiting(s);
  }
}

function startWaiting(initial?: TicketStatus): void {
  show('wait');
  firstPosition = 0;
  shownPosition = Infinity;
  $('prequeue').hidden = true;
  $('shuffle-note').hidden = true;
  if (initial) onStatus(initial);
  const s = session;
  if (!s) return;
  const mode = $('wait-mode');
  const stop = followTicket(s.eventId, s.ticket, {
    onStatus,
    onMode: (text) => (mode.textContent = text),
    onGone: (err) => explain(err),
    onTicket: (ticket) => {
      if (!session) return;
      session.ticket = ticket;
      saveSession(session);
    },
  });
  onLeaveView(() => {
    stop();
    leavePrequeue();
  });
}

async function leaveLine(): Promise<void> {
  const s = session;
  if (!s) return flow.startOver();
  try {
    await api.leaveQueue(s.eventId, s.ticket);
  } catch (err) {
    if (!(err instanceof ApiError && err.code === 'TICKET_NOT_FOUND')) return explain(err, () => void leaveLine());
  }
  endSession();
  flow.startOver();
  alertUser('You left the line. You can join again at any time, but you will start at the back.', [], 'info');
}

export function initWait(): void {
  provide({ startWaiting });
  $('leave-button').addEventListener('click', () => void leaveLine());
}

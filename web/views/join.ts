/** 1. Choose an event (looked up as the person types) and join its line. */
import * as api from '../api/client.js';
import { ApiError } from '../api/client.js';
import { hideChallengeProgress, joinSolvingChallenge } from '../challenge.js';
import { saveSession, setSession, show } from '../state.js';
import { $, ID_PATTERN, plural, userIdFrom } from '../util.js';
import { alertUser, clearAlert, explain } from './errors.js';
import { resetSeatMap } from './seats.js';
import { startWaiting } from './wait.js';

async function lookupEvent(eventId: string): Promise<void> {
  const info = $('event-info');
  info.classList.remove('bad');
  if (!eventId) {
    info.textContent = '';
    return;
  }
  if (!ID_PATTERN.test(eventId)) {
    info.classList.add('bad');
    info.textContent = 'Event codes use letters, digits, dots, dashes and underscores only.';
    return;
  }
  try {
    const view = await api.getEvent(eventId);
    if (($('event-id') as HTMLInputElement).value.trim() !== eventId) return;
    info.textContent =
      view.available > 0
        ? `${plural(view.available, 'seat', 'seats')} of ${view.capacity.toLocaleString()} left · ${plural(view.waiting, 'person', 'people')} in line`
        : `Sold out right now (${view.held.toLocaleString()} held by others may come back)`;
  } catch (err) {
    info.classList.add('bad');
    info.textContent =
      err instanceof ApiError && err.code === 'EVENT_NOT_FOUND' ? 'No event with this code.' : 'Could not look this event up right now.';
  }
}

async function join(): Promise<void> {
  clearAlert();
  const eventInput = $<HTMLInputElement>('event-id');
  const nameInput = $<HTMLInputElement>('user-name');
  const eventId = eventInput.value.trim();
  const name = nameInput.value.trim();
  if (!ID_PATTERN.test(eventId)) {
    eventInput.focus();
    return alertUser('Please enter the event code, for example "demo".');
  }
  if (!name) {
    nameInput.focus();
    return alertUser('Please enter your name.');
  }
  const button = $<HTMLButtonElement>('join-button');
  button.disabled = true;
  try {
    const userId = userIdFrom(name);
    const joined = await joinSolvingChallenge(eventId, (proof) => api.joinQueue(eventId, userId, proof));
    const session = { eventId, userId, ticket: joined.ticket };
    setSession(session);
    saveSession(session);
    const url = new URL(location.href);
    url.searchParams.set('event', eventId);
    history.replaceState(null, '', url);
    if (joined.status === 'admitted' && joined.accessToken) {
      // queueMethod passthrough: in at once.
      Object.assign(session, { accessToken: joined.accessToken, accessExpiresAt: joined.accessExpiresAt });
      saveSession(session);
    }
    startWaiting(
      joined.status === 'prequeue'
        ? { status: 'prequeue', salesStartAt: joined.salesStartAt }
        : joined.status === 'admitted'
          ? { status: 'admitted', accessToken: joined.accessToken, accessExpiresAt: joined.accessExpiresAt }
          : { status: 'waiting', position: joined.position, etaSeconds: joined.etaSeconds },
    );
  } catch (err) {
    explain(err, () => void join());
  } finally {
    button.disabled = false;
    hideChallengeProgress();
  }
}

/** Back to an empty join form (the seat map forgotten), with the event looked up again. */
export function startOver(): void {
  show('join');
  resetSeatMap();
  document.title = 'Waiting room · queuegate';
  void lookupEvent($<HTMLInputElement>('event-id').value.trim());
}

/** Wires the form: submit joins, typing an event code looks it up (after a 300 ms pause). */
export function initJoin(): void {
  const eventInput = $<HTMLInputElement>('event-id');
  let lookupTimer: number | undefined;
  $('join-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void join();
  });
  eventInput.addEventListener('input', () => {
    window.clearTimeout(lookupTimer);
    lookupTimer = window.setTimeout(() => void lookupEvent(eventInput.value.trim()), 300);
  });
}

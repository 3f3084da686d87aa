/**
 * 1. Choose an event (looked up as the person types) and join its line. The
 * form follows the event's status: open to join; before the line opens, a
 * countdown, and a person who asks to join is joined when it opens; sold out
 * or closed, no "Join the line" at all.
 */
import * as api from '../api/client.js';
import { ApiError } from '../api/client.js';
import type { EventView } from '../api/types.js';
import { alertUser, clearAlert, explain } from '../alerts.js';
import { hideChallengeProgress, joinSolvingChallenge } from '../challenge.js';
import { flow, provide } from '../flow.js';
import { onLeaveView, saveSession, setSession, show } from '../state.js';
import { $, clock, ID_PATTERN, plural, userIdFrom } from '../util.js';

/** What the join form offers: joining now, joining at the opening (asked or not yet), or nothing (the sale is over). */
type JoinForm = 'open' | 'scheduled' | 'armed' | 'over';

function setJoinForm(form: JoinForm, over?: 'soldOut' | 'closed'): void {
  $('join-fields').hidden = form === 'over';
  // Over: the card says so in its heading, and no longer explains how the line works.
  $('join-heading').textContent = over === 'soldOut' ? 'Sold out' : over === 'closed' ? 'The line is closed' : 'Get in line for tickets';
  $('join-lead').hidden = form === 'over';
  const button = $<HTMLButtonElement>('join-button');
  button.disabled = form === 'armed';
  button.textContent = form === 'open' ? 'Join the line' : form === 'scheduled' ? 'Join when the line opens' : 'Joining when the line opens…';
  if (form !== 'scheduled' && form !== 'armed') stopOpening();
}

/** The countdown to queueOpensAt, and whether the person asked to be joined then. */
let opening: { timer: number; armed: boolean } | undefined;

function stopOpening(): void {
  if (opening) window.clearInterval(opening.timer);
  opening = undefined;
  $('opening').hidden = true;
}

/**
 * Counts down to the line's opening; then joins (when the person asked to) or
 * looks the event up again, which offers "Join the line". `notBefore` keeps a
 * second try after a refused join at least a moment away (the browser's clock
 * may be ahead of the service's).
 */
function countDownToOpening(eventId: string, opensAt: string, armed: boolean, notBefore = 0): void {
  stopOpening();
  const at = Math.max(Date.parse(opensAt), notBefore);
  const line = $('opening');
  line.hidden = false;
  const tick = () => {
    const left = at - Date.now();
    if (left <= 0) {
      const join = opening?.armed;
      stopOpening();
      // Everyone who asked joins within a second of the opening, not all in the same millisecond.
      if (join) window.setTimeout(() => void joinEvent(), Math.random() * 1000);
      else void lookupEvent(eventId);
      return;
    }
    const when = left < 3_600_000 ? `in ${clock(left)}` : `at ${new Date(at).toLocaleString()}`;
    line.textContent = opening?.armed ? `The line opens ${when}. You will be put in it then: keep this page open.` : `The line opens ${when}.`;
  };
  opening = { timer: window.setInterval(tick, 1000), armed };
  setJoinForm(armed ? 'armed' : 'scheduled');
  tick();
}

function describeEvent(view: EventView): string {
  if (view.status === 'soldOut') return 'Sold out: every seat has been sold.';
  if (view.status === 'closed') return 'The line for this event is closed.';
  return view.available > 0
    ? `${plural(view.available, 'seat', 'seats')} of ${view.capacity.toLocaleString()} left · ${plural(view.waiting, 'person', 'people')} in line`
    : `Sold out right now (${view.held.toLocaleString()} held by others may come back)`;
}

async function lookupEvent(eventId: string): Promise<void> {
  const info = $('event-info');
  info.classList.remove('bad');
  setJoinForm('open');
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
    info.textContent = describeEvent(view);
    if (view.status === 'soldOut' || view.status === 'closed') setJoinForm('over', view.status);
    else if (view.status === 'scheduled' && view.config.queueOpensAt) countDownToOpening(eventId, view.config.queueOpensAt, false, Date.now() + 1000);
  } catch (err) {
    info.classList.add('bad');
    info.textContent =
      err instanceof ApiError && err.code === 'EVENT_NOT_FOUND' ? 'No event with this code.' : 'Could not look this event up right now.';
  }
}

/** The form's button: joins now, or (before the line opens) asks to be joined at the opening. */
function submitJoin(): void {
  if (opening && !opening.armed) {
    if (!checkForm()) return;
    opening.armed = true;
    setJoinForm('armed');
    return;
  }
  void joinEvent();
}

/** The event code and name as typed, or undefined after telling the person what is missing. */
function checkForm(): { eventId: string; name: string } | undefined {
  clearAlert();
  const eventInput = $<HTMLInputElement>('event-id');
  const nameInput = $<HTMLInputElement>('user-name');
  const eventId = eventInput.value.trim();
  const name = nameInput.value.trim();
  if (!ID_PATTERN.test(eventId)) {
    eventInput.focus();
    alertUser('Please enter the event code, for example "demo".');
    return undefined;
  }
  if (!name) {
    nameInput.focus();
    alertUser('Please enter your name.');
    return undefined;
  }
  return { eventId, name };
}

async function joinEvent(): Promise<void> {
  const form = checkForm();
  if (!form) return;
  const { eventId, name } = form;
  setJoinForm('open');
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
    flow.startWaiting(
      joined.status === 'prequeue'
        ? { status: 'prequeue', salesStartAt: joined.salesStartAt }
        : joined.status === 'admitted'
          ? { status: 'admitted', accessToken: joined.accessToken, accessExpiresAt: joined.accessExpiresAt }
          : { status: 'waiting', position: joined.position, etaSeconds: joined.etaSeconds },
    );
  } catch (err) {
    // Not open yet (this page's clock or its lookup was early): count down and join at the opening.
    if (err instanceof ApiError && err.code === 'QUEUE_NOT_OPEN' && typeof err.body.queueOpensAt === 'string') {
      return countDownToOpening(eventId, err.body.queueOpensAt, true, Date.now() + 1000);
    }
    explain(err, () => void joinEvent());
  } finally {
    if (!opening) button.disabled = false;
    hideChallengeProgress();
  }
}

/** Back to an empty join form (the seat map forgotten), with the event looked up again. */
function startOver(): void {
  show('join');
  onLeaveView(stopOpening);
  document.title = 'Waiting room · queuegate';
  void lookupEvent($<HTMLInputElement>('event-id').value.trim());
}

/** Wires the form: submit joins, typing an event code looks it up (after a 300 ms pause). */
export function initJoin(): void {
  provide({ startOver });
  const eventInput = $<HTMLInputElement>('event-id');
  let lookupTimer: number | undefined;
  $('join-form').addEventListener('submit', (e) => {
    e.preventDefault();
    submitJoin();
  });
  eventInput.addEventListener('input', () => {
    window.clearTimeout(lookupTimer);
    lookupTimer = window.setTimeout(() => void lookupEvent(eventInput.value.trim()), 300);
  });
}

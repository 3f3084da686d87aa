/**
 * The waiting page of the Queue-it connector flow (queue-it.html): a site's
 * Queue-it KnownUser connector redirects a visitor to `/?c=…&e=…&t=…`; the
 * service has checked the customer, the event and that the target `t` is on
 * one of the event's redirectOrigins before serving this page. The page
 * joins the line anonymously, shows the place live, and when the turn comes
 * asks the service for the target with a signed `queueittoken` and goes
 * there (the secret that signs it never reaches the browser).
 *
 * One place per browser and event: the user id, the join's Idempotency-Key
 * and then the ticket are kept in localStorage, so a reload (or a second tab)
 * follows the same place, and a reload while the join was under way gets the
 * same place back from the service instead of a second one.
 */
import * as api from './api/client.js';
import { ApiError } from './api/client.js';
import type { TicketStatus } from './api/types.js';
import { hideChallengeProgress, joinSolvingChallenge } from './challenge.js';
import { followTicket } from './live.js';
import { $, clock, describeEta, randomId } from './util.js';

const query = new URLSearchParams(location.search);
const eventId = query.get('e') ?? '';
const target = query.get('t') ?? '';

/** This browser's place in this event's line. */
interface Place {
  userId: string;
  /** the join's Idempotency-Key: a repeated join answers the same ticket */
  joinKey: string;
  ticket?: string;
}

const STORAGE_KEY = `queuegate.queue-it.${eventId}`;

const freshPlace = (): Place => ({ userId: `qit-${randomId(24)}`, joinKey: randomId(32) });

function loadPlace(): Place {
  try {
    const stored = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? 'null') as Place | null;
    if (stored && typeof stored.userId === 'string' && typeof stored.joinKey === 'string') return stored;
  } catch {
    /* unreadable: start afresh */
  }
  return savePlace(freshPlace());
}

function savePlace(place: Place): Place {
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(place));
  } catch {
    /* storage off (private mode): the page still works, a reload just joins again */
  }
  return place;
}

/** Shown in the page: where the visitor goes back to (the server checked it is allowed). */
const site = (() => {
  try {
    return new URL(target).host;
  } catch {
    return target;
  }
})();

function tell(text: string, retry?: () => void): void {
  $('alert').hidden = false;
  $('alert').classList.toggle('info', !retry);
  $('alert-text').textContent = text;
  const button = $<HTMLButtonElement>('retry-button');
  button.hidden = !retry;
  button.onclick = retry
    ? () => {
        $('alert').hidden = true;
        retry();
      }
    : null;
}

/** The place only falls (two replicas may be a refresh apart); the first one seen is the bar's full length. */
let firstPosition = 0;
let shownPosition = Infinity;
let countdown: number | undefined;

function render(s: TicketStatus): void {
  window.clearInterval(countdown);
  $('prequeue').hidden = s.status !== 'prequeue';
  if (s.status === 'prequeue' && s.salesStartAt) {
    const start = Date.parse(s.salesStartAt);
    const tick = () => ($('countdown').textContent = start > Date.now() ? clock(start - Date.now()) : 'any moment now');
    tick();
    countdown = window.setInterval(tick, 1000);
    $('position').textContent = '–';
    $('eta').textContent = 'Your place is drawn when sales start';
  } else if (s.status === 'waiting' && s.position === undefined) {
    $('position').textContent = '–';
    $('eta').textContent = 'Admission is by random draw among everyone waiting';
  } else if (s.status === 'waiting' && s.position !== undefined) {
    shownPosition = Math.min(s.position, shownPosition);
    firstPosition = Math.max(firstPosition, shownPosition);
    $('position').textContent = shownPosition.toLocaleString();
    $('eta').textContent = describeEta(s.etaSeconds ?? 0);
    const bar = $<HTMLProgressElement>('progress');
    bar.max = Math.max(firstPosition, 1);
    bar.value = firstPosition - shownPosition;
    document.title = `#${shownPosition.toLocaleString()} in line · queuegate`;
  } else if (s.status === 'closed') {
    $('wait-mode').textContent = 'The line is closed for now: you keep your place';
  } else if (s.status === 'soldOut') {
    stopFollowing();
    end('The sale has ended', 'Sold out: everything has been sold, so nobody else will be let in. Thank you for waiting.');
  }
}

/** Nothing more to wait for here: the card says so instead of showing a place. */
function end(heading: string, text: string): void {
  $('wait-heading').textContent = heading;
  for (const id of ['wait-lead', 'position-live', 'progress', 'prequeue']) $(id).hidden = true;
  $('wait-mode').textContent = '';
  document.title = `${heading} · queuegate`;
  tell(text);
}

let stopFollowing: () => void = () => undefined;
/** A lost ticket is replaced by a new place once per page load, never in a loop. */
let rejoined = false;

function follow(place: Place & { ticket: string }): void {
  stopFollowing = followTicket(eventId, place.ticket, {
    onStatus: (s) => (s.status === 'admitted' ? void goBack(place.ticket) : render(s)),
    onMode: (text) => ($('wait-mode').textContent = text),
    onTicket: (ticket) => savePlace({ ...place, ticket }),
    onGone: (err) => {
      if (err.code === 'TICKET_NOT_FOUND' && !rejoined) {
        // The place ended (the turn was used up, or it was given up): a new one, at the back.
        rejoined = true;
        return void join(savePlace(freshPlace()));
      }
      tell(err.code === 'EVENT_NOT_FOUND' ? 'This line no longer exists.' : 'Your place in line is no longer valid.', () => location.reload());
    },
  });
}

async function join(place: Place): Promise<void> {
  try {
    const joined = await joinSolvingChallenge(eventId, (proof) => api.joinQueue(eventId, place.userId, proof, place.joinKey));
    const kept = savePlace({ ...place, ticket: joined.ticket }) as Place & { ticket: string };
    if (joined.status === 'admitted') return goBack(kept.ticket); // queueMethod passthrough: in at once
    render(joined.status === 'prequeue' ? { status: 'prequeue', salesStartAt: joined.salesStartAt } : { status: 'waiting', position: joined.position, etaSeconds: joined.etaSeconds });
    follow(kept);
  } catch (err) {
    explainJoin(err, () => void join(place));
  } finally {
    hideChallengeProgress();
  }
}

function explainJoin(err: unknown, retry: () => void): void {
  const e = err instanceof ApiError ? err : new ApiError(0, 'NETWORK', String(err));
  $('eta').textContent = '';
  switch (e.code) {
    case 'QUEUE_NOT_OPEN': {
      const opens = typeof e.body.queueOpensAt === 'string' ? new Date(e.body.queueOpensAt).toLocaleString() : 'later';
      return tell(`The line opens at ${opens}. Come back then, or keep this page open and try again.`, retry);
    }
    case 'SOLD_OUT':
      return end('The sale has ended', 'Sold out: everything has been sold, so the line is closed.');
    case 'QUEUE_CLOSED':
      return end('The line is closed', 'The line is closed: it takes no new people right now.');
    case 'DUPLICATE':
      return end('Already in line', 'This browser is already in this line in another tab. Keep that tab open.');
    case 'EVENT_NOT_FOUND':
      return end('No such line', 'This line no longer exists.');
    case 'UNAUTHORIZED':
    case 'VALIDATION':
      // JOIN_IDENTITY=jwt: joins need a sign-in this page cannot give.
      return end('Cannot join here', `This line cannot be joined from this page (${e.message}).`);
    case 'RATE_LIMITED':
      return tell('Too many people joined from your network in the last minute. Please try again in a moment.', retry);
    default:
      return tell("We can't reach the waiting room right now. Please try again in a few seconds.", retry);
  }
}

/** The turn came: the target with a signed queueittoken, from the service, then off to it. */
async function goBack(ticket: string, attempt = 0): Promise<void> {
  stopFollowing();
  window.clearInterval(countdown);
  $('view-wait').hidden = true;
  $('view-turn').hidden = false;
  document.title = 'Your turn · queuegate';
  try {
    const { redirectUrl } = await api.getQueueItRedirect(eventId, ticket, target);
    location.replace(redirectUrl);
  } catch (err) {
    const code = err instanceof ApiError ? err.code : 'NETWORK';
    // Another replica may learn of the turn up to a second later than the one that told this page.
    if (code === 'NOT_ADMITTED' && attempt < 5) return void window.setTimeout(() => void goBack(ticket, attempt + 1), 1000);
    if (code === 'TARGET_NOT_ALLOWED') return tell(`This waiting room no longer sends visitors to ${site}.`);
    if (code === 'TICKET_NOT_FOUND') return tell('Your turn has ended. Go back to the site to queue again.');
    tell("We can't reach the waiting room right now. Please try again in a few seconds.", () => void goBack(ticket));
  }
}

function init(): void {
  $('event-title').textContent = eventId;
  $('target-site').textContent = site;
  $('turn-site').textContent = site;
  const place = loadPlace();
  if (place.ticket) follow(place as Place & { ticket: string });
  else void join(place);
}

init();

/**
 * The waiting room: join an event's queue, watch your place fall live (Server-
 * Sent Events, or polling every 2 s when they fail), then pick seats, hold
 * them, and buy or release them before the hold runs out. Plain DOM, no
 * framework; built by `npm run build` (web/tsconfig.json) into dist/public/.
 */

// A module (type="module" in index.html): nothing here leaks into the page's globals.
export {};

// ---------------------------------------------------------------- API client

interface ErrorBody {
  statusCode: number;
  code: string;
  message: string;
  [extra: string]: unknown;
}

interface TicketStatus {
  status: 'waiting' | 'admitted';
  position?: number;
  etaSeconds?: number;
  accessToken?: string;
  accessExpiresAt?: string;
}

interface EventView {
  eventId: string;
  capacity: number;
  available: number;
  held: number;
  sold: number;
  waiting: number;
  active: number;
  config: { maxSeatsPerUser?: number; holdTtlSeconds?: number; paused?: boolean };
}

interface Seat {
  seatId: string;
  status: 'available' | 'held' | 'sold';
}

interface SeatPage {
  available: number;
  held: number;
  sold: number;
  seats: Seat[];
  nextCursor: number | null;
}

interface Hold {
  holdId: string;
  seatIds: string[];
  expiresAt: string;
}

interface Order {
  orderId: string;
  seatIds: string[];
}

/** An answer that was not a success: the CONTRACT error body, or NETWORK when nothing came back. */
class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body: Partial<ErrorBody> = {},
  ) {
    super(message);
  }
}

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

async function api<T>(method: string, path: string, options: { body?: unknown; token?: string; idempotent?: boolean } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.idempotent) headers['idempotency-key'] = randomId(24);
  let response: Response;
  try {
    response = await fetch(path, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
  } catch {
    throw new ApiError(0, 'NETWORK', 'network error');
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const body = (parsed ?? {}) as Partial<ErrorBody>;
    throw new ApiError(response.status, body.code ?? `HTTP_${response.status}`, body.message ?? response.statusText, body);
  }
  return parsed as T;
}

const enc = encodeURIComponent;
const eventPath = (eventId: string) => `/v1/events/${enc(eventId)}`;

// ---------------------------------------------------------------- helpers

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing from the page`);
  return element as T;
};

function randomId(length: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = new Uint8Array(length);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
}

/** A userId from a person's name: letters, digits, '.', '_' and '-' only, plus a random suffix. */
function userIdFrom(name: string): string {
  const base = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .replace(/-+$/, '')
    .slice(0, 40);
  const id = `${base || 'guest'}-${randomId(6)}`;
  return ID_PATTERN.test(id) ? id : `guest-${randomId(6)}`;
}

function plural(n: number, one: string, many: string): string {
  return `${n.toLocaleString()} ${n === 1 ? one : many}`;
}

function describeEta(seconds: number): string {
  if (seconds <= 60) return 'Less than a minute to go';
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `About ${plural(minutes, 'minute', 'minutes')} to go`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return `About ${plural(hours, 'hour', 'hours')}${rest ? ` ${rest} min` : ''} to go`;
}

function clock(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const minutes = Math.floor(total / 60);
  const seconds = total % 60;
  return `${minutes}:${String(seconds).padStart(2, '0')}`;
}

function listSeats(ids: string[]): string {
  if (ids.length <= 1) return ids.join('');
  return `${ids.slice(0, -1).join(', ')} and ${ids[ids.length - 1]}`;
}

// ---------------------------------------------------------------- state

interface Session {
  eventId: string;
  userId: string;
  ticket: string;
  accessToken?: string;
  accessExpiresAt?: string;
  hold?: Hold;
}

const STORAGE_KEY = 'queuegate.session';

function saveSession(s: Session | undefined): void {
  try {
    if (s) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(s));
    else sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    /* private mode: the page still works, a reload just starts over */
  }
}

function loadSession(): Session | undefined {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    return raw ? (JSON.parse(raw) as Session) : undefined;
  } catch {
    return undefined;
  }
}

let session: Session | undefined;
let currentEvent: EventView | undefined;
const seats = new Map<string, Seat>();
const seatButtons = new Map<string, HTMLButtonElement>();
const picked = new Set<string>();
/** Stops whatever the current view runs in the background (stream, polls, timers). */
let stopBackground: () => void = () => undefined;

type View = 'join' | 'wait' | 'seats' | 'hold' | 'done';

function show(view: View): void {
  stopBackground();
  stopBackground = () => undefined;
  for (const name of ['join', 'wait', 'seats', 'hold', 'done'] as View[]) $(`view-${name}`).hidden = name !== view;
  $('main').classList.toggle('wide', view === 'seats');
  const title = $('event-title');
  title.hidden = !session;
  title.textContent = session ? session.eventId : '';
}

/** Adds a background task to the current view; show() stops it. */
function onLeaveView(stop: () => void): void {
  const previous = stopBackground;
  stopBackground = () => {
    previous();
    stop();
  };
}

// ---------------------------------------------------------------- alerts

interface Action {
  label: string;
  run: () => void;
}

function alertUser(text: string, actions: Action[] = [], kind: 'error' | 'info' = 'error'): void {
  const box = $('alert');
  box.classList.toggle('info', kind === 'info');
  $('alert-text').textContent = text;
  const holder = $('alert-actions');
  holder.replaceChildren(
    ...actions.map((a) => {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'secondary';
      button.textContent = a.label;
      button.addEventListener('click', () => {
        clearAlert();
        a.run();
      });
      return button;
    }),
  );
  box.hidden = false;
  box.scrollIntoView({ block: 'nearest' });
}

function clearAlert(): void {
  $('alert').hidden = true;
}

const joinAgain: Action = { label: 'Join the line again', run: () => startOver() };

/** What a person should read for an error, and what they can do next. */
function explain(err: unknown, retry?: () => void): void {
  const e = err instanceof ApiError ? err : new ApiError(0, 'NETWORK', String(err));
  const retryAction = retry ? [{ label: 'Try again', run: retry }] : [];
  switch (e.code) {
    case 'SOLD_OUT':
      return alertUser(
        'Sorry, every seat is taken right now. Some are only held and go back on sale if those people do not buy, so it is worth trying again in a minute.',
        [{ label: 'Check again', run: () => void refreshSeats() }],
      );
    case 'SEAT_UNAVAILABLE': {
      const ids = Array.isArray(e.body.seatIds) ? (e.body.seatIds as string[]) : [];
      markTaken(ids);
      return alertUser(
        `Someone else just took ${ids.length ? `seat${ids.length > 1 ? 's' : ''} ${listSeats(ids)}` : 'one of those seats'}. The map is updated: please pick other seats.`,
      );
    }
    case 'LIMIT_EXCEEDED': {
      const max = typeof e.body.max === 'number' ? e.body.max : maxSeats();
      const current = typeof e.body.current === 'number' ? e.body.current : 0;
      return alertUser(
        `You can have at most ${plural(max, 'seat', 'seats')} for this event${current ? ` and you already have ${current}` : ''}. Pick fewer seats.`,
      );
    }
    case 'FORBIDDEN':
    case 'UNAUTHORIZED':
      endSession();
      show('join');
      return alertUser('Your shopping time is over, so your turn has passed. You can join the line again.', [joinAgain]);
    case 'HOLD_EXPIRED':
    case 'HOLD_NOT_FOUND':
      return alertUser('Your hold ran out and those seats went back on sale. Pick seats again while your turn lasts.', [
        { label: 'Back to the seat map', run: () => void openSeats() },
      ]);
    case 'NOT_OWNER':
      return alertUser('That hold belongs to someone else. Pick seats again.', [{ label: 'Back to the seat map', run: () => void openSeats() }]);
    case 'TICKET_NOT_FOUND':
      endSession();
      show('join');
      return alertUser('Your place in line is no longer valid: it was given up, or your turn ended. You can join the line again.', [joinAgain]);
    case 'EVENT_NOT_FOUND':
      return alertUser('There is no event with that code. Check the code on your invitation and try again.');
    case 'DUPLICATE':
      return alertUser(
        `You are already in line for this event${typeof e.body.position === 'number' ? ` (place ${e.body.position})` : ''}. Keep that page open.`,
      );
    case 'VALIDATION':
      return alertUser(`That did not look right: ${e.message}`);
    case 'UNAVAILABLE':
    case 'NETWORK':
      return alertUser(
        "We can't reach the ticket system right now. Your place is kept; try again in a few seconds.",
        retryAction,
      );
    default:
      return alertUser(`Something went wrong (${e.code}). Please try again in a moment.`, retryAction);
  }
}

// ---------------------------------------------------------------- 1. join

let lookupTimer: number | undefined;

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
    const view = await api<EventView>('GET', eventPath(eventId));
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
    const joined = await api<{ ticket: string; position: number; etaSeconds: number }>('POST', `${eventPath(eventId)}/queue`, {
      body: { userId },
    });
    session = { eventId, userId, ticket: joined.ticket };
    saveSession(session);
    const url = new URL(location.href);
    url.searchParams.set('event', eventId);
    history.replaceState(null, '', url);
    startWaiting({ status: 'waiting', position: joined.position, etaSeconds: joined.etaSeconds });
  } catch (err) {
    explain(err, () => void join());
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------- 2. wait

let firstPosition = 0;

function renderWaiting(s: TicketStatus): void {
  const position = s.position ?? 0;
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
  } else {
    renderWaiting(s);
  }
}

function startWaiting(initial?: TicketStatus): void {
  show('wait');
  firstPosition = 0;
  if (initial) renderWaiting(initial);
  const s = session;
  if (!s) return;
  const statusPath = `${eventPath(s.eventId)}/queue/${enc(s.ticket)}`;
  const mode = $('wait-mode');

  let pollTimer: number | undefined;
  let stopped = false;
  const poll = async () => {
    if (stopped) return;
    try {
      const status = await api<TicketStatus>('GET', statusPath);
      if (stopped) return;
      mode.textContent = 'Checking every 2 seconds';
      onStatus(status);
      if (status.status === 'admitted') return;
    } catch (err) {
      if (stopped) return;
      if (err instanceof ApiError && (err.code === 'TICKET_NOT_FOUND' || err.code === 'EVENT_NOT_FOUND')) return explain(err);
      mode.textContent = 'Reconnecting…';
    }
    pollTimer = window.setTimeout(() => void poll(), 2000);
  };
  const fallBackToPolling = () => {
    if (stopped || pollTimer !== undefined) return;
    pollTimer = window.setTimeout(() => void poll(), 0);
  };

  let source: EventSource | undefined;
  if (typeof EventSource === 'function') {
    source = new EventSource(`${statusPath}/events`);
    source.onopen = () => (mode.textContent = 'Live updates');
    source.onmessage = (m: MessageEvent<string>) => {
      const status = JSON.parse(m.data) as TicketStatus;
      if (status.status === 'admitted') source?.close(); // the server ends the stream; don't reconnect
      onStatus(status);
    };
    source.addEventListener('failure', (m) => {
      source?.close();
      const body = JSON.parse((m as MessageEvent<string>).data) as ErrorBody;
      if (body.code === 'TICKET_NOT_FOUND') return explain(new ApiError(body.statusCode, body.code, body.message, body));
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
  onLeaveView(() => {
    stopped = true;
    source?.close();
    window.clearTimeout(pollTimer);
  });
}

async function leaveLine(): Promise<void> {
  const s = session;
  if (!s) return startOver();
  try {
    await api('DELETE', `${eventPath(s.eventId)}/queue/${enc(s.ticket)}`);
  } catch (err) {
    if (!(err instanceof ApiError && err.code === 'TICKET_NOT_FOUND')) return explain(err, () => void leaveLine());
  }
  endSession();
  startOver();
  alertUser('You left the line. You can join again at any time, but you will start at the back.', [], 'info');
}

// ---------------------------------------------------------------- 3. seats

const maxSeats = () => currentEvent?.config.maxSeatsPerUser ?? 4;

async function fetchAllSeats(eventId: string): Promise<SeatPage> {
  let cursor: number | null = 0;
  let last: SeatPage | undefined;
  const all: Seat[] = [];
  while (cursor !== null) {
    const query: string = cursor ? `?limit=1000&cursor=${cursor}` : '?limit=1000';
    const page: SeatPage = await api<SeatPage>('GET', `${eventPath(eventId)}/seats${query}`);
    all.push(...page.seats);
    last = page;
    cursor = page.nextCursor;
  }
  return { ...(last as SeatPage), seats: all, nextCursor: null };
}

function renderCounts(page: { available: number; held: number; sold: number }): void {
  $('counts').textContent = `${plural(page.available, 'seat', 'seats')} available · ${page.held.toLocaleString()} held · ${page.sold.toLocaleString()} sold`;
}

function renderSeat(seat: Seat): void {
  let button = seatButtons.get(seat.seatId);
  if (!button) {
    button = document.createElement('button');
    button.type = 'button';
    button.className = 'seat';
    button.textContent = seat.seatId;
    button.dataset.seat = seat.seatId;
    button.addEventListener('click', () => togglePick(seat.seatId));
    seatButtons.set(seat.seatId, button);
    $('seat-map').append(button);
  }
  if (seat.status !== 'available') picked.delete(seat.seatId);
  const mine = picked.has(seat.seatId);
  button.classList.toggle('held', seat.status === 'held');
  button.classList.toggle('sold', seat.status === 'sold');
  button.disabled = seat.status !== 'available';
  button.setAttribute('aria-pressed', String(mine));
  button.setAttribute('aria-label', `Seat ${seat.seatId}, ${mine ? 'picked' : seat.status}`);
}

function renderSelection(): void {
  const ids = [...picked];
  const max = maxSeats();
  $('selection').textContent = ids.length
    ? `${listSeats(ids)} (${ids.length} of at most ${max})`
    : `No seats picked yet. You can pick up to ${plural(max, 'seat', 'seats')}.`;
  const button = $<HTMLButtonElement>('hold-button');
  button.disabled = ids.length === 0;
  button.textContent = ids.length ? `Hold ${plural(ids.length, 'seat', 'seats')}` : 'Hold seats';
}

function togglePick(seatId: string): void {
  const seat = seats.get(seatId);
  if (!seat || seat.status !== 'available') return;
  if (picked.has(seatId)) picked.delete(seatId);
  else if (picked.size >= maxSeats()) {
    return alertUser(`You can pick at most ${plural(maxSeats(), 'seat', 'seats')}. Unpick one first.`);
  } else picked.add(seatId);
  clearAlert();
  renderSeat(seat);
  renderSelection();
}

function markTaken(ids: string[]): void {
  for (const id of ids) {
    const seat = seats.get(id);
    if (seat && seat.status === 'available') seat.status = 'held';
    picked.delete(id);
    if (seat) renderSeat(seat);
    seatButtons.get(id)?.classList.add('taken-now');
  }
  renderSelection();
  void refreshSeats();
}

async function refreshSeats(): Promise<void> {
  if (!session) return;
  const page = await fetchAllSeats(session.eventId);
  for (const seat of page.seats) {
    seats.set(seat.seatId, seat);
    renderSeat(seat);
  }
  renderCounts(page);
  renderSelection();
}

async function openSeats(): Promise<void> {
  const s = session;
  if (!s?.accessToken) return startOver();
  show('seats');
  // What the map showed before may be stale: dim it until it is read again.
  const map = $('seat-map');
  map.setAttribute('aria-busy', 'true');
  try {
    currentEvent = await api<EventView>('GET', eventPath(s.eventId));
    await refreshSeats();
  } catch (err) {
    return explain(err, () => void openSeats());
  } finally {
    map.setAttribute('aria-busy', 'false');
  }
  renderSelection();
  $('seat-map').querySelector<HTMLButtonElement>('.seat:not(:disabled)')?.focus({ preventScroll: true });

  // Keep the map fresh while the person picks, and count their turn down.
  let refreshing = false;
  const refresh = window.setInterval(() => {
    if (refreshing) return;
    refreshing = true;
    void refreshSeats()
      .catch(() => undefined)
      .finally(() => (refreshing = false));
  }, 5000);
  const timer = $('session-timer');
  const ends = s.accessExpiresAt ? Date.parse(s.accessExpiresAt) : NaN;
  const tick = () => {
    if (Number.isNaN(ends)) return;
    const left = ends - Date.now();
    timer.textContent = `Your turn ends in ${clock(left)}`;
    timer.classList.toggle('low', left < 60_000);
    if (left <= 0) {
      endSession();
      show('join');
      alertUser('Your shopping time is over, so your turn has passed. You can join the line again.', [joinAgain]);
    }
  };
  tick();
  const countdown = window.setInterval(tick, 1000);
  onLeaveView(() => {
    window.clearInterval(refresh);
    window.clearInterval(countdown);
  });
}

async function holdPicked(): Promise<void> {
  const s = session;
  if (!s?.accessToken || picked.size === 0) return;
  clearAlert();
  const button = $<HTMLButtonElement>('hold-button');
  button.disabled = true;
  const seatIds = [...picked];
  try {
    const hold = await api<Hold>('POST', `${eventPath(s.eventId)}/holds`, { body: { seatIds }, token: s.accessToken, idempotent: true });
    picked.clear();
    s.hold = hold;
    saveSession(s);
    showHold(hold);
  } catch (err) {
    explain(err, () => void holdPicked());
    renderSelection();
  }
}

// ---------------------------------------------------------------- 4. hold

function showHold(hold: Hold): void {
  show('hold');
  $('held-seats').textContent = `${hold.seatIds.length > 1 ? 'Seats' : 'Seat'} ${listSeats(hold.seatIds)}`;
  const countdown = $('hold-countdown');
  const announce = $('hold-announce');
  const ends = Date.parse(hold.expiresAt);
  let warned = false;
  const tick = () => {
    const left = ends - Date.now();
    countdown.textContent = clock(left);
    countdown.classList.toggle('low', left < 30_000);
    if (!warned && left < 30_000 && left > 0) {
      warned = true;
      announce.textContent = 'Less than 30 seconds left to buy your seats.';
    }
    if (left <= 0) {
      window.clearInterval(timer);
      if (session) session.hold = undefined;
      saveSession(session);
      // The service puts expired seats back on sale within 1 s of expiresAt:
      // read the map after that, so it shows them available.
      const reopen = window.setTimeout(
        () =>
          void openSeats().then(() =>
            alertUser('Your hold ran out and those seats went back on sale. Pick seats again while your turn lasts.'),
          ),
        1200,
      );
      onLeaveView(() => window.clearTimeout(reopen));
    }
  };
  const timer = window.setInterval(tick, 250);
  tick();
  onLeaveView(() => window.clearInterval(timer));
  $('confirm-button').focus({ preventScroll: true });
}

async function confirmHold(): Promise<void> {
  const s = session;
  if (!s?.accessToken || !s.hold) return;
  clearAlert();
  const buttons = [$<HTMLButtonElement>('confirm-button'), $<HTMLButtonElement>('release-button')];
  buttons.forEach((b) => (b.disabled = true));
  try {
    const order = await api<Order>('POST', `${eventPath(s.eventId)}/holds/${enc(s.hold.holdId)}/confirm`, {
      body: {},
      token: s.accessToken,
      idempotent: true,
    });
    s.hold = undefined;
    saveSession(s);
    show('done');
    $('done-text').textContent = `${order.seatIds.length > 1 ? 'Seats' : 'Seat'} ${listSeats(order.seatIds)} ${order.seatIds.length > 1 ? 'are' : 'is'} yours.`;
    $('order-id').textContent = `Order ${order.orderId}`;
    $('finish-button').focus({ preventScroll: true });
  } catch (err) {
    if (err instanceof ApiError && (err.code === 'HOLD_EXPIRED' || err.code === 'HOLD_NOT_FOUND')) {
      s.hold = undefined;
      saveSession(s);
      await openSeats();
    }
    explain(err, () => void confirmHold());
  } finally {
    buttons.forEach((b) => (b.disabled = false));
  }
}

async function releaseHold(): Promise<void> {
  const s = session;
  if (!s?.accessToken || !s.hold) return;
  clearAlert();
  try {
    await api('DELETE', `${eventPath(s.eventId)}/holds/${enc(s.hold.holdId)}`, { token: s.accessToken });
  } catch (err) {
    if (!(err instanceof ApiError && err.code === 'HOLD_NOT_FOUND')) return explain(err, () => void releaseHold());
  }
  s.hold = undefined;
  saveSession(s);
  await openSeats();
  alertUser('Seats released. Pick others, or leave them for someone else.', [], 'info');
}

// ---------------------------------------------------------------- 5. done

async function finish(): Promise<void> {
  const s = session;
  if (s) {
    // Ends the turn at once, so the next person in line gets in sooner.
    await api('DELETE', `${eventPath(s.eventId)}/queue/${enc(s.ticket)}`).catch(() => undefined);
  }
  endSession();
  startOver();
  alertUser('Thank you! Enjoy the show.', [], 'info');
}

// ---------------------------------------------------------------- wiring

function endSession(): void {
  session = undefined;
  saveSession(undefined);
}

function startOver(): void {
  show('join');
  picked.clear();
  seats.clear();
  seatButtons.clear();
  $('seat-map').replaceChildren();
  document.title = 'Waiting room · queuegate';
  void lookupEvent($<HTMLInputElement>('event-id').value.trim());
}

function init(): void {
  const params = new URLSearchParams(location.search);
  const eventInput = $<HTMLInputElement>('event-id');
  eventInput.value = params.get('event') ?? 'demo';

  $('join-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void join();
  });
  eventInput.addEventListener('input', () => {
    window.clearTimeout(lookupTimer);
    lookupTimer = window.setTimeout(() => void lookupEvent(eventInput.value.trim()), 300);
  });
  $('leave-button').addEventListener('click', () => void leaveLine());
  $('hold-button').addEventListener('click', () => void holdPicked());
  $('confirm-button').addEventListener('click', () => void confirmHold());
  $('release-button').addEventListener('click', () => void releaseHold());
  $('more-button').addEventListener('click', () => void openSeats());
  $('finish-button').addEventListener('click', () => void finish());

  // A reload picks up where the person was (same tab only: sessionStorage).
  const stored = loadSession();
  if (stored && stored.eventId === eventInput.value.trim()) {
    session = stored;
    if (stored.hold && Date.parse(stored.hold.expiresAt) > Date.now()) return showHold(stored.hold);
    if (stored.accessToken) return void openSeats();
    return startWaiting();
  }
  startOver();
}

init();

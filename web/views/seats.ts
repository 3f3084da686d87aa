/** 3. The seat map during the person's turn: pick seats and hold them. */
import * as api from '../api/client.js';
import type { BestSeats, EventView, Hold, Seat } from '../api/types.js';
import { endSession, onLeaveView, saveSession, session, show } from '../state.js';
import { $, clock, listSeats, money, plural } from '../util.js';
import { alertUser, clearAlert, explain, joinAgain } from './errors.js';
import { showHold } from './hold.js';
import { startOver } from './join.js';

let currentEvent: EventView | undefined;
const seats = new Map<string, Seat>();
const seatButtons = new Map<string, HTMLButtonElement>();
const picked = new Set<string>();

export const maxSeats = () => currentEvent?.config.maxSeatsPerUser ?? 4;

/** A venue (made with a layout): seats have sections, rows and priced levels. */
const isVenue = () => (currentEvent?.levels ?? []).some((l) => l.price !== undefined);

function levelPrice(priceLevel?: string): { amount: number; currency: string } | undefined {
  const level = currentEvent?.levels?.find((l) => l.priceLevel === priceLevel);
  return level?.price !== undefined && level.currency ? { amount: level.price, currency: level.currency } : undefined;
}

/** What these seats cost, when they are priced: the total shown before "Buy now". */
export function totalOf(seatIds: string[]): { amount: number; currency: string } | undefined {
  let amount = 0;
  let currency = '';
  for (const id of seatIds) {
    const price = levelPrice(seats.get(id)?.priceLevel);
    if (!price) return undefined;
    amount += price.amount;
    currency = price.currency;
  }
  return seatIds.length ? { amount, currency } : undefined;
}

/** A venue seat sits in its section's block, on its row's line: made on first sight, in seat order. */
function seatSlot(seat: Seat): HTMLElement {
  if (!seat.sectionId) return $('seat-map');
  const map = $('seat-map');
  map.classList.add('venue');
  let section = map.querySelector<HTMLElement>(`[data-section="${CSS.escape(seat.sectionId)}"]`);
  if (!section) {
    section = document.createElement('div');
    section.className = 'section';
    section.dataset.section = seat.sectionId;
    const heading = document.createElement('h2');
    const price = levelPrice(seat.priceLevel);
    heading.textContent = `Section ${seat.sectionId} · ${seat.priceLevel}${price ? ` · ${money(price.amount, price.currency)}` : ''}`;
    section.append(heading);
    map.append(section);
  }
  let row = section.querySelector<HTMLElement>(`[data-row="${CSS.escape(seat.rowId ?? '')}"]`);
  if (!row) {
    row = document.createElement('div');
    row.className = 'row';
    row.dataset.row = seat.rowId ?? '';
    const label = document.createElement('span');
    label.className = 'row-label';
    label.textContent = `Row ${seat.rowId}`;
    row.append(label);
    section.append(row);
  }
  return row;
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
    // On a venue map the row says section and row: the button shows the seat number.
    button.textContent = seat.sectionId ? seat.seatId.slice(`${seat.sectionId}-${seat.rowId}-`.length) : seat.seatId;
    button.dataset.seat = seat.seatId;
    button.addEventListener('click', () => togglePick(seat.seatId));
    seatButtons.set(seat.seatId, button);
    seatSlot(seat).append(button);
  }
  if (seat.status !== 'available') picked.delete(seat.seatId);
  const mine = picked.has(seat.seatId);
  button.classList.toggle('held', seat.status === 'held');
  button.classList.toggle('sold', seat.status === 'sold');
  button.disabled = seat.status !== 'available';
  button.setAttribute('aria-pressed', String(mine));
  const price = levelPrice(seat.priceLevel);
  button.setAttribute('aria-label', `Seat ${seat.seatId}${price ? `, ${money(price.amount, price.currency)}` : ''}, ${mine ? 'picked' : seat.status}`);
}

function renderSelection(): void {
  const ids = [...picked];
  const max = maxSeats();
  const total = totalOf(ids);
  $('selection').textContent = ids.length
    ? `${listSeats(ids)} (${ids.length} of at most ${max})${total ? ` · ${money(total.amount, total.currency)}` : ''}`
    : `No seats picked yet. You can pick up to ${plural(max, 'seat', 'seats')}${isVenue() ? ', or let us find the best ones' : ''}.`;
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

/** Seats someone else just took: shown as taken at once, then the map is read again. */
export function markTaken(ids: string[]): void {
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

export async function refreshSeats(): Promise<void> {
  if (!session) return;
  const page = await api.getAllSeats(session.eventId);
  for (const seat of page.seats) {
    seats.set(seat.seatId, seat);
    renderSeat(seat);
  }
  renderCounts(page);
  renderSelection();
}

/** Forgets the map and the picks (a new person or a new turn starts from nothing). */
export function resetSeatMap(): void {
  picked.clear();
  seats.clear();
  seatButtons.clear();
  $('seat-map').replaceChildren();
  $('seat-map').classList.remove('venue');
}

export async function openSeats(): Promise<void> {
  const s = session;
  if (!s?.accessToken) return startOver();
  show('seats');
  // What the map showed before may be stale: dim it until it is read again.
  const map = $('seat-map');
  map.setAttribute('aria-busy', 'true');
  try {
    currentEvent = await api.getEvent(s.eventId);
    await refreshSeats();
  } catch (err) {
    return explain(err, () => void openSeats());
  } finally {
    map.setAttribute('aria-busy', 'false');
  }
  renderBest();
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

/** "Best N together": how many (up to the limit), together in one row or not, in which price level. */
function renderBest(): void {
  const quantity = $<HTMLSelectElement>('best-quantity');
  const chosen = Number(quantity.value) || 2;
  quantity.replaceChildren(
    ...Array.from({ length: maxSeats() }, (_, i) => new Option(String(i + 1), String(i + 1), false, i + 1 === Math.min(chosen, maxSeats()))),
  );
  // Together and levels need a venue; on general admission "best N" is just N seats.
  $('best-together-label').hidden = !isVenue();
  const level = $<HTMLSelectElement>('best-level');
  const priced = (currentEvent?.levels ?? []).filter((l) => l.price !== undefined);
  $('best-level-label').hidden = priced.length < 2;
  level.replaceChildren(
    new Option('any price', ''),
    ...priced.map((l) => new Option(`${l.priceLevel} · ${money(l.price as number, l.currency as string)} (${l.available.toLocaleString()} left)`, l.priceLevel)),
  );
}

async function hold(request: (token: string, eventId: string) => Promise<Hold>, retry: () => void): Promise<void> {
  const s = session;
  if (!s?.accessToken) return;
  clearAlert();
  const buttons = [$<HTMLButtonElement>('hold-button'), $<HTMLButtonElement>('best-button')];
  buttons.forEach((b) => (b.disabled = true));
  try {
    const held = await request(s.accessToken, s.eventId);
    picked.clear();
    s.hold = held;
    saveSession(s);
    showHold(held);
  } catch (err) {
    explain(err, retry);
    renderSelection();
  } finally {
    $<HTMLButtonElement>('best-button').disabled = false;
  }
}

function holdPicked(): Promise<void> {
  const seatIds = [...picked];
  if (seatIds.length === 0) return Promise.resolve();
  return hold((token, eventId) => api.createHold(eventId, seatIds, token), () => void holdPicked());
}

function holdBest(): Promise<void> {
  const best: BestSeats = { quantity: Number($<HTMLSelectElement>('best-quantity').value) || 1 };
  if (isVenue() && $<HTMLInputElement>('best-together').checked) best.together = true;
  const level = $<HTMLSelectElement>('best-level').value;
  if (isVenue() && level) best.priceLevel = level;
  return hold((token, eventId) => api.holdBest(eventId, best, token), () => void holdBest());
}

export function initSeats(): void {
  $('hold-button').addEventListener('click', () => void holdPicked());
  $('best-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void holdBest();
  });
}

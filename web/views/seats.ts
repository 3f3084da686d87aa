/** 3. The seat map during the person's turn: pick seats and hold them. */
import * as api from '../api/client.js';
import type { EventView, Seat } from '../api/types.js';
import { endSession, onLeaveView, saveSession, session, show } from '../state.js';
import { $, clock, listSeats, plural } from '../util.js';
import { alertUser, clearAlert, explain, joinAgain } from './errors.js';
import { showHold } from './hold.js';
import { startOver } from './join.js';

let currentEvent: EventView | undefined;
const seats = new Map<string, Seat>();
const seatButtons = new Map<string, HTMLButtonElement>();
const picked = new Set<string>();

export const maxSeats = () => currentEvent?.config.maxSeatsPerUser ?? 4;

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
    const hold = await api.createHold(s.eventId, seatIds, s.accessToken);
    picked.clear();
    s.hold = hold;
    saveSession(s);
    showHold(hold);
  } catch (err) {
    explain(err, () => void holdPicked());
    renderSelection();
  }
}

export function initSeats(): void {
  $('hold-button').addEventListener('click', () => void holdPicked());
}

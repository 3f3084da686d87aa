/** 4. Seats held: a countdown to expiry, then buy or release. */
import * as api from '../api/client.js';
import { ApiError } from '../api/client.js';
import type { Hold } from '../api/types.js';
import { alertUser, clearAlert, explain } from '../alerts.js';
import { totalOf } from '../event-info.js';
import { flow, provide } from '../flow.js';
import { onLeaveView, saveSession, session, show } from '../state.js';
import { $, clock, listSeats, money } from '../util.js';

function showHold(hold: Hold): void {
  show('hold');
  $('held-seats').textContent = `${hold.seatIds.length > 1 ? 'Seats' : 'Seat'} ${listSeats(hold.seatIds)}`;
  // The price before "Buy now" (venue seats are priced by their level).
  const total = totalOf(hold.seatIds);
  $('hold-total').hidden = !total;
  $('hold-total').textContent = total ? `Total ${money(total.amount, total.currency)}` : '';
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
          void flow.openSeats().then(() =>
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
    const order = await api.confirmHold(s.eventId, s.hold.holdId, s.accessToken);
    s.hold = undefined;
    saveSession(s);
    flow.showDone(order);
  } catch (err) {
    if (err instanceof ApiError && (err.code === 'HOLD_EXPIRED' || err.code === 'HOLD_NOT_FOUND')) {
      s.hold = undefined;
      saveSession(s);
      await flow.openSeats();
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
    await api.releaseHold(s.eventId, s.hold.holdId, s.accessToken);
  } catch (err) {
    if (!(err instanceof ApiError && err.code === 'HOLD_NOT_FOUND')) return explain(err, () => void releaseHold());
  }
  s.hold = undefined;
  saveSession(s);
  await flow.openSeats();
  alertUser('Seats released. Pick others, or leave them for someone else.', [], 'info');
}

export function initHold(): void {
  provide({ showHold });
  $('confirm-button').addEventListener('click', () => void confirmHold());
  $('release-button').addEventListener('click', () => void releaseHold());
}

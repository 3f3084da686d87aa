/** 5. Bought: the order, then buy more or finish (which ends the turn). */
import * as api from '../api/client.js';
import type { Order } from '../api/types.js';
import { alertUser } from '../alerts.js';
import { flow, provide } from '../flow.js';
import { endSession, session, show } from '../state.js';
import { $, listSeats, money } from '../util.js';

function showDone(order: Order): void {
  show('done');
  $('done-text').textContent = `${order.seatIds.length > 1 ? 'Seats' : 'Seat'} ${listSeats(order.seatIds)} ${order.seatIds.length > 1 ? 'are' : 'is'} yours.`;
  $('order-id').textContent = `Order ${order.orderId}${order.total ? ` · paid ${money(order.total.amount, order.total.currency)}` : ''}`;
  $('finish-button').focus({ preventScroll: true });
}

async function finish(): Promise<void> {
  const s = session;
  if (s) {
    // Ends the turn at once, so the next person in line gets in sooner.
    await api.leaveQueue(s.eventId, s.ticket).catch(() => undefined);
  }
  endSession();
  flow.startOver();
  alertUser('Thank you! Enjoy the show.', [], 'info');
}

export function initDone(): void {
  provide({ showDone });
  $('more-button').addEventListener('click', () => void flow.openSeats());
  $('finish-button').addEventListener('click', () => void finish());
}

/**
 * The alert box above the views, and what a person reads for each error code
 * with what they can do next.
 */
import { ApiError } from './api/client.js';
import { maxSeats } from './event-info.js';
import { flow } from './flow.js';
import { endSession, show } from './state.js';
import { $, listSeats, plural } from './util.js';

export interface Action {
  label: string;
  run: () => void;
}

export function alertUser(text: string, actions: Action[] = [], kind: 'error' | 'info' = 'error'): void {
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

export function clearAlert(): void {
  $('alert').hidden = true;
}

export const joinAgain: Action = { label: 'Join the line again', run: () => flow.startOver() };

/** What a person should read for an error, and what they can do next. */
export function explain(err: unknown, retry?: () => void): void {
  const e = err instanceof ApiError ? err : new ApiError(0, 'NETWORK', String(err));
  const retryAction = retry ? [{ label: 'Try again', run: retry }] : [];
  switch (e.code) {
    case 'QUEUE_NOT_OPEN': {
      // The join view counts down to the opening and joins then; this is for anywhere else.
      const opens = typeof e.body.queueOpensAt === 'string' ? new Date(e.body.queueOpensAt).toLocaleString() : 'later';
      return alertUser(`The line for this event opens at ${opens}.`, retryAction, 'info');
    }
    case 'QUEUE_CLOSED':
      return alertUser('The line for this event is closed: it takes no new people right now.', [], 'info');
    case 'SOLD_OUT':
      // 410 on a join: the sale is over for good (no seat left, none held).
      if (e.status === 410) return alertUser('Sold out: every seat has been sold, so the line is closed.', [], 'info');
      return alertUser(
        'Sorry, every seat is taken right now. Some are only held and go back on sale if those people do not buy, so it is worth trying again in a minute.',
        [{ label: 'Check again', run: () => void flow.refreshSeats() }],
      );
    case 'NO_ADJACENT_SEATS':
      return alertUser(
        'There are seats left, but not that many side by side in one row. Ask for fewer seats together, untick "together", or pick seats on the map.',
        [{ label: 'Show the map', run: () => void flow.refreshSeats() }],
      );
    case 'SEAT_UNAVAILABLE': {
      const ids = Array.isArray(e.body.seatIds) ? (e.body.seatIds as string[]) : [];
      flow.markTaken(ids);
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
        { label: 'Back to the seat map', run: () => void flow.openSeats() },
      ]);
    case 'NOT_OWNER':
      return alertUser('That hold belongs to someone else. Pick seats again.', [{ label: 'Back to the seat map', run: () => void flow.openSeats() }]);
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
    case 'RATE_LIMITED':
      return alertUser('Too many people joined from your network in the last minute. Please try again in a moment.', retryAction);
    case 'CHALLENGE_REQUIRED':
    case 'CHALLENGE_FAILED':
      return alertUser('The check that you are a person did not go through. Please try again.', retryAction);
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

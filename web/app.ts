/**
 * The waiting room: join an event's queue, watch your place fall live (Server-
 * Sent Events, or polling every 2 s when they fail), then pick seats, hold
 * them, and buy or release them before the hold runs out. Plain DOM, no
 * framework; `npm run build` compiles web/ (web/tsconfig.json) into ES modules
 * in dist/public/, and index.html loads this one with <script type="module">.
 *
 *   api/types.ts  the service's answers      api/client.ts   every call to it
 *   live.ts       SSE with polling fallback  state.ts        session + current view
 *   flow.ts       the steps views register   alerts.ts       the alert box, errors in words
 *   event-info.ts limits and prices          seatmap/        seat state decoding, the map's model
 *   views/        join, wait, seats, hold, done (one file per view; no view imports another:
 *                 each registers its steps with flow.ts and moves on through it)
 */
import { flow } from './flow.js';
import { loadSession, setSession } from './state.js';
import { $ } from './util.js';
import { initDone } from './views/done.js';
import { initHold } from './views/hold.js';
import { initJoin } from './views/join.js';
import { initSeats } from './views/seats.js';
import { initWait } from './views/wait.js';

function init(): void {
  const params = new URLSearchParams(location.search);
  const eventInput = $<HTMLInputElement>('event-id');
  eventInput.value = params.get('event') ?? 'demo';

  initJoin();
  initWait();
  initSeats();
  initHold();
  initDone();

  // A reload picks up where the person was (same tab only: sessionStorage).
  const stored = loadSession();
  if (stored && stored.eventId === eventInput.value.trim()) {
    setSession(stored);
    if (stored.hold && Date.parse(stored.hold.expiresAt) > Date.now()) return flow.showHold(stored.hold);
    if (stored.accessToken) return void flow.openSeats();
    return flow.startWaiting();
  }
  flow.startOver();
}

init();

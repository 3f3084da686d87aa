/**
 * The waiting room: join an event's queue, watch your place fall live (Server-
 * Sent Events, or polling every 2 s when they fail), then pick seats, hold
 * them, and buy or release them before the hold runs out. Plain DOM, no
 * framework; `npm run build` compiles web/ (web/tsconfig.json) into ES modules
 * in dist/public/, and index.html loads this one with <script type="module">.
 *
 *   api/types.ts  the service's answers      api/client.ts  every call to it
 *   live.ts       SSE with polling fallback  state.ts       session + current view
 *   views/        join, wait, seats, hold, done, errors (one file per view)
 */
import { loadSession, setSession } from './state.js';
import { $ } from './util.js';
import { initDone } from './views/done.js';
import { initHold, showHold } from './views/hold.js';
import { initJoin, startOver } from './views/join.js';
import { initSeats, openSeats } from './views/seats.js';
import { initWait, startWaiting } from './views/wait.js';

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
    if (stored.hold && Date.parse(stored.hold.expiresAt) > Date.now()) return showHold(stored.hold);
    if (stored.accessToken) return void openSeats();
    return startWaiting();
  }
  startOver();
}

init();

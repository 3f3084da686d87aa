/**
 * What the page remembers (the person's place and turn, kept in
 * sessionStorage so a reload resumes) and which view is on screen.
 */
import type { Hold } from './api/types.js';
import { $ } from './util.js';

export interface Session {
  eventId: string;
  userId: string;
  ticket: string;
  accessToken?: string;
  accessExpiresAt?: string;
  hold?: Hold;
}

const STORAGE_KEY = 'queuegate.session';

export function saveSession(s: Session | undefined): void {
  try {
    if (s) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(s));
    else sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    /* private mode: the page still works, a reload just starts over */
  }
}

export function loadSession(): Session | undefined {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    return raw ? (JSON.parse(raw) as Session) : undefined;
  } catch {
    return undefined;
  }
}

/** The current person's session (a live binding: set it through setSession / endSession). */
export let session: Session | undefined;

/** Makes `s` the current session; it is not saved (callers save when it changes). */
export function setSession(s: Session | undefined): void {
  session = s;
}

export function endSession(): void {
  session = undefined;
  saveSession(undefined);
}

/** Stops whatever the current view runs in the background (stream, polls, timers). */
let stopBackground: () => void = () => undefined;

export type View = 'join' | 'wait' | 'seats' | 'hold' | 'done';

export function show(view: View): void {
  stopBackground();
  stopBackground = () => undefined;
  for (const name of ['join', 'wait', 'seats', 'hold', 'done'] as View[]) $(`view-${name}`).hidden = name !== view;
  $('main').classList.toggle('wide', view === 'seats');
  const title = $('event-title');
  title.hidden = !session;
  title.textContent = session ? session.eventId : '';
}

/** Adds a background task to the current view; show() stops it. */
export function onLeaveView(stop: () => void): void {
  const previous = stopBackground;
  stopBackground = () => {
    previous();
    stop();
  };
}

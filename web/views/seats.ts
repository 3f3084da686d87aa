/**
 * 3. The seat map during the person's turn: pick seats and hold them, or let
 * the service find the best ones (one tap from the first screen).
 *
 * A venue opens on its sections (level, price, seats left); choosing one shows
 * its rows and seats. One section at a time keeps a stadium usable on a phone:
 * never 100,000 buttons, only the open section's. Its layout is fetched once
 * (it never changes); what refreshes every few seconds is the compact state
 * (2 bits a seat) with If-None-Match, so a refresh while nothing changed is a
 * 304 of no bytes. An event without a layout is one section, GA, opened at once.
 */
import * as api from '../api/client.js';
import type { BestSeats, Hold, SectionLayout, SectionSummary, SeatStateBody } from '../api/types.js';
import { alertUser, clearAlert, explain, joinAgain } from '../alerts.js';
import { getCurrentEvent, isVenue, levelPrice, maxSeats, noteSeatLevel, seatPrice, setCurrentEvent, totalOf } from '../event-info.js';
import { flow, provide } from '../flow.js';
import { SectionSeats, Picks } from '../seatmap/section-seats.js';
import { endSession, onLeaveView, saveSession, session, show } from '../state.js';
import { $, clock, listSeats, money, plural } from '../util.js';

/** How often the open section's state (or the section list) is read again. */
const REFRESH_MS = 5000;
/** A section with more seats than this is not drawn seat by seat: "best available" in it instead. */
const MAX_SEATS_DRAWN = 2500;

/** The turn the map is for (event, ticket, access token): a new one starts from nothing. */
let turn: string | undefined;
/** The last section list read, and its ETag. */
let sections: SectionSummary[] = [];
let sectionsTag: string | undefined;
/** The section on screen (undefined: the section list), its seats when drawn, and its state's ETag. */
let openSectionId: string | undefined;
let openSection: SectionSeats | undefined;
let stateTag: string | undefined;
/** Section layouts already read, by event and section: a layout never changes, so it is read once. */
const layouts = new Map<string, SectionLayout>();
const picks = new Picks();
const seatButtons = new Map<string, HTMLButtonElement>();

const seatsIn = (s: SectionSummary) => s.available + s.held + s.sold;
const summaryOf = (sectionId: string | undefined) => sections.find((s) => s.sectionId === sectionId);

/** Forgets the map and the picks (a new person or a new turn starts from nothing). */
function forget(): void {
  picks.clear();
  sections = [];
  sectionsTag = undefined;
  openSectionId = undefined;
  openSection = undefined;
  stateTag = undefined;
  seatButtons.clear();
  $('seat-map').replaceChildren();
}

function renderCounts(counts: { available: number; held: number; sold: number }, where = ''): void {
  $('counts').textContent = `${where}${plural(counts.available, 'seat', 'seats')} available · ${counts.held.toLocaleString()} held · ${counts.sold.toLocaleString()} sold`;
}

function sum(list: SectionSummary[]): { available: number; held: number; sold: number } {
  return list.reduce((t, s) => ({ available: t.available + s.available, held: t.held + s.held, sold: t.sold + s.sold }), { available: 0, held: 0, sold: 0 });
}

function levelText(priceLevel: string): string {
  const price = levelPrice(priceLevel);
  return price ? `${priceLevel} · ${money(price.amount, price.currency)}` : priceLevel;
}

/** The first screen of a venue: one button per section, best first, with its level, price and seats left. */
function renderSectionList(): void {
  const map = $('seat-map');
  map.className = 'seat-map sections';
  $('map-nav').hidden = true;
  const list = document.createElement('ul');
  list.className = 'section-list';
  for (const s of sections) {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'section-choice';
    button.dataset.section = s.sectionId;
    button.disabled = s.available === 0;
    const name = document.createElement('span');
    name.className = 'section-name';
    name.textContent = `Section ${s.sectionId}`;
    const level = document.createElement('span');
    level.className = 'section-level';
    level.textContent = levelText(s.priceLevel);
    const left = document.createElement('span');
    left.className = 'section-left';
    left.textContent = s.available ? `${s.available.toLocaleString()} left` : 'Sold out';
    button.append(name, level, left);
    const item = document.createElement('li');
    item.append(button);
    list.append(item);
  }
  map.replaceChildren(list);
  renderCounts(sum(sections));
}

/** The open section's heading and the way back to the list (a venue with more than one section). */
function renderSectionNav(summary: SectionSummary | undefined, sectionId: string): void {
  const venue = sectionId !== 'GA' || sections.length > 1;
  $('map-nav').hidden = !venue;
  $('all-sections').hidden = sections.length < 2;
  $('section-title').textContent = `Section ${sectionId}${summary ? ` · ${levelText(summary.priceLevel)}` : ''}`;
}

/** The seat's number as its row shows it (the row says section and row). */
const seatLabel = (seatId: string, sectionId: string, rowId: string) =>
  seatId.startsWith(`${sectionId}-${rowId}-`) ? seatId.slice(`${sectionId}-${rowId}-`.length) : seatId;

/** Draws the open section: a grid of seats for general admission, else row by row. */
function drawSection(section: SectionSeats): void {
  const map = $('seat-map');
  const { layout } = section;
  const ga = layout.sectionId === 'GA' && layout.rows.length === 1 && layout.rows[0].rowId === 'GA';
  map.className = ga ? 'seat-map' : 'seat-map venue';
  seatButtons.clear();
  const seatButton = (seatId: string, label: string) => {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'seat';
    button.textContent = label;
    button.dataset.seat = seatId;
    seatButtons.set(seatId, button);
    return button;
  };
  if (ga) {
    map.replaceChildren(...layout.rows[0].seatIds.map((id) => seatButton(id, id)));
    return;
  }
  const block = document.createElement('div');
  block.className = 'section';
  block.dataset.section = layout.sectionId;
  for (const row of layout.rows) {
    const line = document.createElement('div');
    line.className = 'row';
    line.dataset.row = row.rowId;
    const label = document.createElement('span');
    label.className = 'row-label';
    label.textContent = `Row ${row.rowId}`;
    line.append(label, ...row.seatIds.map((id) => seatButton(id, seatLabel(id, layout.sectionId, row.rowId))));
    block.append(line);
  }
  map.replaceChildren(block);
}

/** A section too big to draw on this screen: its seats left, and "best available" in it. */
function drawBigSection(summary: SectionSummary): void {
  const map = $('seat-map');
  map.className = 'seat-map big';
  const note = document.createElement('p');
  note.className = 'big-note';
  note.textContent = `${plural(summary.available, 'seat', 'seats')} left here: too many to show one by one on this screen. Choose how many you want above, and we find you the best ones.`;
  map.replaceChildren(note);
  renderCounts(summary, summary.sectionId === 'GA' ? '' : `Section ${summary.sectionId}: `);
}

function renderSeat(seatId: string): void {
  const button = seatButtons.get(seatId);
  const status = openSection?.status(seatId);
  if (!button || !status) return;
  if (status !== 'available') picks.drop(seatId);
  const mine = picks.has(seatId);
  button.classList.toggle('held', status === 'held');
  button.classList.toggle('sold', status === 'sold');
  button.disabled = status !== 'available';
  button.setAttribute('aria-pressed', String(mine));
  const price = seatPrice(seatId);
  button.setAttribute('aria-label', `Seat ${seatId}${price ? `, ${money(price.amount, price.currency)}` : ''}, ${mine ? 'picked' : status}`);
}

function renderSelection(): void {
  const ids = picks.list();
  const max = maxSeats();
  const total = totalOf(ids);
  // Seats are picked on a drawn section only: on the list or a section too big to draw, no legend, no hold button (unless seats are picked).
  const drawn = openSection !== undefined;
  $('legend').hidden = !drawn;
  $('selection').textContent = ids.length
    ? `${listSeats(ids)} (${ids.length} of at most ${max})${total ? ` · ${money(total.amount, total.currency)}` : ''}`
    : drawn
      ? `No seats picked yet. You can pick up to ${plural(max, 'seat', 'seats')}${isVenue() ? ', or let us find the best ones' : ''}.`
      : openSectionId === undefined
        ? 'Choose a section to pick seats in it, or let us find the best ones.'
        : '';
  const button = $<HTMLButtonElement>('hold-button');
  button.hidden = ids.length === 0 && !drawn;
  $('seat-actions').hidden = button.hidden && !$('selection').textContent;
  button.disabled = ids.length === 0;
  button.textContent = ids.length ? `Hold ${plural(ids.length, 'seat', 'seats')}` : 'Hold seats';
}

function togglePick(seatId: string): void {
  const result = picks.toggle(seatId, openSection?.status(seatId), maxSeats());
  if (result === 'unavailable') return;
  if (result === 'full') return alertUser(`You can pick at most ${plural(maxSeats(), 'seat', 'seats')}. Unpick one first.`);
  clearAlert();
  renderSeat(seatId);
  renderSelection();
}

/** Takes a state read of the open section: only the seats it changed are redrawn. */
function applyState(section: SectionSeats, read: SeatStateBody): void {
  const changed = section.apply(read);
  if (!changed) return;
  for (const id of changed) renderSeat(id);
  renderCounts(read, section.sectionId === 'GA' ? '' : `Section ${section.sectionId}: `);
  renderSelection();
}

/** Reads the section list (304 while no seat changed). */
async function readSections(eventId: string): Promise<boolean> {
  const fresh = await api.getSections(eventId, sectionsTag);
  if (!fresh) return false;
  sections = fresh.body.sections;
  sectionsTag = fresh.etag;
  return true;
}

/** Reads the open section's state again (304 while no seat of the event changed). */
async function readState(eventId: string, section: SectionSeats): Promise<void> {
  const fresh = await api.getSectionState(eventId, section.sectionId, stateTag);
  // The person may have moved to another section meanwhile: this read is not for it.
  if (!fresh || section !== openSection) return;
  stateTag = fresh.etag;
  applyState(section, fresh.body);
}

async function sectionLayout(eventId: string, sectionId: string): Promise<SectionLayout> {
  const key = `${eventId} ${sectionId}`;
  let layout = layouts.get(key);
  if (!layout) {
    layout = (await api.getSectionLayout(eventId, sectionId)).sections[0];
    layouts.set(key, layout);
  }
  return layout;
}

/** Opens a section: its layout (read once) and its state. */
async function showSection(eventId: string, sectionId: string): Promise<void> {
  const summary = summaryOf(sectionId);
  openSectionId = sectionId;
  openSection = undefined;
  stateTag = undefined;
  renderSectionNav(summary, sectionId);
  if (summary && seatsIn(summary) > MAX_SEATS_DRAWN) return drawBigSection(summary);
  const layout = await sectionLayout(eventId, sectionId);
  if (openSectionId !== sectionId) return;
  const section = new SectionSeats(layout);
  noteSeatLevel(layout.rows.flatMap((r) => r.seatIds), layout.priceLevel);
  const read = await api.getSectionState(eventId, sectionId);
  if (openSectionId !== sectionId || !read) return;
  openSection = section;
  stateTag = read.etag;
  drawSection(section);
  applyState(section, read.body);
}

/** Back to the section list. */
async function showSectionList(eventId: string): Promise<void> {
  openSectionId = undefined;
  openSection = undefined;
  await readSections(eventId);
  renderSectionList();
  renderBest();
  renderSelection();
}

/** Reads again what is on screen: the open section's seats, or the section list. */
async function refreshSeats(): Promise<void> {
  const s = session;
  if (!s) return;
  if (openSection) return readState(s.eventId, openSection);
  const changed = await readSections(s.eventId);
  // Redraw only what is still on screen: a section may have been drawn while the list was read.
  if (!changed || openSection) return;
  if (openSectionId === undefined) {
    renderSectionList();
    renderBest();
    return;
  }
  // A section too big to draw shows its seats left.
  const big = summaryOf(openSectionId);
  if (big && seatsIn(big) > MAX_SEATS_DRAWN) drawBigSection(big);
}

/** Seats someone else just took: shown as taken at once, then the map is read again. */
function markTaken(ids: string[]): void {
  for (const id of ids) {
    picks.drop(id);
    if (openSection?.markTaken(id)) renderSeat(id);
    seatButtons.get(id)?.classList.add('taken-now');
  }
  renderSelection();
  void refreshSeats();
}

/** Runs a map change with the map dimmed, and says what went wrong if it fails. */
async function busy(work: () => Promise<void>, retry: () => void): Promise<boolean> {
  const map = $('seat-map');
  map.setAttribute('aria-busy', 'true');
  try {
    await work();
    return true;
  } catch (err) {
    explain(err, retry);
    return false;
  } finally {
    map.setAttribute('aria-busy', 'false');
  }
}

async function openSeats(): Promise<void> {
  const s = session;
  if (!s?.accessToken) return flow.startOver();
  show('seats');
  const thisTurn = `${s.eventId} ${s.ticket} ${s.accessToken}`;
  if (thisTurn !== turn) {
    if (!turn?.startsWith(`${s.eventId} `)) layouts.clear();
    forget();
    turn = thisTurn;
  }
  // What the map showed before may be stale: it is dimmed until read again.
  const opened = await busy(
    async () => {
      setCurrentEvent(await api.getEvent(s.eventId));
      sectionsTag = undefined;
      await readSections(s.eventId);
      // One section (an event without a layout): no list to choose from.
      const sectionId = openSectionId ?? (sections.length === 1 ? sections[0].sectionId : undefined);
      if (sectionId) await showSection(s.eventId, sectionId);
      else await showSectionList(s.eventId);
    },
    () => void openSeats(),
  );
  if (!opened) return;
  renderBest();
  renderSelection();
  $('seat-map').querySelector<HTMLButtonElement>('.seat:not(:disabled), .section-choice:not(:disabled)')?.focus({ preventScroll: true });

  // Keep the map fresh while the person picks (one read at a time), and count their turn down.
  let refreshing = false;
  const refresh = window.setInterval(() => {
    if (refreshing) return;
    refreshing = true;
    void refreshSeats()
      .catch(() => undefined)
      .finally(() => (refreshing = false));
  }, REFRESH_MS);
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

/** Seats left at a price level: from the last section list read (fresher than the event view read when the turn opened). */
function levelLeft(priceLevel: string, fromEventView: number): number {
  const inLevel = sections.filter((s) => s.priceLevel === priceLevel);
  return inLevel.length ? sum(inLevel).available : fromEventView;
}

/** "Best N": how many (up to the limit), together in one row or not, at which price level or in the open section. */
function renderBest(): void {
  const quantity = $<HTMLSelectElement>('best-quantity');
  const chosen = Number(quantity.value) || 2;
  quantity.replaceChildren(
    ...Array.from({ length: maxSeats() }, (_, i) => new Option(String(i + 1), String(i + 1), false, i + 1 === Math.min(chosen, maxSeats()))),
  );
  // Together and levels need a venue; on general admission "best N" is just N seats.
  $('best-together-label').hidden = !isVenue();
  const inSection = isVenue() && openSectionId !== undefined;
  $('best-in-section').hidden = !inSection;
  const level = $<HTMLSelectElement>('best-level');
  const priced = (getCurrentEvent()?.levels ?? []).filter((l) => l.price !== undefined);
  $('best-level-label').hidden = inSection || priced.length < 2;
  const chosenLevel = level.value; // redrawn on every list refresh: the person's choice stays
  level.replaceChildren(
    new Option('any price', ''),
    ...priced.map((l) => new Option(`${l.priceLevel} · ${money(l.price as number, l.currency as string)} (${levelLeft(l.priceLevel, l.available).toLocaleString()} left)`, l.priceLevel)),
  );
  level.value = chosenLevel;
}

async function hold(request: (token: string, eventId: string) => Promise<Hold>, retry: () => void, priceLevel?: string): Promise<void> {
  const s = session;
  if (!s?.accessToken) return;
  clearAlert();
  const buttons = [$<HTMLButtonElement>('hold-button'), $<HTMLButtonElement>('best-button')];
  buttons.forEach((b) => (b.disabled = true));
  try {
    const held = await request(s.accessToken, s.eventId);
    // Seats found for the person may lie in a section not drawn: their level prices the total.
    if (priceLevel) noteSeatLevel(held.seatIds, priceLevel);
    picks.clear();
    s.hold = held;
    saveSession(s);
    flow.showHold(held);
  } catch (err) {
    explain(err, retry);
    renderSelection();
  } finally {
    $<HTMLButtonElement>('best-button').disabled = false;
  }
}

function holdPicked(): Promise<void> {
  const seatIds = picks.list();
  if (seatIds.length === 0) return Promise.resolve();
  return hold((token, eventId) => api.createHold(eventId, seatIds, token), () => void holdPicked());
}

function holdBest(): Promise<void> {
  const best: BestSeats = { quantity: Number($<HTMLSelectElement>('best-quantity').value) || 1 };
  let level: string | undefined;
  if (isVenue()) {
    if ($<HTMLInputElement>('best-together').checked) best.together = true;
    if (openSectionId !== undefined) {
      best.sectionId = openSectionId;
      level = summaryOf(openSectionId)?.priceLevel;
    } else {
      level = $<HTMLSelectElement>('best-level').value || undefined;
      if (level) best.priceLevel = level;
      // One priced level: whatever is found costs that.
      const priced = (getCurrentEvent()?.levels ?? []).filter((l) => l.price !== undefined);
      if (!level && priced.length === 1) level = priced[0].priceLevel;
    }
  }
  return hold((token, eventId) => api.holdBest(eventId, best, token), () => void holdBest(), level);
}

export function initSeats(): void {
  provide({ openSeats, refreshSeats, markTaken });
  $('hold-button').addEventListener('click', () => void holdPicked());
  $('best-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void holdBest();
  });
  // One listener for every seat and section button the map draws.
  $('seat-map').addEventListener('click', (e) => {
    const target = (e.target as HTMLElement).closest<HTMLElement>('[data-seat], .section-choice');
    if (!target) return;
    if (target.dataset.seat) return togglePick(target.dataset.seat);
    const s = session;
    const sectionId = target.dataset.section;
    if (!s || !sectionId) return;
    void busy(
      async () => {
        await showSection(s.eventId, sectionId);
        renderBest();
        renderSelection();
      },
      () => target.click(),
    );
  });
  $('all-sections').addEventListener('click', () => {
    const s = session;
    if (s) void busy(() => showSectionList(s.eventId), () => $('all-sections').click());
  });
}

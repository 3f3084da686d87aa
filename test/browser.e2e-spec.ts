import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Browser, BrowserContext, Page } from 'playwright-core';
import { PUBLIC_DIR } from '../src/app.factory';
import { startApp, TestApp, uniqueId } from './support/app-harness';
import { launchChromium } from './support/chromium';
import { expectCleanAudit, joinAndAdmit } from './support/flows';
import { startRedis } from './support/redis-harness';

/**
 * The waiting room (web/, served at /) in a real browser: Debian's Chromium,
 * headless, driven by playwright-core, against the real service and a real
 * redis-server. Screenshots go to test-artifacts/browser/.
 *
 * Chromium is a hard requirement: without it this suite fails (it does not
 * skip). Install it with `apt-get update && apt-get install -y chromium`.
 */

const ARTIFACTS = resolve(__dirname, '..', 'test-artifacts', 'browser');
const DESKTOP = { viewport: { width: 1280, height: 900 } };
const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

jest.setTimeout(90_000);

// The callbacks given to page.evaluate() and page.waitForFunction() run in the
// page. This file is compiled without the DOM library (it runs in Node), so
// the few browser globals those callbacks use are declared here.
declare const window: any;
declare const document: any;
declare const MutationObserver: any;

describe('waiting room in Chromium', () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let app: TestApp;
  let browser: Browser;
  let tmp: string;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    if (!existsSync(join(PUBLIC_DIR, 'index.html'))) {
      throw new Error(`${PUBLIC_DIR}/index.html is missing: run \`npm run build\` first (it builds web/ into dist/public/)`);
    }
    mkdirSync(ARTIFACTS, { recursive: true });
    tmp = mkdtempSync(join(tmpdir(), 'qg-browser-'));
    redis = await startRedis();
    app = await startApp({ REDIS_URL: redis.url });
    browser = await launchChromium('the browser suite');
  }, 60_000);

  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((c) => c.close()));
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await redis?.cleanup();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  /** A fresh browser profile for one person; console errors and failed page loads fail the test. */
  async function person(options: Parameters<Browser['newContext']>[0] = DESKTOP): Promise<{ page: Page; problems: string[] }> {
    const context = await browser.newContext(options);
    contexts.push(context);
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (m) => {
      // A refused request logs a console error by design (the page shows it to the person).
      if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of (4\d\d)/.test(m.text())) {
        problems.push(`console: ${m.text()}`);
      }
    });
    // Record every place the page shows, to check it falls live.
    await page.addInitScript(() => {
      const w = window as { positions: string[] };
      w.positions = [];
      document.addEventListener('DOMContentLoaded', () => {
        const el = document.getElementById('position');
        if (el) new MutationObserver(() => w.positions.push(el.textContent ?? '')).observe(el, { childList: true, characterData: true, subtree: true });
      });
    });
    return { page, problems };
  }

  const shot = (page: Page, name: string, fullPage = true) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage });

  /** Every element on screen that pokes out of the viewport sideways (nothing may on a phone), and the page's own scroll width. */
  async function overflow(page: Page): Promise<string[]> {
    return page.evaluate(() => {
      const width = document.documentElement.clientWidth;
      const out: string[] = [];
      if (document.documentElement.scrollWidth > width) out.push(`the page scrolls sideways: ${document.documentElement.scrollWidth} > ${width}`);
      for (const el of document.querySelectorAll('body *')) {
        const r = el.getBoundingClientRect();
        if (r.width === 0 && r.height === 0) continue; // not rendered
        if (r.left < -0.5 || r.right > width + 0.5 || r.width > width + 0.5) {
          out.push(`${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}.${String(el.className)}: ${Math.round(r.left)}..${Math.round(r.right)} of ${width}`);
        }
      }
      return out;
    });
  }

  async function waitForText(page: Page, selector: string, pattern: RegExp, timeout = 15_000): Promise<string> {
    // Visible text only: a hidden element may still hold an old message.
    await page.waitForFunction(
      ([s, source, flags]) => {
        const el = document.querySelector(s);
        return !!el && el.getClientRects().length > 0 && new RegExp(source, flags).test(el.textContent ?? '');
      },
      [selector, pattern.source, pattern.flags] as const,
      { timeout },
    );
    return (await page.locator(selector).textContent()) ?? '';
  }

  async function submitJoin(page: Page, eventId: string, name: string): Promise<void> {
    await page.goto(`${app.url}/?event=${eventId}`);
    await page.getByLabel('Your name').fill(name);
    await page.getByRole('button', { name: 'Join the line' }).click();
  }

  /** Joins an event whose admission is paused or slow, so the waiting view stays up. */
  async function joinLine(page: Page, eventId: string, name: string): Promise<void> {
    await submitJoin(page, eventId, name);
    await page.locator('#view-wait').waitFor({ state: 'visible' });
  }

  async function waitForSeatMap(page: Page): Promise<void> {
    await page.getByRole('heading', { name: /your turn/i }).waitFor({ state: 'visible', timeout: 20_000 });
    await page.locator('.seat').first().waitFor();
    await page.locator('#seat-map[aria-busy="false"]').waitFor(); // read from the service, not left over
  }

  /** A venue's turn opens on its sections. */
  async function waitForSections(page: Page): Promise<void> {
    await page.getByRole('heading', { name: /your turn/i }).waitFor({ state: 'visible', timeout: 20_000 });
    await page.locator('.section-choice').first().waitFor();
    await page.locator('#seat-map[aria-busy="false"]').waitFor();
  }

  /** The texts of a section's button on the list: name, level and price, seats left. */
  const sectionCard = async (page: Page, sectionId: string) =>
    (await page.locator(`.section-choice[data-section="${sectionId}"] > span`).allTextContents()).map((t) => t.replace(/\s/g, ' '));

  const seat = (page: Page, seatId: string) => page.locator(`[data-seat="${seatId}"]`);

  /** A venue section's rows for a create body: n rows (1..n) of `seats` seats each. */
  const rows = (n: number, seats: number) => Array.from({ length: n }, (_, i) => ({ rowId: String(i + 1), seats }));
  const alertText = (page: Page, pattern: RegExp) => waitForText(page, '#alert-text', pattern);

  /** Joins an event that admits at once: the waiting view may flash by too fast to see. */
  async function joinAdmitted(page: Page, eventId: string, name: string): Promise<void> {
    await submitJoin(page, eventId, name);
    await waitForSeatMap(page);
  }

  it('joins, watches the place fall live, picks seats, holds them with a countdown, and buys them', async () => {
    const eventId = uniqueId('web');
    await app.createEvent(eventId, {
      capacity: 24,
      holdTtlSeconds: 120,
      maxSeatsPerUser: 4,
      admission: { ratePerSecond: 1, maxActive: 100, sessionTtlSeconds: 600 },
    });
    // Three people ahead, admission paused: the page must show place 4.
    expect((await app.admin('PATCH', `/v1/events/${eventId}`, { paused: true })).status).toBe(200);
    for (const userId of ['ahead-1', 'ahead-2', 'ahead-3']) {
      expect((await app.request('POST', `/v1/events/${eventId}/queue`, { userId })).status).toBe(202);
    }
    const { page, problems } = await person();
    await page.goto(`${app.url}/?event=${eventId}`);
    expect(await page.getByLabel('Event').inputValue()).toBe(eventId);
    await waitForText(page, '#event-info', /24 seats of 24 left · 3 people in line/);
    await shot(page, 'desktop-1-join');
    await page.getByLabel('Your name').fill('Ada Lovelace');
    await page.getByRole('button', { name: 'Join the line' }).click();
    expect(await waitForText(page, '#position', /^4$/)).toBe('4');
    expect(await page.locator('#eta').textContent()).toMatch(/to go/);
    expect(await page.locator('#position-live').getAttribute('aria-live')).toBe('polite');
    await waitForText(page, '#wait-mode', /Live updates/);
    await shot(page, 'desktop-2-waiting');

    // One admission a second: the place falls 4 -> ... -> admitted, pushed by the stream.
    expect((await app.admin('PATCH', `/v1/events/${eventId}`, { paused: false })).status).toBe(200);
    await waitForSeatMap(page);
    const shown = await page.evaluate(() => (window as { positions: string[] }).positions.map(Number));
    const positions = shown.filter((p, i) => i === 0 || p !== shown[i - 1]); // each change once
    expect(positions[0]).toBe(4);
    expect(positions.length).toBeGreaterThanOrEqual(2); // at least one step seen before admission
    for (let i = 1; i < positions.length; i += 1) expect(positions[i]).toBeLessThan(positions[i - 1]);
    expect(await page.locator('.seat').count()).toBe(24);
    expect(await page.locator('#session-timer').textContent()).toMatch(/Your turn ends in \d+:\d\d/);

    await seat(page, 'GA-3').click();
    await seat(page, 'GA-4').click();
    expect(await seat(page, 'GA-3').getAttribute('aria-pressed')).toBe('true');
    expect(await page.locator('#selection').textContent()).toContain('GA-3 and GA-4');
    await shot(page, 'desktop-3-seat-map');
    await page.getByRole('button', { name: 'Hold 2 seats' }).click();
    await page.locator('#view-hold').waitFor({ state: 'visible' });
    expect(await page.locator('#held-seats').textContent()).toBe('Seats GA-3 and GA-4');
    const first = await waitForText(page, '#hold-countdown', /^\d+:\d\d$/);
    await page.waitForTimeout(1200);
    const later = (await page.locator('#hold-countdown').textContent()) ?? '';
    const seconds = (t: string) => Number(t.split(':')[0]) * 60 + Number(t.split(':')[1]);
    expect(seconds(first)).toBeLessThanOrEqual(120);
    expect(seconds(later)).toBeLessThan(seconds(first)); // it counts down
    expect((await app.request('GET', `/v1/events/${eventId}`)).body).toEqual(expect.objectContaining({ held: 2, sold: 0 }));
    await shot(page, 'desktop-4-held');

    await page.getByRole('button', { name: 'Buy now' }).click();
    expect(await waitForText(page, '#done-text', /yours/)).toBe('Seats GA-3 and GA-4 are yours.');
    expect(await page.locator('#order-id').textContent()).toMatch(/^Order ord_/);
    await shot(page, 'desktop-5-bought');
    expect((await app.request('GET', `/v1/events/${eventId}`)).body).toEqual(expect.objectContaining({ held: 0, sold: 2 }));

    // Three more would make five: the service refuses, the page says why and what to do.
    await page.getByRole('button', { name: 'Buy more seats' }).click();
    await waitForSeatMap(page);
    expect(await seat(page, 'GA-3').isDisabled()).toBe(true); // sold now
    for (const id of ['GA-7', 'GA-8', 'GA-9']) await seat(page, id).click();
    await page.getByRole('button', { name: 'Hold 3 seats' }).click();
    expect(await alertText(page, /at most/)).toBe('You can have at most 4 seats for this event and you already have 2. Pick fewer seats.');
    await shot(page, 'desktop-6-limit');

    await seat(page, 'GA-9').click(); // unpick one: two more is within the limit
    await page.getByRole('button', { name: 'Hold 2 seats' }).click();
    await page.locator('#view-hold').waitFor({ state: 'visible' });
    await page.getByRole('button', { name: 'Release seats' }).click();
    expect(await alertText(page, /^Seats released/)).toBe('Seats released. Pick others, or leave them for someone else.');
    expect((await app.request('GET', `/v1/events/${eventId}`)).body).toEqual(expect.objectContaining({ held: 0, sold: 2 }));

    await expectCleanAudit(app, eventId);
    expect(problems).toEqual([]);
  });

  it('two people race for the same seat: one holds it, the other is told and can pick again', async () => {
    const eventId = uniqueId('web-race');
    await app.createEvent(eventId, { capacity: 12, holdTtlSeconds: 120, admission: { ratePerSecond: 100, maxActive: 100, sessionTtlSeconds: 600 } });
    const ada = await person(DESKTOP);
    const bob = await person(PHONE);
    await Promise.all([joinAdmitted(ada.page, eventId, 'Ada'), joinAdmitted(bob.page, eventId, 'Bob')]);
    await shot(bob.page, 'phone-1-seat-map');
    // The page fits a 390 px screen: nothing wider than the viewport.
    expect(await bob.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);

    await Promise.all([seat(ada.page, 'GA-5').click(), seat(bob.page, 'GA-5').click()]);
    await Promise.all([
      ada.page.getByRole('button', { name: 'Hold 1 seat' }).click(),
      bob.page.getByRole('button', { name: 'Hold 1 seat' }).click(),
    ]);
    // Exactly one sees the hold; the other sees why not.
    const outcome = async (page: Page) =>
      Promise.race([
        page.locator('#view-hold').waitFor({ state: 'visible' }).then(() => 'held' as const),
        waitForText(page, '#alert-text', /Someone else just took/).then(() => 'lost' as const),
      ]);
    const [adaOutcome, bobOutcome] = await Promise.all([outcome(ada.page), outcome(bob.page)]);
    expect([adaOutcome, bobOutcome].sort()).toEqual(['held', 'lost']);
    const loser = adaOutcome === 'lost' ? ada : bob;
    const winner = adaOutcome === 'lost' ? bob : ada;
    expect(await loser.page.locator('#alert-text').textContent()).toBe(
      'Someone else just took seat GA-5. The map is updated: please pick other seats.',
    );
    await waitForText(loser.page, '#hold-button', /^Hold seats$/); // the lost seat is no longer picked
    expect(await seat(loser.page, 'GA-5').isDisabled()).toBe(true);
    await shot(loser.page, loser === bob ? 'phone-2-lost-race' : 'desktop-lost-race');
    await shot(winner.page, winner === bob ? 'phone-2-won-race' : 'desktop-won-race');
    expect((await app.request('GET', `/v1/events/${eventId}/seats?status=held`)).body.seats).toEqual([{ seatId: 'GA-5', status: 'held', priceLevel: 'GA' }]);

    // The winner lets it go; after the map refreshes the loser can have it.
    await winner.page.getByRole('button', { name: 'Release seats' }).click();
    await waitForText(winner.page, '#alert-text', /^Seats released/);
    await loser.page.waitForFunction(() => !(document.querySelector('[data-seat="GA-5"]') as { disabled: boolean }).disabled, undefined, {
      timeout: 10_000,
    });
    await seat(loser.page, 'GA-5').click();
    await loser.page.getByRole('button', { name: 'Hold 1 seat' }).click();
    await loser.page.locator('#view-hold').waitFor({ state: 'visible' });
    await loser.page.getByRole('button', { name: 'Buy now' }).click();
    await waitForText(loser.page, '#done-text', /Seat GA-5 is yours/);
    await shot(loser.page, loser === bob ? 'phone-3-bought' : 'desktop-race-bought');
    await expectCleanAudit(app, eventId);
    expect([...ada.problems, ...bob.problems]).toEqual([]);
  });

  it('on a phone: the waiting view fits the screen and falls back to polling when the event stream is blocked', async () => {
    const eventId = uniqueId('web-poll');
    await app.createEvent(eventId, { capacity: 6, admission: { ratePerSecond: 100, maxActive: 100, sessionTtlSeconds: 600 } });
    expect((await app.admin('PATCH', `/v1/events/${eventId}`, { paused: true })).status).toBe(200);
    expect((await app.request('POST', `/v1/events/${eventId}/queue`, { userId: 'first-in-line' })).status).toBe(202);
    const { page, problems } = await person(PHONE);
    let streamAttempts = 0;
    await page.route('**/queue/*/events', (route) => {
      streamAttempts += 1;
      return route.abort();
    });
    await joinLine(page, eventId, 'Chloé Zhao!');
    expect(await waitForText(page, '#position', /^2$/)).toBe('2');
    await waitForText(page, '#wait-mode', /Checking every 2 seconds/);
    expect(streamAttempts).toBeGreaterThanOrEqual(1);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await shot(page, 'phone-0-waiting-polling');
    // The userId made from the name is a valid id (accents and '!' removed).
    const users = await redisUsers(eventId);
    expect(users.find((u) => u.startsWith('Chloe-Zhao-'))).toMatch(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/);

    expect((await app.admin('PATCH', `/v1/events/${eventId}`, { paused: false })).status).toBe(200);
    await waitForSeatMap(page);
    expect(problems.filter((p) => !/ERR_FAILED|net::/.test(p))).toEqual([]);
  });

  it('a hold that runs out sends the person back to the map with an explanation', async () => {
    const eventId = uniqueId('web-expire');
    await app.createEvent(eventId, { capacity: 6, holdTtlSeconds: 2, admission: { ratePerSecond: 100, maxActive: 100, sessionTtlSeconds: 600 } });
    const { page, problems } = await person(PHONE);
    await joinAdmitted(page, eventId, 'Dee');
    await seat(page, 'GA-1').click();
    await page.getByRole('button', { name: 'Hold 1 seat' }).click();
    await page.locator('#view-hold').waitFor({ state: 'visible' });
    expect(await waitForText(page, '#alert-text', /Your hold ran out/, 10_000)).toBe(
      'Your hold ran out and those seats went back on sale. Pick seats again while your turn lasts.',
    );
    await page.locator('#view-seats').waitFor({ state: 'visible' });
    // The page reads the map after the service's 1 s to return expired seats: GA-1 shows available.
    await page.waitForFunction(() => !(document.querySelector('[data-seat="GA-1"]') as { disabled: boolean }).disabled, undefined, {
      timeout: 3000,
    });
    await shot(page, 'phone-4-hold-expired');
    await expectCleanAudit(app, eventId);
    expect(problems).toEqual([]);
  });

  it('a venue: it opens on its sections with level, price and seats left, a section shows its rows, the best 3 together at a price level, the total before Buy now', async () => {
    const eventId = uniqueId('web-venue');
    await app.createEvent(eventId, {
      maxSeatsPerUser: 6,
      admission: { ratePerSecond: 100, maxActive: 100, sessionTtlSeconds: 600 },
      layout: {
        priceLevels: [
          { priceLevel: 'FLOOR', price: 12000, currency: 'EUR' },
          { priceLevel: 'BALCONY', price: 4500, currency: 'EUR' },
        ],
        sections: [
          { sectionId: 'A', priceLevel: 'FLOOR', rows: rows(2, 8) },
          { sectionId: 'B', priceLevel: 'BALCONY', rows: rows(3, 10) },
        ],
      },
    });
    const { page, problems } = await person(DESKTOP);
    await submitJoin(page, eventId, 'Eve');
    await waitForSections(page);
    // Sections first, with their level, price and seats left; no seat yet.
    expect(await sectionCard(page, 'A')).toEqual(['Section A', expect.stringMatching(/^FLOOR · .*120\.00/), '16 left']);
    expect(await sectionCard(page, 'B')).toEqual(['Section B', expect.stringMatching(/^BALCONY · .*45\.00/), '30 left']);
    expect(await page.locator('.seat').count()).toBe(0);
    expect(await page.locator('#counts').textContent()).toBe('46 seats available · 0 held · 0 sold');

    // A section: its rows with their label, seats by number.
    await page.locator('.section-choice[data-section="B"]').click();
    await seat(page, 'B-2-7').waitFor();
    expect((await page.locator('#section-title').textContent())?.replace(/\s/g, ' ')).toMatch(/^Section B · BALCONY · .*45\.00/);
    expect(await page.locator('[data-section="B"] [data-row="2"] .row-label').textContent()).toBe('Row 2');
    expect(await seat(page, 'B-2-7').textContent()).toBe('7');
    expect(await page.locator('.seat').count()).toBe(30);
    // Someone holds B-1-2: the map shows it, and the list counts it, so the best 3 together on the balcony are B-1-3..5.
    const other = await joinAndAdmit(app, eventId, 'other');
    expect((await app.request('POST', `/v1/events/${eventId}/holds`, { seatIds: ['B-1-2'] }, other.auth)).status).toBe(201);
    await page.waitForFunction(() => document.querySelector('[data-seat="B-1-2"]').classList.contains('held'), undefined, { timeout: 10_000 });
    await page.getByRole('button', { name: 'All sections' }).click();
    await waitForText(page, '.section-choice[data-section="B"] .section-left', /^29 left$/);
    expect(await page.locator('#best-level option[value="BALCONY"]').textContent()).toMatch(/ \(29 left\)$/); // the levels count from the list too
    await page.locator('#best-quantity').selectOption('3');
    await page.locator('#best-level').selectOption('BALCONY');
    await shot(page, 'desktop-venue-map');
    await page.getByRole('button', { name: 'Find my seats' }).click();
    await page.locator('#view-hold').waitFor({ state: 'visible' });
    expect(await page.locator('#held-seats').textContent()).toBe('Seats B-1-3, B-1-4 and B-1-5');
    expect((await page.locator('#hold-total').textContent())?.replace(/\s/g, ' ')).toMatch(/^Total .*135\.00/);
    await shot(page, 'desktop-venue-held');
    await page.getByRole('button', { name: 'Buy now' }).click();
    await waitForText(page, '#order-id', /paid .*135\.00/);
    await expectCleanAudit(app, eventId);
    expect(problems).toEqual([]);
  });

  it('a 20,000-seat stadium on a phone: sections first, one section drawn, its map follows another buyer within the refresh, a pick holds, best available in one tap', async () => {
    const eventId = uniqueId('web-stadium');
    const sectionIds = Array.from({ length: 20 }, (_, i) => `S${String(i + 1).padStart(2, '0')}`);
    const levelOf = (i: number) => (i < 5 ? 'P1' : i < 12 ? 'P2' : 'P3');
    await app.createEvent(eventId, {
      maxSeatsPerUser: 4,
      admission: { ratePerSecond: 100, maxActive: 100, sessionTtlSeconds: 600 },
      layout: {
        priceLevels: [
          { priceLevel: 'P1', price: 9500, currency: 'EUR' },
          { priceLevel: 'P2', price: 6500, currency: 'EUR' },
          { priceLevel: 'P3', price: 3500, currency: 'EUR' },
        ],
        // 20 sections of 20 rows of 50 seats
        sections: sectionIds.map((sectionId, i) => ({ sectionId, priceLevel: levelOf(i), rows: rows(20, 50) })),
      },
    });
    expect((await app.request('GET', `/v1/events/${eventId}`)).body.capacity).toBe(20_000);
    const { page, problems } = await person(PHONE);
    const reads: { path: string; status: number; query: string }[] = [];
    page.on('response', (r) => {
      const url = new URL(r.url());
      if (url.pathname.startsWith(`/v1/events/${eventId}/s`)) reads.push({ path: url.pathname.slice(`/v1/events/${eventId}`.length), status: r.status(), query: url.search });
    });
    await submitJoin(page, eventId, 'Stadium Fan');
    await waitForSections(page);
    expect(await page.locator('.section-choice').count()).toBe(20);
    expect(await page.locator('.seat').count()).toBe(0);
    expect(await sectionCard(page, 'S01')).toEqual(['Section S01', expect.stringMatching(/^P1 · .*95\.00/), '1,000 left']);
    expect(await page.locator('#counts').textContent()).toBe('20,000 seats available · 0 held · 0 sold');
    expect(await page.locator('#hold-button').isVisible()).toBe(false); // nothing to pick on the list
    expect(await overflow(page)).toEqual([]);
    await shot(page, 'phone-stadium-1-sections');
    await shot(page, 'phone-stadium-1-sections-screen', false); // what the phone's screen shows

    // One section: its 1,000 seats, never the stadium's 20,000.
    await page.locator('.section-choice[data-section="S07"]').click();
    await seat(page, 'S07-20-50').waitFor();
    await page.locator('#seat-map[aria-busy="false"]').waitFor();
    expect(await page.locator('.seat').count()).toBe(1000);
    expect(await page.locator('#seat-map .row').count()).toBe(20);
    expect(await seat(page, 'S07-3-10').textContent()).toBe('10');
    expect(await page.locator('#counts').textContent()).toBe('Section S07: 1,000 seats available · 0 held · 0 sold');
    expect(await overflow(page)).toEqual([]);
    await shot(page, 'phone-stadium-2-section');
    await shot(page, 'phone-stadium-2-section-screen', false); // what the phone's screen shows

    // Another buyer holds a seat of this section: the map follows within its refresh (5 s, plus the snapshot's 1 s).
    const other = await joinAndAdmit(app, eventId, 'other-buyer');
    const heldAt = Date.now();
    expect((await app.request('POST', `/v1/events/${eventId}/holds`, { seatIds: ['S07-3-10'] }, other.auth)).status).toBe(201);
    await page.waitForFunction(() => document.querySelector('[data-seat="S07-3-10"]').classList.contains('held'), undefined, { timeout: 8_000 });
    const followedMs = Date.now() - heldAt;
    expect(await seat(page, 'S07-3-10').isDisabled()).toBe(true);
    expect(await page.locator('#counts').textContent()).toBe('Section S07: 999 seats available · 1 held · 0 sold');
    // Nothing changes after that: the next refresh is a 304 of no body.
    await page.waitForResponse((r) => r.url().includes('/seats/state') && r.status() === 304, { timeout: 8_000 });
    await shot(page, 'phone-stadium-3-followed');
    await shot(page, 'phone-stadium-3-followed-screen', false); // what the phone's screen shows

    // A pick holds, priced by the section's level.
    await seat(page, 'S07-1-1').click();
    await seat(page, 'S07-1-2').click();
    expect(await page.locator('#selection').textContent()).toMatch(/^S07-1-1 and S07-1-2 \(2 of at most 4\) · .*130\.00$/);
    await page.getByRole('button', { name: 'Hold 2 seats' }).click();
    await page.locator('#view-hold').waitFor({ state: 'visible' });
    expect(await page.locator('#held-seats').textContent()).toBe('Seats S07-1-1 and S07-1-2');
    expect((await page.locator('#hold-total').textContent())?.replace(/\s/g, ' ')).toMatch(/^Total .*130\.00/);
    expect((await app.request('GET', `/v1/events/${eventId}`)).body).toEqual(expect.objectContaining({ held: 3, sold: 0 }));
    expect(await overflow(page)).toEqual([]);
    await shot(page, 'phone-stadium-4-held');

    // Best available stays one tap from the first screen: the best 2 are the front of S01.
    await page.getByRole('button', { name: 'Release seats' }).click();
    await seat(page, 'S07-1-1').waitFor();
    await page.getByRole('button', { name: 'All sections' }).click();
    await page.locator('.section-choice').first().waitFor();
    await page.locator('#best-quantity').selectOption('2');
    await page.getByRole('button', { name: 'Find my seats' }).click();
    await page.locator('#view-hold').waitFor({ state: 'visible' });
    expect(await page.locator('#held-seats').textContent()).toBe('Seats S01-1-1 and S01-1-2');

    // The layout of S07 was read once; every map read was of one section or the list, never the whole paged map.
    expect(reads.filter((r) => r.path === '/seats/layout').map((r) => r.query)).toEqual(['?sectionId=S07']);
    expect(reads.filter((r) => r.path === '/seats')).toEqual([]);
    expect(reads.filter((r) => r.path === '/seats/state').every((r) => r.query === '?sectionId=S07')).toBe(true);
    console.log(`stadium map: another buyer's hold shown after ${followedMs} ms; map reads ${JSON.stringify(countReads(reads))}`);
    await expectCleanAudit(app, eventId);
    expect(problems).toEqual([]);
  });

  it('a section too big to draw seat by seat (3,000 general-admission seats) offers best available instead, on a phone', async () => {
    const eventId = uniqueId('web-big-ga');
    await app.createEvent(eventId, { capacity: 3000, admission: { ratePerSecond: 100, maxActive: 100, sessionTtlSeconds: 600 } });
    const { page, problems } = await person(PHONE);
    const layoutReads: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/seats/layout')) layoutReads.push(r.url());
    });
    await submitJoin(page, eventId, 'Crowd');
    await page.getByRole('heading', { name: /your turn/i }).waitFor({ state: 'visible', timeout: 20_000 });
    expect(await waitForText(page, '#seat-map .big-note', /too many/)).toBe(
      '3,000 seats left here: too many to show one by one on this screen. Choose how many you want above, and we find you the best ones.',
    );
    expect(await page.locator('#counts').textContent()).toBe('3,000 seats available · 0 held · 0 sold');
    expect(await page.locator('.seat').count()).toBe(0);
    expect(layoutReads).toEqual([]); // 3,000 seat ids it would not draw are not fetched either
    expect(await overflow(page)).toEqual([]);
    await shot(page, 'phone-big-ga');
    await page.locator('#best-quantity').selectOption('2');
    await page.getByRole('button', { name: 'Find my seats' }).click();
    await page.locator('#view-hold').waitFor({ state: 'visible' });
    expect(await page.locator('#held-seats').textContent()).toBe('Seats GA-1 and GA-2');
    expect(problems).toEqual([]);
  });

  it('an event with a challenge: the page solves it in a Web Worker, showing its progress, and joins', async () => {
    const eventId = uniqueId('web-pow');
    await app.createEvent(eventId, { capacity: 6, challenge: { difficultyBits: 12 } });
    expect((await app.admin('PATCH', `/v1/events/${eventId}`, { paused: true })).status).toBe(200);
    const { page, problems } = await person();
    const requested: string[] = [];
    page.on('request', (r) => requested.push(new URL(r.url()).pathname));
    // Every text the progress line shows, and whether it was on screen then.
    await page.addInitScript(() => {
      const w = window as { powLines: string[] };
      w.powLines = [];
      document.addEventListener('DOMContentLoaded', () => {
        const el = document.getElementById('pow-progress');
        if (el) {
          new MutationObserver(() => {
            if (!el.hidden) w.powLines.push(el.textContent ?? '');
          }).observe(el, { childList: true, characterData: true, subtree: true, attributes: true });
        }
      });
    });
    await joinLine(page, eventId, 'Pat');
    const lines: string[] = await page.evaluate(() => (window as { powLines: string[] }).powLines);
    expect(lines[0]).toMatch(/^Checking this is a person, not a bot/);
    expect(lines).toContain('Check done, joining the line…');
    expect(requested).toEqual(expect.arrayContaining([`/v1/events/${eventId}/challenge`, '/pow-worker.js', '/pow.js']));
    await page.locator('#pow-progress').waitFor({ state: 'hidden' });
    expect(await waitForText(page, '#position', /^1$/)).toBe('1');
    await shot(page, 'desktop-challenge-solved');
    expect(await redisUsers(eventId)).toEqual([expect.stringMatching(/^Pat-/)]);
    // The challenge the page used is spent.
    const client = redis.client();
    try {
      expect(await client.zcard(`qg:{${eventId}}:powused`)).toBe(1);
    } finally {
      client.disconnect();
    }
    expect(problems).toEqual([]);
  });

  it('when the event sells out, people waiting see one sold-out state (stream and polling), and a newcomer is not offered the line', async () => {
    const eventId = uniqueId('web-soldout');
    await app.createEvent(eventId, { capacity: 1, admission: { ratePerSecond: 100, maxActive: 100, sessionTtlSeconds: 600 } });
    // The one seat is held: admission waits (it may come back), so the page keeps waiting.
    const buyer = await joinAndAdmit(app, eventId, 'buyer');
    const hold = await app.request('POST', `/v1/events/${eventId}/holds`, { quantity: 1 }, buyer.auth);
    expect(hold.status).toBe(201);
    const live = await person(DESKTOP);
    const polling = await person(PHONE);
    await polling.page.route('**/queue/*/events', (route) => route.abort());
    await joinLine(live.page, eventId, 'Live Watcher');
    await joinLine(polling.page, eventId, 'Polling Watcher');
    await waitForText(live.page, '#wait-mode', /Live updates/);
    await waitForText(polling.page, '#wait-mode', /Checking every 2 seconds/);
    // A place on screen before the sale ends (the live watcher joined first).
    expect(await polling.page.locator('#position').textContent()).toBe('2');

    expect((await app.request('POST', `/v1/events/${eventId}/holds/${hold.body.holdId}/confirm`, {}, buyer.auth)).status).toBe(201);
    for (const { page } of [live, polling]) {
      expect(await waitForText(page, '#alert-text', /Sold out/, 10_000)).toBe(
        'Sold out: every seat has been sold, so nobody else will be let in. Thank you for waiting.',
      );
      // One state under the banner: no place, no wait, no line to join; the same the newcomer sees.
      expect(await waitForText(page, '#event-info', /Sold out/)).toBe('Sold out: every seat has been sold.');
      expect(await page.locator('#view-wait').isHidden()).toBe(true);
      expect(await page.locator('#position').isVisible()).toBe(false);
      expect(await page.getByText(/Your place|to go/).filter({ visible: true }).count()).toBe(0);
      expect(await page.getByRole('button', { name: /Join/ }).count()).toBe(0);
      expect(await page.title()).toBe('Sold out · queuegate');
      expect(await page.getByRole('heading', { level: 1 }).filter({ visible: true }).allTextContents()).toEqual(['Sold out']);
    }
    expect(await overflow(polling.page)).toEqual([]);
    await shot(polling.page, 'phone-5-sold-out');

    // A newcomer: the event looked up says sold out, and there is no "Join the line" to press.
    const late = await person(PHONE);
    await late.page.goto(`${app.url}/?event=${eventId}`);
    expect(await waitForText(late.page, '#event-info', /Sold out/)).toBe('Sold out: every seat has been sold.');
    expect(await late.page.getByRole('button', { name: /Join/ }).count()).toBe(0);
    expect(await late.page.getByLabel('Your name').isVisible()).toBe(false);
    expect(await late.page.getByRole('heading', { level: 1 }).filter({ visible: true }).allTextContents()).toEqual(['Sold out']);
    expect(await overflow(late.page)).toEqual([]);
    await shot(late.page, 'phone-5b-sold-out-newcomer');
    const failedLoads = /ERR_FAILED|net::/;
    expect([...live.problems, ...polling.problems, ...late.problems].filter((p) => !failedLoads.test(p))).toEqual([]);
  });

  it('in the pre-queue: a countdown to the start, the commitment, then the shuffled place and the turn', async () => {
    const eventId = uniqueId('web-pq');
    const client = redis.client();
    const [s] = await client.time();
    client.disconnect();
    const start = Number(s) * 1000 + 12_000;
    await app.createEvent(eventId, { capacity: 10, salesStartAt: new Date(start).toISOString(), admission: { ratePerSecond: 100, maxActive: 100 } });
    // Paused: after the start the page shows the drawn place before the turn comes.
    expect((await app.admin('PATCH', `/v1/events/${eventId}`, { paused: true })).status).toBe(200);
    const commitment = (await app.request('GET', `/v1/events/${eventId}`)).body.shuffle.commitment as string;
    const live = await person(DESKTOP);
    const polling = await person(PHONE);
    await polling.page.route('**/queue/*/events', (route) => route.abort());
    await joinLine(live.page, eventId, 'Early Bird');
    await joinLine(polling.page, eventId, 'Early Phone');
    for (const { page } of [live, polling]) {
      const first = await waitForText(page, '#countdown', /^\d+:\d\d$/);
      await page.waitForTimeout(2100);
      const later = await waitForText(page, '#countdown', /^\d+:\d\d$/);
      const seconds = (t: string) => Number(t.split(':')[0]) * 60 + Number(t.split(':')[1]);
      expect(seconds(later)).toBeLessThan(seconds(first));
      expect(seconds(first)).toBeLessThanOrEqual(12);
      expect(await waitForText(page, '#shuffle-note', /commitment/)).toContain(commitment);
      expect(await page.locator('#position').textContent()).toBe('–');
    }
    await shot(live.page, 'desktop-6-prequeue-countdown');
    // The commitment is 64 hex characters: on a 390 px phone it wraps instead of widening the page.
    expect(await polling.page.locator('#shuffle-note code.hash').first().textContent()).toBe(commitment);
    expect(await overflow(polling.page)).toEqual([]);
    await shot(polling.page, 'phone-6a-prequeue-commitment');

    // After the start: a place (1 or 2), the note that the line was shuffled, and the revealed seed.
    for (const { page } of [live, polling]) {
      await waitForText(page, '#position', /^[12]$/, 20_000);
      expect(await waitForText(page, '#shuffle-note', /shuffled at the start/)).toContain(commitment);
      expect(await page.locator('#prequeue').isHidden()).toBe(true);
    }
    const seed = (await app.request('GET', `/v1/events/${eventId}`)).body.shuffle.seed as string;
    expect(await live.page.locator('#shuffle-note').textContent()).toContain(seed);
    expect(await overflow(polling.page)).toEqual([]); // the commitment and the seed both wrap
    await shot(polling.page, 'phone-6-shuffled-place');
    expect((await app.admin('PATCH', `/v1/events/${eventId}`, { paused: false })).status).toBe(200);
    for (const { page } of [live, polling]) await waitForSeatMap(page);
    expect([...live.problems, ...polling.problems].filter((p) => !/ERR_FAILED|net::/.test(p))).toEqual([]);
  });

  it('before the queue opens: a countdown; the page opens by itself, and joins whoever asked at the opening', async () => {
    const eventId = uniqueId('web-early');
    const client = redis.client();
    const [s] = await client.time();
    client.disconnect();
    const opensAt = Number(s) * 1000 + 10_000;
    await app.createEvent(eventId, { capacity: 10, queueOpensAt: new Date(opensAt).toISOString(), admission: { ratePerSecond: 100, maxActive: 100 } });
    // Paused: after the opening the joined person shows a place in line.
    expect((await app.admin('PATCH', `/v1/events/${eventId}`, { paused: true })).status).toBe(200);
    const eager = await person(PHONE);
    const watcher = await person(DESKTOP);
    const requested: string[] = [];
    eager.page.on('request', (r) => requested.push(`${r.method()} ${new URL(r.url()).pathname}`));
    for (const { page } of [eager, watcher]) await page.goto(`${app.url}/?event=${eventId}`);

    const seconds = (t: string) => Number(/(\d+):(\d\d)/.exec(t)?.[1]) * 60 + Number(/(\d+):(\d\d)/.exec(t)?.[2]);
    const first = await waitForText(eager.page, '#opening', /^The line opens in \d+:\d\d\.$/);
    expect(seconds(first)).toBeLessThanOrEqual(10);
    await eager.page.getByLabel('Your name').fill('Early Riser');
    await eager.page.getByRole('button', { name: 'Join when the line opens' }).click();
    expect(await waitForText(eager.page, '#opening', /You will be put in it then/)).toMatch(/^The line opens in \d+:\d\d\. You will be put in it then: keep this page open\.$/);
    expect(await eager.page.locator('#join-button').isDisabled()).toBe(true);
    const later = await waitForText(eager.page, '#opening', /^The line opens in \d+:\d\d/);
    expect(seconds(later)).toBeLessThan(seconds(first)); // it counts down
    expect(requested.filter((r) => r.startsWith('POST'))).toEqual([]); // nobody joined early
    expect(await overflow(eager.page)).toEqual([]);
    await shot(eager.page, 'phone-7-before-opening');

    // At the opening: the eager person is in line without touching anything; the watcher is offered the line.
    expect(await waitForText(eager.page, '#position', /^1$/, 20_000)).toBe('1');
    expect(Date.now()).toBeGreaterThanOrEqual(opensAt - 1000); // not before the opening (this clock and Redis' are the same machine's)
    await watcher.page.getByRole('button', { name: 'Join the line' }).waitFor({ state: 'visible', timeout: 10_000 });
    expect(await watcher.page.locator('#opening').isHidden()).toBe(true);
    expect(await redisUsers(eventId)).toEqual([expect.stringMatching(/^Early-Riser-/)]);
    await shot(eager.page, 'phone-7b-joined-at-opening');
    expect([...eager.problems, ...watcher.problems]).toEqual([]);
  });

  it('the page declares its icon, and loads nothing that is not there', async () => {
    const { page, problems } = await person(PHONE);
    const missing: string[] = [];
    page.on('response', (r) => {
      if (r.status() >= 400) missing.push(`${r.status()} ${new URL(r.url()).pathname}`);
    });
    await page.goto(`${app.url}/?event=${uniqueId('no-such-event')}`);
    await waitForText(page, '#event-info', /No event with this code/);
    const icon = await page.evaluate(() => (document.querySelector('link[rel="icon"]') as { href: string } | null)?.href);
    expect(icon).toBe(`${app.url}/favicon.svg`);
    const served = await page.request.get(icon as string);
    expect(served.status()).toBe(200);
    expect(served.headers()['content-type']).toMatch(/^image\/svg\+xml/);
    expect(await served.text()).toMatch(/^<svg /);
    expect(missing).toEqual([`404 /v1/events/${new URL(page.url()).searchParams.get('event')}`]); // the lookup, by design
    expect(problems).toEqual([]);
  });

  /** Map reads by path and status, e.g. { '/seats/state 304': 2 }. */
  function countReads(reads: { path: string; status: number }[]): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const r of reads) counts[`${r.path} ${r.status}`] = (counts[`${r.path} ${r.status}`] ?? 0) + 1;
    return counts;
  }

  /** The userIds waiting or admitted on an event, read straight from Redis. */
  async function redisUsers(eventId: string): Promise<string[]> {
    const client = redis.client();
    try {
      const keys = await client.keys(`qg:{${eventId}}:users`);
      return keys.length ? Object.keys(await client.hgetall(keys[0])) : [];
    } finally {
      client.disconnect();
    }
  }
});

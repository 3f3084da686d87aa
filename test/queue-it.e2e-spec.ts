import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Browser, BrowserContext, chromium, Page } from 'playwright-core';
import { PUBLIC_DIR } from '../src/app.factory';
import { startApp, TestApp, uniqueId } from './support/app-harness';
import { joinAndAdmit } from './support/flows';
import {
  CustomerSite,
  integrationConfig,
  refusalReason,
  startCustomerSite,
  startRecorder,
  startTlsProxy,
  validateToken,
} from './support/queue-it-site';
import { startRedis } from './support/redis-harness';

/**
 * Queue-it connector compatibility (docs/queue-it.md): a customer's site
 * guarded by Queue-it's own KnownUser connector from npm, pointed at
 * queuegate (behind a TLS proxy: the connector always redirects to https) as
 * its queue domain, with queuegate's customer id and secret. Headless
 * Chromium plays the visitor. Screenshots go to test-artifacts/queue-it/.
 */

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ARTIFACTS = resolve(__dirname, '..', 'test-artifacts', 'queue-it');
const CUSTOMER_ID = 'ticketania';
const SECRET_KEY = '5ebbf794-1665-4d48-80d6-21ac34be7faedf9e10b3-551a-4682-bb77-fee59d6355d6';
const COOKIE = (eventId: string) => `QueueITAccepted-SDFrts345E-V3_${eventId}`;

jest.setTimeout(90_000);

declare const document: any;

/** How many times the service ran a Lua script, from its Prometheus text. */
const scriptCalls = (metrics: string, script: string) =>
  Number(new RegExp(`^queuegate_script_duration_seconds_count\\{[^}]*script="${script}"[^}]*\\} (\\d+)`, 'm').exec(metrics)?.[1] ?? 0);

describe('Queue-it connector compatibility', () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let app: TestApp;
  let proxy: Awaited<ReturnType<typeof startTlsProxy>>;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const closers: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium is not installed (${CHROMIUM}): apt-get update && apt-get install -y chromium`);
    if (!existsSync(join(PUBLIC_DIR, 'queue-it.html'))) throw new Error(`${PUBLIC_DIR}/queue-it.html is missing: run \`npm run build\` first`);
    mkdirSync(ARTIFACTS, { recursive: true });
    redis = await startRedis();
    app = await startApp({ REDIS_URL: redis.url, QUEUE_IT_CUSTOMER_ID: CUSTOMER_ID, QUEUE_IT_SECRET_KEY: SECRET_KEY });
    proxy = await startTlsProxy(app.url);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  }, 60_000);

  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((c) => c.close()));
    await Promise.all(closers.splice(0).map((close) => close()));
  });

  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    await app?.close();
    await redis?.cleanup();
  });

  /** A visitor with a fresh profile that accepts the proxy's self-signed certificate; page errors fail the test. */
  async function visitor(): Promise<{ page: Page; context: BrowserContext; problems: string[] }> {
    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1000, height: 800 } });
    contexts.push(context);
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) problems.push(`console: ${m.text()}`);
    });
    return { page, context, problems };
  }

  const shot = (page: Page, name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

  async function site(eventId: string): Promise<CustomerSite> {
    const s = await startCustomerSite({ customerId: CUSTOMER_ID, secretKey: SECRET_KEY, integrationConfig: integrationConfig(eventId, proxy.domain) });
    closers.push(() => s.close());
    return s;
  }

  async function waitForText(page: Page, selector: string, pattern: RegExp, timeout = 15_000): Promise<string> {
    await page.waitForFunction(
      ([s, source]) => {
        const el = document.querySelector(s);
        return !!el && el.getClientRects().length > 0 && new RegExp(source).test(el.textContent ?? '');
      },
      [selector, pattern.source] as const,
      { timeout },
    );
    return (await page.locator(selector).textContent()) ?? '';
  }

  /** userIds with a place (waiting or admitted) in the event, straight from Redis. */
  async function placesIn(eventId: string): Promise<string[]> {
    const client = redis.client();
    try {
      return Object.keys(await client.hgetall(`qg:{${eventId}}:users`));
    } finally {
      client.disconnect();
    }
  }

  /** A token from queuegate's own endpoint for a ticket admitted through the API. */
  async function tokenFor(eventId: string, target: string): Promise<{ queueittoken: string; redirectUrl: string; expiresAt: string }> {
    const { ticket } = await joinAndAdmit(app, eventId, uniqueId('api-user'));
    const r = await app.request('POST', '/queue-it/token', { eventId, ticket, target });
    if (r.status !== 200) throw new Error(`token: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }

  it('a protected page sends the visitor to queuegate, who waits (a reload keeps the place), is admitted and lands back through the connector; the next visit goes straight through', async () => {
    const eventId = uniqueId('qit-flow');
    const shop = await site(eventId);
    await app.createEvent(eventId, { capacity: 10, redirectOrigins: [shop.origin], admission: { ratePerSecond: 1, maxActive: 10, sessionTtlSeconds: 600 } });
    expect((await app.admin('PATCH', `/v1/events/${eventId}`, { paused: true })).status).toBe(200);
    expect((await app.request('POST', `/v1/events/${eventId}/queue`, { userId: 'ahead-1' })).status).toBe(202);

    const { page, context, problems } = await visitor();
    const protectedUrl = `${shop.origin}/protected/checkout?basket=42`;
    await page.goto(protectedUrl);
    // The connector's own redirect, answered by queuegate: c, e, t and the connector's extra parameters.
    const entry = new URL(page.url());
    expect(entry.origin).toBe(`https://${proxy.domain}`);
    expect(entry.pathname).toBe('/');
    expect(Object.fromEntries(entry.searchParams)).toMatchObject({ c: CUSTOMER_ID, e: eventId, t: protectedUrl, ver: expect.stringMatching(/^javascript-/) });
    expect(await waitForText(page, '#position', /^2$/)).toBe('2');
    expect(await page.locator('#target-site').textContent()).toBe(new URL(shop.origin).host);
    await waitForText(page, '#wait-mode', /Live updates/);
    await shot(page, '1-waiting');
    const placed = await placesIn(eventId);
    expect(placed).toHaveLength(2);

    // A reload follows the same place: no second join.
    await page.reload();
    expect(await waitForText(page, '#position', /^2$/)).toBe('2');
    expect(await placesIn(eventId)).toEqual(placed);

    // Admission resumes: one a second, so the visitor is next, then in, then back on the site.
    expect((await app.admin('PATCH', `/v1/events/${eventId}`, { paused: false })).status).toBe(200);
    await page.waitForURL(protectedUrl, { timeout: 20_000 });
    expect(await page.locator('#shop').textContent()).toBe('The protected checkout');
    await shot(page, '2-back-on-the-site');
    // The connector saw the token (and answered with its cookie and a redirect to the clean URL), then served the page.
    const tokenVisit = shop.visits.find((v) => v.url.includes('queueittoken='));
    expect(tokenVisit).toMatchObject({ served: false });
    const token = new URL(shop.origin + tokenVisit!.url).searchParams.get('queueittoken')!;
    expect(token).toMatch(new RegExp(`^e_${eventId}~q_[0-9a-f-]{36}~ts_\\d+~ce_false~rt_queue~h_[0-9a-f]{64}$`));
    const queueId = /~q_([^~]+)~/.exec(token)![1];
    expect(await page.locator('#queue-id').textContent()).toBe(queueId);
    const cookie = (await context.cookies(shop.origin)).find((c) => c.name === COOKIE(eventId));
    expect(decodeURIComponent(cookie?.value ?? '')).toContain(`QueueId=${queueId}`);
    // ts is the session's end.
    const ts = Number(/~ts_(\d+)~/.exec(token)![1]);
    expect(ts * 1000).toBeGreaterThan(Date.now() + 590_000);
    expect(ts * 1000).toBeLessThanOrEqual(Date.now() + 600_000);

    // The next protected page: the connector's cookie lets it through, queuegate is not asked.
    const asked = proxy.requests.length;
    await page.goto(`${shop.origin}/protected/seats`);
    expect(page.url()).toBe(`${shop.origin}/protected/seats`);
    expect(await page.locator('#shop').textContent()).toBe('The protected checkout');
    expect(shop.visits.at(-1)).toEqual({ url: '/protected/seats', served: true });
    expect(proxy.requests.length).toBe(asked);
    expect(problems).toEqual([]);
  });

  it("the connector refuses queuegate's token with one flipped character, another event's token, and an expired one", async () => {
    const eventId = uniqueId('qit-a');
    const otherId = uniqueId('qit-b');
    const shortId = uniqueId('qit-short');
    const shop = await site(eventId);
    const pageUrl = `${shop.origin}/protected/checkout`;
    for (const [id, ttl] of [[eventId, 600], [otherId, 600], [shortId, 2]] as const) {
      await app.createEvent(id, { capacity: 10, redirectOrigins: [shop.origin], admission: { ratePerSecond: 100, maxActive: 10, sessionTtlSeconds: ttl } });
    }
    const verdict = (token: string, forEvent = eventId) =>
      validateToken(token, { customerId: CUSTOMER_ID, secretKey: SECRET_KEY, eventId: forEvent, queueDomain: proxy.domain, pageUrl }).then(refusalReason);

    const expiring = await tokenFor(shortId, pageUrl);
    const good = await tokenFor(eventId, pageUrl);
    expect(good.redirectUrl).toBe(`${pageUrl}?queueittoken=${good.queueittoken}`);
    expect(await verdict(good.queueittoken)).toBeNull(); // the genuine token passes

    // One character changed anywhere: in the event id, the queue id, the expiry, a flag or the hash.
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'a' ? 'b' : s[i] === '1' ? '2' : s[i] === '0' ? '1' : 'a') + s.slice(i + 1);
    const t = good.queueittoken;
    for (const at of [2, t.indexOf('~q_') + 5, t.indexOf('~ts_') + 6, t.indexOf('~ce_') + 4, t.length - 1]) {
      expect(await verdict(flip(t, at))).toBe('hash');
    }
    // Through the site itself: the flipped token sends the visitor to the queue's error page, not to the checkout.
    const flipped = await fetch(`${pageUrl}?queueittoken=${encodeURIComponent(flip(t, t.length - 1))}`, { redirect: 'manual' });
    expect(flipped.status).toBe(302);
    expect(flipped.headers.get('location')).toMatch(new RegExp(`^https://${proxy.domain}/error/hash/\\?c=${CUSTOMER_ID}&e=${eventId}`));

    // A genuine token of another event does not open this one.
    const other = await tokenFor(otherId, pageUrl);
    expect(await verdict(other.queueittoken, otherId)).toBeNull();
    expect(await verdict(other.queueittoken)).toBe('eventid');

    // A genuine token after its session's end (2 s) is refused as expired.
    expect(await verdict(expiring.queueittoken, shortId)).toBeNull();
    const ts = Number(/~ts_(\d+)~/.exec(expiring.queueittoken)![1]);
    expect(ts * 1000).toBe(Math.floor(Date.parse(expiring.expiresAt) / 1000) * 1000);
    await new Promise((r) => setTimeout(r, Math.max(0, (ts + 1) * 1000 - Date.now() + 50)));
    expect(await verdict(expiring.queueittoken, shortId)).toBe('timestamp');
  });

  it('a target on an origin the event does not name never receives a redirect: the entry refuses it in plain words, and so does the token endpoint', async () => {
    const eventId = uniqueId('qit-open');
    const shop = await site(eventId);
    const elsewhere = await startRecorder();
    closers.push(() => elsewhere.close());
    await app.createEvent(eventId, { capacity: 10, redirectOrigins: [shop.origin], admission: { ratePerSecond: 100, maxActive: 10, sessionTtlSeconds: 600 } });

    const { page } = await visitor();
    const bad = `${elsewhere.origin}/steal?x=1`;
    const answer = await page.goto(`https://${proxy.domain}/?c=${CUSTOMER_ID}&e=${eventId}&t=${encodeURIComponent(bad)}`);
    expect(answer?.status()).toBe(400);
    expect(await page.locator('h1').textContent()).toBe('This waiting room will not send you there');
    expect(await page.locator('#refusal-text').textContent()).toContain(`“${bad}”`);
    await shot(page, '3-target-refused');
    await page.waitForTimeout(1500);
    expect(page.url()).toContain(`https://${proxy.domain}/`);
    expect(await placesIn(eventId)).toEqual([]); // nobody was queued for it

    // An admitted ticket cannot get a token for it either, nor for look-alikes of the allowed origin.
    const { ticket } = await joinAndAdmit(app, eventId, 'admitted-1');
    const host = new URL(shop.origin).host;
    for (const target of [bad, `${shop.origin}@${new URL(elsewhere.origin).host}/`, `http://${host}.evil.test/`, `https://${host}/`, 'javascript:alert(1)', 'not a url']) {
      const r = await app.request('POST', '/queue-it/token', { eventId, ticket, target });
      expect({ target, status: r.status, code: r.body.code }).toEqual({ target, status: 403, code: 'TARGET_NOT_ALLOWED' });
    }
    expect(elsewhere.hits).toEqual([]);
    // The allowed origin works for the same ticket.
    expect((await app.request('POST', '/queue-it/token', { eventId, ticket, target: `${shop.origin}/protected/x` })).status).toBe(200);
  });

  it('an unknown customer or event gets a page that says so; the waiting room at / is still there', async () => {
    const eventId = uniqueId('qit-known');
    await app.createEvent(eventId, { capacity: 5, redirectOrigins: ['https://shop.example.com'] });
    const t = encodeURIComponent('https://shop.example.com/x');
    const html = async (path: string) => {
      const r = await fetch(app.url + path);
      return { status: r.status, type: r.headers.get('content-type'), text: await r.text() };
    };
    const unknownCustomer = await html(`/?c=someone-else&e=${eventId}&t=${t}`);
    expect(unknownCustomer).toMatchObject({ status: 404, type: 'text/html; charset=utf-8' });
    expect(unknownCustomer.text).toContain('names the customer “someone-else”, which this waiting room does not serve');
    const unknownEvent = await html(`/?c=${CUSTOMER_ID}&e=no-such-event&t=${t}`);
    expect(unknownEvent.status).toBe(404);
    expect(unknownEvent.text).toContain('names the event “no-such-event”, which this waiting room does not have');
    expect((await html(`/?c=${CUSTOMER_ID}&e=${encodeURIComponent('<b>x</b>')}&t=${t}`)).text).toContain('“&lt;b&gt;x&lt;/b&gt;”');
    expect((await html(`/?c=${CUSTOMER_ID}&e=${eventId}`)).text).toContain('does not say which page to take you back to');
    // The connector's error path takes the same entry.
    expect((await html(`/error/hash/?c=${CUSTOMER_ID}&e=${eventId}&t=${t}&queueittoken=x`)).text).toContain('<script type="module" src="/queue-it.js">');

    const { page } = await visitor();
    await page.goto(`https://${proxy.domain}/?c=someone-else&e=${eventId}&t=${t}`);
    expect(await page.locator('h1').textContent()).toBe('This waiting room does not serve that site');
    await shot(page, '4-unknown-customer');
    await page.goto(`https://${proxy.domain}/?c=${CUSTOMER_ID}&e=no-such-event&t=${t}`);
    expect(await page.locator('h1').textContent()).toBe('There is no such waiting line');
    await shot(page, '5-unknown-event');

    const root = await html('/?event=demo');
    expect(root.status).toBe(200);
    expect(root.text).toContain('Get in line for tickets');
  });

  it('the usual waiting page: a countdown in the pre-queue; sold out in plain words', async () => {
    const early = uniqueId('qit-pq');
    const earlyShop = await site(early);
    await app.createEvent(early, { capacity: 5, salesStartAt: new Date(Date.now() + 60_000).toISOString(), redirectOrigins: [earlyShop.origin] });
    const waiting = await visitor();
    await waiting.page.goto(`${earlyShop.origin}/protected/checkout`);
    const shown = await waitForText(waiting.page, '#countdown', /^\d+:\d\d$/);
    expect(Number(shown.split(':')[0]) * 60 + Number(shown.split(':')[1])).toBeLessThanOrEqual(60);
    expect(await waiting.page.locator('#eta').textContent()).toBe('Your place is drawn when sales start');
    await shot(waiting.page, '6-prequeue');

    // The only seat is held by someone admitted first: the visitor waits (it may come back), then it is bought.
    const eventId = uniqueId('qit-soldout');
    const shop = await site(eventId);
    await app.createEvent(eventId, { capacity: 1, redirectOrigins: [shop.origin], admission: { ratePerSecond: 100, maxActive: 10, sessionTtlSeconds: 600 } });
    const buyer = await joinAndAdmit(app, eventId, 'buyer');
    const hold = await app.request('POST', `/v1/events/${eventId}/holds`, { quantity: 1 }, buyer.auth);
    expect(hold.status).toBe(201);
    const late = await visitor();
    await late.page.goto(`${shop.origin}/protected/checkout`);
    await waitForText(late.page, '#position', /^1$/);
    expect((await app.request('POST', `/v1/events/${eventId}/holds/${hold.body.holdId}/confirm`, {}, buyer.auth)).status).toBe(201);
    expect(await waitForText(late.page, '#alert-text', /Sold out/, 10_000)).toBe(
      'Sold out: everything has been sold, so nobody else will be let in. Thank you for waiting.',
    );
    expect(await late.page.locator('#wait-heading').textContent()).toBe('The sale has ended');
    expect(await late.page.locator('#position-live').isHidden()).toBe(true);
    await shot(late.page, '7-sold-out');
    // Someone arriving after the sale: the join is refused, and the page says why.
    const later = await visitor();
    await later.page.goto(`${shop.origin}/protected/checkout`);
    expect(await waitForText(later.page, '#alert-text', /Sold out/)).toBe('Sold out: everything has been sold, so the line is closed.');
    expect(shop.visits.filter((v) => v.served)).toEqual([]);
    expect([...waiting.problems, ...late.problems, ...later.problems]).toEqual([]);
  });

  it('with QUEUE_IT_CUSTOMER_ID and QUEUE_IT_SECRET_KEY unset, every customer is unknown and no token is signed', async () => {
    const off = await startApp({ REDIS_URL: redis.url });
    closers.push(() => off.close());
    const eventId = uniqueId('qit-off');
    await off.createEvent(eventId, { capacity: 5, redirectOrigins: ['https://shop.example.com'] });
    const entry = await fetch(`${off.url}/?c=${CUSTOMER_ID}&e=${eventId}&t=${encodeURIComponent('https://shop.example.com/x')}`);
    expect(entry.status).toBe(404);
    expect(await entry.text()).toContain(`names the customer “${CUSTOMER_ID}”, which this waiting room does not serve`);
    const { ticket } = await joinAndAdmit(off, eventId, 'fan-1');
    const token = await off.request('POST', '/queue-it/token', { eventId, ticket, target: 'https://shop.example.com/x' });
    expect({ status: token.status, code: token.body.code }).toEqual({ status: 404, code: 'NOT_FOUND' });
  });

  it("a crowd arriving at once costs one read of the event a second, not one each; with Redis frozen the entry answers 503 in plain words", async () => {
    // An app of its own (its Redis is frozen below), serving this one event.
    const ownRedis = await startRedis();
    const own = await startApp({ REDIS_URL: ownRedis.url, REDIS_COMMAND_TIMEOUT_MS: '300', QUEUE_IT_CUSTOMER_ID: CUSTOMER_ID, QUEUE_IT_SECRET_KEY: SECRET_KEY });
    closers.push(async () => {
      ownRedis.thaw();
      await own.close();
      await ownRedis.cleanup();
    });
    const eventId = uniqueId('qit-crowd');
    await own.createEvent(eventId, { capacity: 5, redirectOrigins: ['https://shop.example.com'] });
    const entry = `/?c=${CUSTOMER_ID}&e=${eventId}&t=${encodeURIComponent('https://shop.example.com/x')}`;
    // A scrape of /metrics reads the event itself (its per-event gauges): what one scrape costs is measured and taken off.
    const reads = async () => scriptCalls(await (await fetch(`${own.url}/metrics`)).text(), 'eventView');
    const first = await reads();
    const before = await reads();
    const perScrape = before - first;
    const answers = await Promise.all(Array.from({ length: 50 }, () => fetch(own.url + entry).then((r) => r.status)));
    expect(answers).toEqual(Array(50).fill(200));
    // One read, and a second one only when the 50 requests straddle the replica's 1 s refresh.
    expect((await reads()) - before - perScrape).toBeLessThanOrEqual(2);

    ownRedis.freeze();
    await new Promise((r) => setTimeout(r, 1100)); // past the replica's memory of the event
    const refused = await fetch(own.url + entry);
    expect(refused.status).toBe(503);
    expect(await refused.text()).toContain('We cannot reach the ticket system right now. Please reload this page in a few seconds.');
  });

  it('redirectOrigins: exact origins only, changed by PATCH, and never on an event id with "_"', async () => {
    const create = (eventId: string, redirectOrigins: unknown) => app.admin('POST', '/v1/events', { eventId, capacity: 3, redirectOrigins });
    const underscored = uniqueId('qit').replace(/-/g, '_');
    const refused = await create(underscored, ['https://shop.example.com']);
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ code: 'VALIDATION', message: expect.stringContaining('"_" and "~"') });
    const client = redis.client();
    try {
      expect(await client.exists(`qg:{${underscored}}:meta`)).toBe(0);
    } finally {
      client.disconnect();
    }
    // Without origins such an id is a plain event, and cannot be given any later.
    expect((await create(underscored, [])).status).toBe(201);
    expect((await app.admin('PATCH', `/v1/events/${underscored}`, { redirectOrigins: ['https://shop.example.com'] })).status).toBe(400);

    for (const origin of ['https://shop.example.com/', 'https://shop.example.com/path', 'http://shop.example.com', 'https://Shop.example.com', 'https://shop.example.com:443', '*', 'shop.example.com']) {
      const r = await create(uniqueId('qit-bad'), [origin]);
      expect({ origin, status: r.status, code: r.body.code }).toEqual({ origin, status: 400, code: 'VALIDATION' });
    }
    const eventId = uniqueId('qit-origins');
    const origins = ['https://shop.example.com', 'https://tickets.example.org:8443', 'http://localhost:3001', 'http://127.0.0.1:8080'];
    expect((await create(eventId, origins)).body.config.redirectOrigins).toEqual(origins);
    const patched = await app.admin('PATCH', `/v1/events/${eventId}`, { redirectOrigins: ['https://new.example.com'] });
    expect(patched.body.config.redirectOrigins).toEqual(['https://new.example.com']);
    expect((await app.admin('PATCH', `/v1/events/${eventId}`, { redirectOrigins: [] })).body.config.redirectOrigins).toEqual([]);
    expect((await app.request('GET', `/v1/events/${uniqueId('none')}`)).status).toBe(404);
    expect((await app.request('GET', `/v1/events/${underscored}`)).body.config.redirectOrigins).toEqual([]);
  });
});

import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { existsSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Browser, chromium } from 'playwright-core';
import { startApp, TestApp, uniqueId } from './support/app-harness';
import { startRedis } from './support/redis-harness';

/**
 * Issue 21: CORS proven in a real browser. A small page of our own, served
 * from another origin (another port), calls the compat API with fetch() the
 * way AWS's sample waiting-room site does: assign_queue_num → queue_num →
 * serving_num until its turn → generate_token. Its POSTs carry
 * Content-Type: application/json, so Chromium sends a preflight first.
 */
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const KEY_ID = 'AKIDBROWSERTEST';
const SECRET = 'browser-test-secret-0123456789';

jest.setTimeout(90_000);
declare const window: any;

/** The page: the sample site's calls, its progress in window.vwr. */
const page = (api: string, eventId: string) => `<!doctype html><meta charset="utf-8"><title>waiting room</title>
<script>
const api = ${JSON.stringify(api)}, eventId = ${JSON.stringify(eventId)};
window.vwr = { step: 'start' };
const post = (path, body) => fetch(api + path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
(async () => {
  try {
    const assigned = await (await post('/assign_queue_num', { event_id: eventId })).json();
    window.vwr = { step: 'assigned', id: assigned.api_request_id };
    let num;
    for (;;) {
      const r = await fetch(api + '/queue_num?event_id=' + eventId + '&request_id=' + assigned.api_request_id);
      if (r.status === 200) { num = (await r.json()).queue_number; break; }
      await sleep(200);
    }
    window.vwr = { ...window.vwr, step: 'waiting', queueNumber: num };
    for (;;) {
      const serving = Number((await (await fetch(api + '/serving_num?event_id=' + eventId)).json()).serving_counter);
      if (serving >= num) break;
      await sleep(200);
    }
    for (;;) {
      const r = await post('/generate_token', { event_id: eventId, request_id: assigned.api_request_id });
      if (r.status === 200) { window.vwr = { ...window.vwr, step: 'token', tokens: await r.json() }; break; }
      await sleep(200);
    }
  } catch (err) {
    window.vwr = { ...window.vwr, step: 'error', error: String(err) };
  }
})();
</script>`;

describe('AWS compat from another origin in Chromium', () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let app: TestApp;
  let site: Server;
  let browser: Browser;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium is not installed (${CHROMIUM}): apt-get install -y chromium`);
    redis = await startRedis();
    app = await startApp({ REDIS_URL: redis.url, AWS_VWR_COMPAT: 'true', AWS_VWR_ISSUER: 'https://wait.example', AWS_VWR_ACCESS_KEYS: `${KEY_ID}:${SECRET}` });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => (site ? site.close(r) : r(undefined)));
    await app?.close();
    await redis?.cleanup();
  });

  it('join → wait → turn → token, every call cross-origin', async () => {
    const eventId = uniqueId('vwr-browser');
    await app.createEvent(eventId, { capacity: 10, admission: { mode: 'manual' } });
    const html = page(`${app.url}/aws-vwr/public`, eventId);
    site = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html));
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
    const siteUrl = `http://localhost:${(site.address() as AddressInfo).port}/`;
    expect(new URL(siteUrl).origin).not.toBe(new URL(app.url).origin);

    const context = await browser.newContext();
    const tab = await context.newPage();
    const problems: string[] = [];
    tab.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    // Chromium sends preflights from its network service (the page never sees them): count them at the server.
    const preflights: string[] = [];
    app.app.getHttpServer().on('request', (req: { method?: string; url?: string }) => req.method === 'OPTIONS' && preflights.push(req.url ?? ''));
    await tab.goto(siteUrl);

    await tab.waitForFunction(() => window.vwr.step === 'waiting' || window.vwr.step === 'error', undefined, { timeout: 20_000 });
    const waiting = await tab.evaluate(() => window.vwr);
    expect(waiting).toEqual({ step: 'waiting', id: expect.any(String), queueNumber: 1 });

    // The inlet lets one in (signed, from "the server side").
    const body = JSON.stringify({ event_id: eventId, increment_by: 1 });
    const signer = new SignatureV4({ credentials: { accessKeyId: KEY_ID, secretAccessKey: SECRET }, region: 'us-east-1', service: 'execute-api', sha256: Sha256 });
    const path = '/aws-vwr/private/increment_serving_counter';
    const signed = await signer.sign({ method: 'POST', protocol: 'http:', hostname: '127.0.0.1', path, query: {}, headers: { host: new URL(app.url).host, 'content-type': 'application/json' }, body });
    const { host: _host, ...headers } = signed.headers as Record<string, string>;
    expect((await app.request('POST', path, body, headers)).body).toEqual({ serving_num: 1 });

    await tab.waitForFunction(() => window.vwr.step === 'token' || window.vwr.step === 'error', undefined, { timeout: 20_000 });
    const done = await tab.evaluate(() => window.vwr);
    expect(done.step).toBe('token');
    expect(done.tokens).toEqual(expect.objectContaining({ token_type: 'Bearer', access_token: expect.any(String) }));
    // The JSON POSTs were preflighted, and nothing was blocked by CORS.
    expect(preflights).toEqual(expect.arrayContaining(['/aws-vwr/public/assign_queue_num', '/aws-vwr/public/generate_token']));
    expect(problems.filter((p) => /CORS|Access-Control/i.test(p))).toEqual([]);
    await context.close();
  });
});

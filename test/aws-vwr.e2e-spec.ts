import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Redis } from 'ioredis';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, importJWK, jwtVerify } from 'jose';
import { EventActivity } from '../src/event/event-activity';
import { Admitter } from '../src/queue/admitter';
import { QueueSnapshots } from '../src/queue/queue-snapshots';
import { ScriptRegistry } from '../src/redis/script-registry';
import { countStatuses, startApp, TestApp, uniqueId } from './support/app-harness';
import { pollUntil, sleep } from './support/inspect';
import { keyspaceDigest } from './support/keyspace';
import { startRedis } from './support/redis-harness';
import { startTopology, Topology } from './support/topology';

const ISSUER = 'https://waitingroom.example.test';
const KEY_ID = 'AKIDQUEUEGATETEST';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const PUB = '/aws-vwr/public';
const PRIV = '/aws-vwr/private';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface SignOptions {
  secret?: string;
  date?: Date;
  signedHost?: string;
  contentType?: string;
  region?: string;
}
/** Headers of a SigV4-signed request to `host`, as AWS's SDKs (and the inlet Lambdas) sign them. */
async function signedHeaders(host: string, method: string, path: string, query: Record<string, string>, body: string, o: SignOptions = {}) {
  const signer = new SignatureV4({
    credentials: { accessKeyId: KEY_ID, secretAccessKey: o.secret ?? SECRET },
    region: o.region ?? 'eu-west-1',
    service: 'execute-api',
    sha256: Sha256,
  });
  const headers: Record<string, string> = { host: o.signedHost ?? host };
  if (body !== '') headers['content-type'] = o.contentType ?? 'application/json';
  const signed = await signer.sign(
    { method, protocol: 'http:', hostname: '127.0.0.1', path, query, headers, body: body === '' ? undefined : body },
    { signingDate: o.date ?? new Date() },
  );
  const out = { ...(signed.headers as Record<string, string>) };
  delete out.host; // fetch sends the real one
  return out;
}

/**
 * Issue 21: AWS Virtual Waiting Room's clients, played from their published
 * behaviour against the compat API: the sample site's public calls, the
 * inlet strategies' and control panel's SigV4-signed private calls (signed
 * here with AWS's own signer, @smithy/signature-v4 over @aws-crypto/sha256-js,
 * not with anything of the service), and a token authorizer that verifies
 * the tokens with a JOSE library against the published public key.
 */
describe('AWS Virtual Waiting Room compatibility on single Redis', () => {
  let topology: Topology;
  let app: TestApp;
  let redis: Redis;
  let host: string;

  beforeAll(async () => {
    topology = await startTopology('single');
    app = await startApp({
      ...topology.env,
      REDIS_COMMAND_TIMEOUT_MS: '10000',
      AWS_VWR_COMPAT: 'true',
      AWS_VWR_ISSUER: ISSUER,
      AWS_VWR_ACCESS_KEYS: `OTHERKEY:other-secret,${KEY_ID}:${SECRET}`,
      AWS_VWR_REGION: 'eu-west-1',
    });
    redis = (await topology.masters())[0] as Redis;
    host = new URL(app.url).host;
  }, 60_000);
  afterAll(async () => {
    redis?.disconnect();
    await app?.close();
    await topology?.stop();
  });

  const get = (path: string, query: Record<string, string>) => app.request('GET', `${path}?${new URLSearchParams(query)}`);
  const post = (path: string, body: unknown, contentType = 'application/json') =>
    app.request('POST', path, typeof body === 'string' ? body : JSON.stringify(body), { 'content-type': contentType });

  const sign = (method: string, path: string, query: Record<string, string>, body: string, o: SignOptions = {}) =>
    signedHeaders(host, method, path, query, body, o);
  async function privatePost(path: string, body: unknown, o: SignOptions & { sendBody?: string } = {}) {
    const text = JSON.stringify(body);
    const headers = await sign('POST', PRIV + path, {}, text, o);
    return app.request('POST', PRIV + path, o.sendBody ?? text, headers);
  }
  async function privateGet(path: string, query: Record<string, string>, o: SignOptions & { sendQuery?: Record<string, string> } = {}) {
    const headers = await sign('GET', PRIV + path, query, '', o);
    return app.request('GET', `${PRIV}${path}?${new URLSearchParams(o.sendQuery ?? query)}`, undefined, headers);
  }

  async function manualEvent(extra: Record<string, unknown> = {}): Promise<string> {
    const eventId = uniqueId('vwr');
    await app.createEvent(eventId, { capacity: 1000, admission: { mode: 'manual', sessionTtlSeconds: 600 }, ...extra });
    return eventId;
  }
  async function assignMany(eventId: string, n: number): Promise<string[]> {
    const answers = await Promise.all(Array.from({ length: n }, () => post(`${PUB}/assign_queue_num`, { event_id: eventId })));
    expect(countStatuses(answers)).toEqual({ 200: n });
    return answers.map((r) => r.body.api_request_id as string);
  }
  /** The serving counter as a client sees it, once the replica's snapshot shows at least `n`. */
  const servingAtLeast = (eventId: string, n: number) =>
    pollUntil(
      () => get(`${PUB}/serving_num`, { event_id: eventId }),
      (r) => Number(r.body.serving_counter) >= n,
      { timeoutMs: 5000, intervalMs: 50 },
    );

  it('the sample site and an inlet: assign → queue_num (200 at once) → serving_num / waiting_num → signed increment → generate_token → a token an authorizer accepts', async () => {
    const eventId = await manualEvent();
    const ids = await assignMany(eventId, 200);
    ids.forEach((id) => expect(id).toMatch(UUID));
    expect(new Set(ids).size).toBe(200);

    const nums = await Promise.all(ids.map((id) => get(`${PUB}/queue_num`, { event_id: eventId, request_id: id })));
    expect(countStatuses(nums)).toEqual({ 200: 200 });
    const numberOf = new Map(ids.map((id, i) => [id, nums[i].body.queue_number as number]));
    expect([...numberOf.values()].sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    const nowS = Date.now() / 1000;
    for (const r of nums) {
      expect(r.body).toEqual({ queue_number: expect.any(Number), entry_time: expect.any(Number), event_id: eventId, status: 1 });
      expect(Math.abs(r.body.entry_time - nowS)).toBeLessThan(30);
    }

    expect((await get(`${PUB}/serving_num`, { event_id: eventId })).body).toEqual({ serving_counter: '0' });
    const waiting = await pollUntil(() => get(`${PUB}/waiting_num`, { event_id: eventId }), (r) => r.body.waiting_num === 200, { timeoutMs: 5000, intervalMs: 50 });
    expect(waiting.value.body).toEqual({ waiting_num: 200 });
    const first = ids.find((id) => numberOf.get(id) === 10)!;
    const late = ids.find((id) => numberOf.get(id) === 150)!;
    const notYet = await post(`${PUB}/generate_token`, { event_id: eventId, request_id: first });
    expect({ status: notYet.status, body: notYet.body }).toEqual({ status: 202, body: { error: 'Request ID not being served yet' } });

    const inc = await privatePost('/increment_serving_counter', { event_id: eventId, increment_by: 50 });
    expect({ status: inc.status, body: inc.body }).toEqual({ status: 200, body: { serving_num: 50 } });
    expect((await servingAtLeast(eventId, 50)).value.body).toEqual({ serving_counter: '50' });
    expect((await pollUntil(() => get(`${PUB}/waiting_num`, { event_id: eventId }), (r) => r.body.waiting_num === 150, { timeoutMs: 5000, intervalMs: 50 })).value.body).toEqual({ waiting_num: 150 });

    const tokens = await post(`${PUB}/generate_token`, { event_id: eventId, request_id: first });
    expect(tokens.status).toBe(200);
    expect(tokens.body).toEqual({
      access_token: expect.any(String), refresh_token: expect.any(String), id_token: expect.any(String), token_type: 'Bearer', expires_in: expect.any(Number),
    });
    expect(tokens.body.expires_in).toBeGreaterThan(590);
    expect(tokens.body.expires_in).toBeLessThanOrEqual(600);
    const stillWaiting = await post(`${PUB}/generate_token`, { event_id: eventId, request_id: late });
    expect(stillWaiting.status).toBe(202);

    // The authorizer: the key from public_key, checks independent of the service.
    const jwk = (await get(`${PUB}/public_key`, { event_id: eventId })).body;
    expect(Object.keys(jwk).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
    expect({ kty: jwk.kty, alg: jwk.alg }).toEqual({ kty: 'RSA', alg: 'RS256' });
    const key = await importJWK(jwk, 'RS256');
    const { payload, protectedHeader } = await jwtVerify(tokens.body.access_token, key, { audience: eventId, issuer: ISSUER, algorithms: ['RS256'] });
    expect(protectedHeader).toEqual({ alg: 'RS256', typ: 'JWT', kid: jwk.kid });
    expect(payload).toEqual({
      aud: eventId, sub: first, queue_position: 10, token_use: 'access', iss: ISSUER, iat: expect.any(Number), nbf: expect.any(Number), exp: expect.any(Number),
    });
    expect(payload.exp! * 1000).toBeGreaterThan(Date.now() + 590_000);
    for (const [field, use] of [['refresh_token', 'refresh'], ['id_token', 'id']]) {
      expect((await jwtVerify(tokens.body[field], key, { audience: eventId, issuer: ISSUER })).payload.token_use).toBe(use);
    }
    // The same key at the service root, as a JWKS.
    const jwks = (await app.request('GET', '/.well-known/jwks.json')).body;
    expect(jwks).toEqual({ keys: [jwk] });
    await jwtVerify(tokens.body.access_token, createLocalJWKSet(jwks), { audience: eventId, issuer: ISSUER });
    // Another event's authorizer refuses it (aud).
    await expect(jwtVerify(tokens.body.access_token, key, { audience: 'another-event', issuer: ISSUER })).rejects.toThrow(/aud/);

    // A repeat generate_token: the same claims.
    const again = await post(`${PUB}/generate_token`, { event_id: eventId, request_id: first });
    expect(again.status).toBe(200);
    expect(decodeJwt(again.body.access_token)).toEqual(decodeJwt(tokens.body.access_token));
    expect(decodeProtectedHeader(again.body.id_token)).toEqual(decodeProtectedHeader(tokens.body.id_token));
  });

  it('polling queue_num, serving_num and waiting_num 1,000 times (and generate_token while waiting) costs Redis 0 commands', async () => {
    const eventId = await manualEvent();
    const ids = await assignMany(eventId, 20);
    const snapshots = app.app.get(QueueSnapshots);
    await get(`${PUB}/queue_num`, { event_id: eventId, request_id: ids[0] });
    // The background loops are not per poll (waiting-costs.e2e-spec.ts counts them apart): stopped for the window.
    const activity = app.app.get(EventActivity);
    const admitter = app.app.get(Admitter);
    await activity.stop();
    await admitter.stop();
    const sample = async () => {
      for (;;) {
        while (snapshots.inFlight > 0) await sleep(5);
        const refreshes = snapshots.refreshes;
        const info = await redis.info('commandstats');
        const calls = new Map([...info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].map(([, c, n]) => [c, Number(n)]));
        if (snapshots.inFlight === 0 && snapshots.refreshes === refreshes) return { calls, refreshes };
      }
    };
    const before = await sample();
    for (let i = 0; i < 1000; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: 50 }, (_, j) => {
          const id = ids[(i + j) % ids.length];
          switch (j % 4) {
            case 0:
              return get(`${PUB}/queue_num`, { event_id: eventId, request_id: id });
            case 1:
              return get(`${PUB}/serving_num`, { event_id: eventId });
            case 2:
              return get(`${PUB}/waiting_num`, { event_id: eventId });
            default:
              return post(`${PUB}/generate_token`, { event_id: eventId, request_id: id });
          }
        }),
      );
      // queue_num and serving_num 13 each, waiting_num 12 (200); generate_token 12 (202, waiting).
      expect(countStatuses(batch)).toEqual({ 200: 38, 202: 12 });
    }
    const after = await sample();
    activity.onApplicationBootstrap();
    admitter.onApplicationBootstrap();
    const refreshes = after.refreshes - before.refreshes;
    const spent = Object.fromEntries([...after.calls].map(([c, n]) => [c, n - (before.calls.get(c) ?? 0)]).filter(([, n]) => n !== 0));
    // Only snapshot refreshes ran (queueHead: EVALSHA with HMGET, XLEN, TIME and the nonce strings' GETRANGEs
    // inside), and INFO itself: none of the 1,000 polls.
    const { evalsha = 0, hmget = 0, xlen = 0, time = 0, getrange = 0, info = 0, hgetall = 0, ...rest } = spent;
    expect({ evalsha, hmget, xlen, time }).toEqual({ evalsha: refreshes, hmget: refreshes, xlen: refreshes, time: refreshes });
    expect(getrange).toBeLessThanOrEqual(4 * refreshes);
    expect(rest).toEqual({});
    expect(info + hgetall).toBeGreaterThan(0);
  });

  it('SigV4 refusals (unsigned, wrong secret, altered body, altered query, 20-minute-old date, host without its port) answer 403 and change nothing', async () => {
    const eventId = await manualEvent();
    await assignMany(eventId, 5);
    const body = { event_id: eventId, increment_by: 2 };
    const before = await keyspaceDigest(redis, eventId);
    const refusals = [
      await app.request('POST', `${PRIV}/increment_serving_counter`, body),
      await privatePost('/increment_serving_counter', body, { secret: 'not-the-secret' }),
      await privatePost('/increment_serving_counter', body, { sendBody: JSON.stringify({ ...body, increment_by: 5 }) }),
      await privatePost('/increment_serving_counter', body, { date: new Date(Date.now() - 20 * 60_000) }),
      await privatePost('/increment_serving_counter', body, { signedHost: '127.0.0.1' }),
      await privateGet('/num_active_tokens', { event_id: eventId }, { sendQuery: { event_id: `${eventId}x` } }),
      await privatePost('/reset_initial_state', { event_id: eventId }, { secret: 'not-the-secret' }),
    ];
    for (const r of refusals) {
      expect({ status: r.status, message: typeof r.body.message }).toEqual({ status: 403, message: 'string' });
      expect(r.headers.get('access-control-allow-origin')).toBe('*');
    }
    expect(await keyspaceDigest(redis, eventId)).toBe(before);
    // Signed right, over host:port: it goes through the port.
    const good = await privatePost('/increment_serving_counter', body);
    expect({ status: good.status, body: good.body }).toEqual({ status: 200, body: { serving_num: 2 } });
    // The same JSON sent as text/plain (AWS's control panel) is read too.
    const text = JSON.stringify({ event_id: eventId, increment_by: 1 });
    const headers = await sign('POST', `${PRIV}/increment_serving_counter`, {}, text, { contentType: 'text/plain' });
    const plain = await app.request('POST', `${PRIV}/increment_serving_counter`, text, headers);
    expect({ status: plain.status, body: plain.body }).toEqual({ status: 200, body: { serving_num: 3 } });
    expect((await privateGet('/num_active_tokens', { event_id: eventId })).body).toEqual({ active_tokens: 3 });
  });

  it('CORS on 200, 202, 400 and 403 answers, and OPTIONS preflights on public and private paths', async () => {
    const eventId = await manualEvent();
    const [id] = await assignMany(eventId, 1);
    const answers = [
      await get(`${PUB}/serving_num`, { event_id: eventId }),
      await get(`${PUB}/queue_pos_expiry`, { event_id: eventId, request_id: id }),
      await get(`${PUB}/queue_num`, { event_id: eventId, request_id: '00000000-0000-0000-0000-000000000000' }),
      await app.request('GET', `${PRIV}/num_active_tokens?event_id=${eventId}`),
    ];
    expect(answers.map((a) => a.status)).toEqual([200, 202, 400, 403]);
    expect(answers[1].body).toEqual({ error: 'Queue position expiration not enabled' });
    expect(answers[2].body).toEqual({ error: 'Invalid request ID' });
    for (const a of answers) expect(a.headers.get('access-control-allow-origin')).toBe('*');
    for (const path of [`${PUB}/assign_queue_num`, `${PUB}/generate_token`, `${PRIV}/increment_serving_counter`, `${PRIV}/anything/else`]) {
      const pre = await app.request('OPTIONS', path, undefined, {
        origin: 'https://shop.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-amz-date,authorization',
      });
      expect(pre.status).toBe(204);
      expect(pre.headers.get('access-control-allow-origin')).toBe('*');
      expect(pre.headers.get('access-control-allow-headers')).toBe('Content-Type, X-Amz-Date, Authorization, X-Api-Key, X-Amz-Security-Token');
      expect(pre.headers.get('access-control-allow-methods')).toContain('POST');
    }
  });

  it('forged or altered request ids are 400; an id of another event too', async () => {
    const eventId = await manualEvent();
    const otherId = await manualEvent();
    const [id] = await assignMany(eventId, 1);
    const [foreign] = await assignMany(otherId, 1);
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === '0' ? '1' : '0') + s.slice(i + 1);
    for (const bad of [flip(id, 0), flip(id, 20), flip(id, 35), id.toUpperCase(), foreign, 'x', '']) {
      const q = await get(`${PUB}/queue_num`, { event_id: eventId, request_id: bad });
      expect({ status: q.status, body: q.body }).toEqual({ status: 400, body: { error: 'Invalid request ID' } });
      const t = await post(`${PUB}/generate_token`, { event_id: eventId, request_id: bad });
      expect({ status: t.status, body: t.body }).toEqual({ status: 400, body: { error: 'Invalid request ID' } });
    }
    expect((await get(`${PUB}/serving_num`, { event_id: 'no such event!' })).status).toBe(400);
    expect((await get(`${PUB}/serving_num`, { event_id: uniqueId('missing') })).body).toEqual({ error: 'Invalid event ID' });
  });

  it('update_session ends the session: generate_token then 410, a second update 404; num_active_tokens and expired_tokens follow the sessions', async () => {
    const eventId = uniqueId('vwr');
    await app.createEvent(eventId, { capacity: 100, admission: { mode: 'manual', sessionTtlSeconds: 2 } });
    const ids = await assignMany(eventId, 4);
    const byNumber = new Map<number, string>();
    for (const id of ids) byNumber.set((await get(`${PUB}/queue_num`, { event_id: eventId, request_id: id })).body.queue_number, id);
    const [a, b, c, d] = [1, 2, 3, 4].map((n) => byNumber.get(n)!);
    expect((await privatePost('/increment_serving_counter', { event_id: eventId, increment_by: 3 })).body).toEqual({ serving_num: 3 });
    await servingAtLeast(eventId, 3);
    for (const id of [a, b, c]) expect((await post(`${PUB}/generate_token`, { event_id: eventId, request_id: id })).status).toBe(200);
    expect((await privateGet('/num_active_tokens', { event_id: eventId })).body).toEqual({ active_tokens: 3 });

    const done = await privatePost('/update_session', { event_id: eventId, request_id: a, status: 1 });
    expect(done.status).toBe(200);
    expect((await privateGet('/num_active_tokens', { event_id: eventId })).body).toEqual({ active_tokens: 2 });
    const over = await post(`${PUB}/generate_token`, { event_id: eventId, request_id: a });
    expect(over.status).toBe(410);
    expect((await privatePost('/update_session', { event_id: eventId, request_id: a, status: -1 })).status).toBe(404);
    expect((await privatePost('/update_session', { event_id: eventId, request_id: d, status: 1 })).status).toBe(404); // still waiting
    expect((await privatePost('/update_session', { event_id: eventId, request_id: b, status: 2 })).status).toBe(400);

    // b and c run out without an update_session: expired_tokens lists them (not a, not d).
    expect((await privateGet('/expired_tokens', { event_id: eventId })).body).toEqual([]);
    await sleep(2300);
    const expired = await privateGet('/expired_tokens', { event_id: eventId });
    expect(expired.status).toBe(200);
    expect([...expired.body].sort()).toEqual([b, c].sort());
    expect((await privateGet('/num_active_tokens', { event_id: eventId })).body).toEqual({ active_tokens: 0 });
    expect((await post(`${PUB}/generate_token`, { event_id: eventId, request_id: b })).status).toBe(410);
  });

  it('private generate_token takes issuer and validity_period; reset_initial_state empties the queue and refuses old ids', async () => {
    const eventId = await manualEvent();
    const [id] = await assignMany(eventId, 1);
    await privatePost('/increment_serving_counter', { event_id: eventId, increment_by: 1 });
    await servingAtLeast(eventId, 1);
    const t = await privatePost('/generate_token', { event_id: eventId, request_id: id, issuer: 'https://other.example', validity_period: 60 });
    expect(t.status).toBe(200);
    const claims = decodeJwt(t.body.access_token);
    expect(claims.iss).toBe('https://other.example');
    expect(claims.exp! - claims.iat!).toBeLessThanOrEqual(60);

    const reset = await privatePost('/reset_initial_state', { event_id: eventId });
    expect({ status: reset.status, message: typeof reset.body.message }).toEqual({ status: 200, message: 'string' });
    await pollUntil(() => get(`${PUB}/serving_num`, { event_id: eventId }), (r) => r.body.serving_counter === '0', { timeoutMs: 5000, intervalMs: 50 });
    expect((await get(`${PUB}/queue_num`, { event_id: eventId, request_id: id })).status).toBe(400);
    const [fresh] = await assignMany(eventId, 1);
    expect((await get(`${PUB}/queue_num`, { event_id: eventId, request_id: fresh })).body.queue_number).toBe(1);
    await pollUntil(() => get(`${PUB}/waiting_num`, { event_id: eventId }), (r) => r.body.waiting_num === 1, { timeoutMs: 5000, intervalMs: 50 });
  });

  it('reset_initial_state is 409 while holds are live, changing nothing', async () => {
    const eventId = uniqueId('vwr');
    await app.createEvent(eventId, { capacity: 10 });
    const joined = await app.request('POST', `/v1/events/${eventId}/queue`, { userId: 'buyer' });
    await app.admitNow(eventId);
    const status = await pollUntil(() => app.request('GET', `/v1/events/${eventId}/queue/${joined.body.ticket}`), (r) => r.body.status === 'admitted', { timeoutMs: 5000, intervalMs: 50 });
    const hold = await app.request('POST', `/v1/events/${eventId}/holds`, { quantity: 1 }, { authorization: `Bearer ${status.value.body.accessToken}` });
    expect(hold.status).toBe(201);
    const before = await keyspaceDigest(redis, eventId);
    const r = await privatePost('/reset_initial_state', { event_id: eventId });
    expect({ status: r.status, error: typeof r.body.error }).toEqual({ status: 409, error: 'string' });
    expect(await keyspaceDigest(redis, eventId)).toBe(before);
  });

  it('reset_initial_state of an unknown event is 400; the compat scripts refuse bad arguments, writing nothing', async () => {
    const missing = uniqueId('missing');
    const r = await privatePost('/reset_initial_state', { event_id: missing });
    expect({ status: r.status, body: r.body }).toEqual({ status: 400, body: { error: 'Invalid event ID' } });
    const scripts = app.app.get(ScriptRegistry);
    const ledger = `qg:{${missing}}:awsvwr:tokens`;
    await expect(scripts.run('tokenLedger', [ledger], ['drop'])).rejects.toThrow(/ERR bad argument op/);
    await expect(scripts.run('tokenLedger', [ledger], ['record', 'id', 'soon'])).rejects.toThrow(/ERR bad argument endMs/);
    await expect(scripts.run('tokenLedger', [ledger], ['record', 'a|b', 1])).rejects.toThrow(/ERR bad argument requestId/);
    expect(await redis.exists(ledger)).toBe(0);
  });

  it('an event whose joins need a challenge refuses assign_queue_num with 400 naming why, changing nothing', async () => {
    const eventId = uniqueId('vwr');
    await app.createEvent(eventId, { capacity: 10, challenge: { difficultyBits: 8 } });
    const before = await keyspaceDigest(redis, eventId);
    const r = await post(`${PUB}/assign_queue_num`, { event_id: eventId });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatch(/challenge/);
    expect(await keyspaceDigest(redis, eventId)).toBe(before);
  });
});

/**
 * Invariant 11 for request ids: after Redis loses recent writes, an id handed
 * out for a lost assign_queue_num is refused (400), never answering with the
 * place (or the tokens) of the later join that reuses its number.
 */
describe('AWS request ids of lost joins (SAVE, assigns, DEBUG RELOAD NOSAVE)', () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let app: TestApp;
  let control: Redis;

  beforeAll(async () => {
    redis = await startRedis(['--appendonly', 'no', '--enable-debug-command', 'yes']);
    control = redis.client();
    app = await startApp({ REDIS_URL: redis.url, AWS_VWR_COMPAT: 'true', AWS_VWR_ISSUER: ISSUER, AWS_VWR_ACCESS_KEYS: `${KEY_ID}:${SECRET}` });
  }, 60_000);
  afterAll(async () => {
    control?.disconnect();
    await app?.close();
    await redis?.cleanup();
  });

  const assign = async (eventId: string, n: number) => {
    const answers = await Promise.all(Array.from({ length: n }, () => app.request('POST', `${PUB}/assign_queue_num`, { event_id: eventId })));
    expect(countStatuses(answers)).toEqual({ 200: n });
    return answers.map((r) => r.body.api_request_id as string);
  };
  const queueNum = (eventId: string, id: string) => app.request('GET', `${PUB}/queue_num?event_id=${eventId}&request_id=${id}`);

  it('the lost ids read 400 while the later joiners\' ids read the same numbers; once admitted only the later ids get tokens', async () => {
    const eventId = uniqueId('vwr-lost');
    await app.createEvent(eventId, { capacity: 100, admission: { mode: 'manual' } });
    await assign(eventId, 3);
    await control.call('SAVE');
    const lost = await assign(eventId, 10);
    const lostNumbers = (await Promise.all(lost.map((id) => queueNum(eventId, id)))).map((r) => r.body.queue_number as number);
    await sleep(700); // a refresh reads their nonces
    await control.call('DEBUG', 'RELOAD', 'NOSAVE');
    const later = await assign(eventId, 10);
    const laterNumbers = (await Promise.all(later.map((id) => queueNum(eventId, id)))).map((r) => r.body.queue_number as number);
    expect(new Set(laterNumbers)).toEqual(new Set(lostNumbers));

    // Once this replica has read the new nonces, every lost id is refused; the later ones keep their numbers.
    await pollUntil(() => Promise.all(lost.map((id) => queueNum(eventId, id))), (rs) => rs.every((r) => r.status === 400), { timeoutMs: 5000, intervalMs: 100 });
    expect(countStatuses(await Promise.all(later.map((id) => queueNum(eventId, id))))).toEqual({ 200: 10 });

    const body = JSON.stringify({ event_id: eventId, increment_by: 13 });
    const signed = await signedHeaders(new URL(app.url).host, 'POST', `${PRIV}/increment_serving_counter`, {}, body, { region: 'us-east-1' });
    const inc = await app.request('POST', `${PRIV}/increment_serving_counter`, body, signed);
    expect({ status: inc.status, body: inc.body }).toEqual({ status: 200, body: { serving_num: 13 } });

    const lostTokens = await Promise.all(lost.map((id) => app.request('POST', `${PUB}/generate_token`, { event_id: eventId, request_id: id })));
    expect(lostTokens.map((r) => ({ status: r.status, body: r.body }))).toEqual(lost.map(() => ({ status: 400, body: { error: 'Invalid request ID' } })));
    const laterTokens = await Promise.all(later.map((id) => app.request('POST', `${PUB}/generate_token`, { event_id: eventId, request_id: id })));
    expect(countStatuses(laterTokens)).toEqual({ 200: 10 });
    laterTokens.forEach((r, i) => expect(decodeJwt(r.body.access_token).sub).toBe(later[i]));
  });
});

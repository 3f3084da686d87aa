import { TestApp, uniqueId } from './support/app-harness';
import { expectError, sleep, ticketSeq } from './support/inspect';
import { pool } from './support/seat-flows';
import { startTopologyApp, stopTopologyApp, Topology, withClient } from './support/topology';

/**
 * CONTRACT "Admission mode" and POST /v1/events/:eventId/admissions: a manual
 * event admits nobody by itself; the admissions call admits exactly the next
 * `count` in line, whatever paused, the rate and maxActive say.
 */
describe('manual admission on single Redis', () => {
  let topology: Topology;
  let app: TestApp;

  beforeAll(async () => {
    ({ topology, app } = await startTopologyApp('single', { REDIS_COMMAND_TIMEOUT_MS: '10000' }));
  }, 60_000);
  afterAll(() => stopTopologyApp(topology, app));

  const activeSeqs = (eventId: string) =>
    withClient(topology, async (c) => (await c.zrange(`qg:{${eventId}}:active`, 0, -1)).map(Number).sort((a, b) => a - b));

  async function joinAll(eventId: string, n: number): Promise<number[]> {
    const seqs = await pool(Array.from({ length: n }, (_, i) => `u${i}`), 20, async (userId) => {
      const r = await app.request('POST', `/v1/events/${eventId}/queue`, { userId });
      if (r.status !== 202) throw new Error(`join ${userId}: ${r.status} ${JSON.stringify(r.body)}`);
      return ticketSeq(r.body.ticket);
    });
    return seqs.sort((a, b) => a - b);
  }

  it('mode manual is shown in the event view, settable by PATCH, and admits nobody by itself (not even passthrough)', async () => {
    const eventId = uniqueId('manual');
    const created = await app.createEvent(eventId, { capacity: 50, admission: { mode: 'manual', ratePerSecond: 1000 }, queueMethod: 'passthrough' });
    expect(created.config.admission.mode).toBe('manual');
    await joinAll(eventId, 5);
    for (let i = 0; i < 3; i += 1) await app.admitNow(eventId);
    await sleep(600); // several admitter ticks of its own
    expect(await activeSeqs(eventId)).toEqual([]);
    const view = await app.request('GET', `/v1/events/${eventId}`);
    expect({ waiting: view.body.waiting, active: view.body.active }).toEqual({ waiting: 5, active: 0 });
    // Told honestly: a place, no ETA from a rate nobody admits at; the queue head says why.
    const ticket = (await app.request('POST', `/v1/events/${eventId}/queue`, { userId: 'sixth' })).body.ticket;
    expect((await app.request('GET', `/v1/events/${eventId}/queue/${ticket}`)).body).toEqual({ status: 'waiting', position: 6 });
    expect((await app.request('GET', `/v1/events/${eventId}/queue`)).body.admissionMode).toBe('manual');

    const patched = await app.admin('PATCH', `/v1/events/${eventId}`, { admission: { mode: 'auto' } });
    expect(patched.body.config.admission.mode).toBe('auto');
    await app.admitNow(eventId);
    expect((await activeSeqs(eventId)).length).toBe(6);
    expect((await app.admin('PATCH', `/v1/events/${eventId}`, { admission: { mode: 'sometimes' } })).status).toBe(400);
  });

  it('admits exactly count in queue order, more than maxActive and while paused; fewer when fewer wait', async () => {
    const eventId = uniqueId('manual');
    await app.createEvent(eventId, { capacity: 500, admission: { mode: 'manual', maxActive: 2, ratePerSecond: 1 } });
    const seqs = await joinAll(eventId, 30);
    expect((await app.admin('PATCH', `/v1/events/${eventId}`, { paused: true })).status).toBe(200);
    const first = await app.admin('POST', `/v1/events/${eventId}/admissions`, { count: 7 });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ admitted: 7, admittedThrough: seqs[6] });
    expect(await activeSeqs(eventId)).toEqual(seqs.slice(0, 7));
    const rest = await app.admin('POST', `/v1/events/${eventId}/admissions`, { count: 1000 });
    expect(rest.body).toEqual({ admitted: 23, admittedThrough: seqs[29] });
    expect(await activeSeqs(eventId)).toEqual(seqs);
    const none = await app.admin('POST', `/v1/events/${eventId}/admissions`, { count: 1 });
    expect(none.body).toEqual({ admitted: 0, admittedThrough: seqs[29] });
  });

  it('a count above one call\'s batch takes several calls and still admits in order, skipping those who left', async () => {
    const eventId = uniqueId('manual');
    await app.createEvent(eventId, { capacity: 1000, admission: { mode: 'manual' } });
    const r = await pool(Array.from({ length: 260 }, (_, i) => `b${i}`), 20, async (userId) => (await app.request('POST', `/v1/events/${eventId}/queue`, { userId })).body.ticket as string);
    const bySeq = r.sort((a, b) => ticketSeq(a) - ticketSeq(b));
    // Ten leave from the front part: they are passed over, not admitted.
    for (const t of bySeq.slice(50, 60)) expect((await app.request('DELETE', `/v1/events/${eventId}/queue/${t}`)).status).toBe(204);
    const res = await app.admin('POST', `/v1/events/${eventId}/admissions`, { count: 240 });
    expect(res.body.admitted).toBe(240);
    const expected = bySeq.filter((_, i) => i < 50 || i >= 60).slice(0, 240).map(ticketSeq);
    expect(await activeSeqs(eventId)).toEqual(expected);
  });

  it('10 concurrent calls of 10 on 50 waiting admit exactly 50, in order, nobody twice', async () => {
    const eventId = uniqueId('manual');
    await app.createEvent(eventId, { capacity: 500, admission: { mode: 'manual' } });
    const seqs = await joinAll(eventId, 50);
    const answers = await Promise.all(Array.from({ length: 10 }, () => app.admin('POST', `/v1/events/${eventId}/admissions`, { count: 10 })));
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
    expect(answers.reduce((sum, a) => sum + a.body.admitted, 0)).toBe(50);
    expect(await activeSeqs(eventId)).toEqual(seqs);
    const sessions = await withClient(topology, (c) => c.hlen(`qg:{${eventId}}:sessions`));
    expect(sessions).toBe(50);
  });

  it('refuses: bad count (400), unknown event (404), no admin token (401), sold out (409 SOLD_OUT), closed (409 QUEUE_CLOSED)', async () => {
    const eventId = uniqueId('manual');
    await app.createEvent(eventId, { capacity: 1, admission: { mode: 'manual' } });
    for (const count of [0, 100001, 1.5, '3']) {
      expectError(await app.admin('POST', `/v1/events/${eventId}/admissions`, { count }), 400, 'VALIDATION');
    }
    expectError(await app.admin('POST', `/v1/events/${eventId}/admissions`, { count: 1, extra: 1 }), 400, 'VALIDATION');
    expectError(await app.request('POST', `/v1/events/${eventId}/admissions`, { count: 1 }), 401, 'UNAUTHORIZED');
    expectError(await app.admin('POST', `/v1/events/${uniqueId('none')}/admissions`, { count: 1 }), 404, 'EVENT_NOT_FOUND');

    const closedId = uniqueId('manual');
    await app.createEvent(closedId, { capacity: 5, admission: { mode: 'manual' }, queueMethod: 'reject' });
    expectError(await app.admin('POST', `/v1/events/${closedId}/admissions`, { count: 1 }), 409, 'QUEUE_CLOSED');

    const soldId = uniqueId('manual');
    await app.createEvent(soldId, { capacity: 1, admission: { mode: 'manual' } });
    const buyer = await app.request('POST', `/v1/events/${soldId}/queue`, { userId: 'buyer' });
    await joinAll(soldId, 1);
    expect((await app.admin('POST', `/v1/events/${soldId}/admissions`, { count: 1 })).body.admitted).toBe(1);
    const token = (await app.request('GET', `/v1/events/${soldId}/queue/${buyer.body.ticket}`)).body.accessToken as string;
    const auth = { authorization: `Bearer ${token}` };
    const hold = await app.request('POST', `/v1/events/${soldId}/holds`, { quantity: 1 }, auth);
    expect(hold.status).toBe(201);
    expect((await app.request('POST', `/v1/events/${soldId}/holds/${hold.body.holdId}/confirm`, {}, auth)).status).toBe(201);
    expectError(await app.admin('POST', `/v1/events/${soldId}/admissions`, { count: 1 }), 409, 'SOLD_OUT');
  });
});

import { TestApp, uniqueId } from './support/app-harness';
import { expectCleanAudit, joinAndAdmit } from './support/flows';
import { startTopologyApp, stopTopologyApp, Topology } from './support/topology';

describe('sale flow: join, admission, hold, confirm, release', () => {
  let topology: Topology;
  let app: TestApp;

  beforeAll(async () => ({ topology, app } = await startTopologyApp('single')));
  afterAll(() => stopTopologyApp(topology, app));

  it.each(['streams', 'zset'])('walks one user through the whole sale on the %s backend', async (queue) => {
    const eventId = uniqueId('flow');
    await app.createEvent(eventId, { capacity: 10, queue, admission: { ratePerSecond: 100 } });
    const user = await joinAndAdmit(app, eventId, 'alice');

    const hold = await app.request('POST', `/v1/events/${eventId}/holds`, { seatIds: ['GA-1', 'GA-2'] }, user.auth);
    expect(hold.status).toBe(201);
    expect(hold.body.seatIds).toEqual(['GA-1', 'GA-2']);
    expect(Date.parse(hold.body.expiresAt)).toBeGreaterThan(Date.now());

    let view = await app.request('GET', `/v1/events/${eventId}`);
    expect(view.body).toMatchObject({ capacity: 10, available: 8, held: 2, sold: 0 });

    const confirm = await app.request('POST', `/v1/events/${eventId}/holds/${hold.body.holdId}/confirm`, { paymentRef: 'pay-1' }, user.auth);
    expect(confirm.status).toBe(201);
    expect(confirm.body.seatIds).toEqual(['GA-1', 'GA-2']);
    const again = await app.request('POST', `/v1/events/${eventId}/holds/${hold.body.holdId}/confirm`, {}, user.auth);
    expect(again.status).toBe(200);
    expect(again.body.orderId).toBe(confirm.body.orderId);

    const second = await app.request('POST', `/v1/events/${eventId}/holds`, { quantity: 2 }, user.auth);
    expect(second.status).toBe(201);
    expect(second.body.seatIds).toEqual(['GA-3', 'GA-4']);
    const released = await app.request('DELETE', `/v1/events/${eventId}/holds/${second.body.holdId}`, undefined, user.auth);
    expect(released.status).toBe(204);

    view = await app.request('GET', `/v1/events/${eventId}`);
    expect(view.body).toMatchObject({ available: 8, held: 0, sold: 2 });
    const seats = await app.request('GET', `/v1/events/${eventId}/seats?status=sold`);
    expect(seats.body.seats).toEqual([
      { seatId: 'GA-1', status: 'sold', priceLevel: 'GA' },
      { seatId: 'GA-2', status: 'sold', priceLevel: 'GA' },
    ]);
    const client = topology.client();
    const orders = await client.xrange(`qg:{${eventId}}:orders`, '-', '+');
    await client.quit();
    expect(orders).toHaveLength(1);
    expect(orders[0][1]).toEqual(expect.arrayContaining(['orderId', confirm.body.orderId, 'userId', 'alice', 'paymentRef', 'pay-1']));
    await expectCleanAudit(app, eventId);
  });
});

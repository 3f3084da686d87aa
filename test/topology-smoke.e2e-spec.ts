import { TestApp, uniqueId } from './support/app-harness';
import { expectCleanAudit, joinAndAdmit } from './support/flows';
import { startTopologyApp, stopTopologyApp, Topology, TOPOLOGIES } from './support/topology';

describe.each(TOPOLOGIES)('on %s Redis', (name) => {
  let topology: Topology;
  let app: TestApp;

  beforeAll(async () => ({ topology, app } = await startTopologyApp(name)), 60_000);
  afterAll(() => stopTopologyApp(topology, app));

  it('serves a hold and confirm on events spread over the masters', async () => {
    for (const queue of ['streams', 'zset']) {
      const eventId = uniqueId(`topo-${queue}`);
      await app.createEvent(eventId, { capacity: 5, queue, admission: { ratePerSecond: 100 } });
      const user = await joinAndAdmit(app, eventId, 'u1');
      const hold = await app.request('POST', `/v1/events/${eventId}/holds`, { quantity: 2 }, user.auth);
      expect(hold.status).toBe(201);
      const confirm = await app.request('POST', `/v1/events/${eventId}/holds/${hold.body.holdId}/confirm`, {}, user.auth);
      expect(confirm.status).toBe(201);
      await expectCleanAudit(app, eventId);
    }
  });
});

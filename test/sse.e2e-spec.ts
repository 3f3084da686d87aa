import { QueueRepository } from '../src/queue/queue.repository';
import { SNAPSHOT_IDLE_MS } from '../src/queue/queue-snapshots';
import { STREAM_MIN_GAP_MS as WATCH_POLL_MS } from '../src/queue/queue-status.service';
import { startApp, TestApp, uniqueId } from './support/app-harness';
import { waitForAdmission } from './support/flows';
import { BUSY_MACHINE_MARGIN_MS, expectError, pollUntil, sleep } from './support/inspect';
import { startRedis } from './support/redis-harness';
import { openSse, SseStream } from './support/sse-client';
import { startTopologyApp, stopTopologyApp, Topology, TOPOLOGIES } from './support/topology';

/**
 * GET /v1/events/:eventId/queue/:ticket/events (CONTRACT §3): the ticket
 * status as Server-Sent Events, on real Redis, read by a real streaming
 * HTTP client that records when each frame arrived.
 */

describe.each(TOPOLOGIES)('ticket status stream (SSE) on %s Redis', (name) => {
  let topology: Topology;
  let app: TestApp;

  beforeAll(async () => ({ topology, app } = await startTopologyApp(name)), 60_000);
  afterAll(() => stopTopologyApp(topology, app));

  const streamsOpen: SseStream[] = [];
  afterEach(() => streamsOpen.splice(0).forEach((s) => s.close()));

  /** An event whose admission is paused, so positions move only when a test moves them. */
  async function pausedEvent(admission = { ratePerSecond: 100, maxActive: 100, sessionTtlSeconds: 60 }): Promise<string> {
    const eventId = uniqueId('sse');
    await app.createEvent(eventId, { capacity: 10, admission });
    expect((await app.admin('PATCH', `/v1/events/${eventId}`, { paused: true })).status).toBe(200);
    return eventId;
  }

  async function join(eventId: string, userId: string): Promise<string> {
    const r = await app.request('POST', `/v1/events/${eventId}/queue`, { userId });
    expect(r.status).toBe(202);
    return r.body.ticket;
  }

  /** Opens the stream on a connection of its own (no agent), so that close() really closes the socket. */
  async function open(eventId: string, ticket: string): Promise<SseStream> {
    const stream = await openSse(`${app.url}/v1/events/${eventId}/queue/${ticket}/events`, false);
    expect(stream.status).toBe(200);
    streamsOpen.push(stream);
    return stream;
  }

  async function admit(eventId: string): Promise<void> {
    expect((await app.admin('PATCH', `/v1/events/${eventId}`, { paused: false })).status).toBe(200);
    await app.admitNow(eventId);
  }

  it('answers 200 text/event-stream and sends the same JSON as GET at once', async () => {
    const eventId = await pausedEvent();
    await join(eventId, 'first');
    const ticket = await join(eventId, 'second');
    const stream = await open(eventId, ticket);
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(stream.headers.get('cache-control')).toContain('no-cache');
    await stream.until((s) => s.dataFrames.length >= 1, 2000, 'the first frame');
    const get = await app.request('GET', `/v1/events/${eventId}/queue/${ticket}`);
    expect(stream.dataFrames[0].data).toEqual(get.body);
    expect(stream.dataFrames[0].data).toEqual({ status: 'waiting', position: 2, etaSeconds: expect.any(Number) });
    // With the headers, not after a re-read: timed from the headers' arrival, so
    // a slow connect on a busy machine does not count; half a period apart at most.
    expect(stream.dataFrames[0].at - stream.openedAt).toBeLessThan(WATCH_POLL_MS / 2);
    // Nothing changes while admission is paused: no second frame, stream still open.
    await sleep(2.5 * WATCH_POLL_MS);
    expect(stream.dataFrames).toHaveLength(1);
    expect(stream.ended).toBe(false);
  });

  it('sends a frame when the position changes, then the admitted frame, then ends; at most one frame a second', async () => {
    // maxActive 1: the user ahead is admitted alone, and 'me' only once that session ends.
    const eventId = await pausedEvent({ ratePerSecond: 100, maxActive: 1, sessionTtlSeconds: 60 });
    const ahead = await join(eventId, 'ahead');
    const ticket = await join(eventId, 'me');
    const stream = await open(eventId, ticket);
    await stream.until((s) => s.dataFrames.length >= 1, 2000, 'the first frame');
    expect(stream.dataFrames[0].data.position).toBe(2);

    await admit(eventId);
    await stream.until((s) => s.dataFrames.some((f) => f.data.position === 1), 3 * WATCH_POLL_MS, 'the position 1 frame');
    expect(stream.ended).toBe(false);

    expect((await app.request('DELETE', `/v1/events/${eventId}/queue/${ahead}`)).status).toBe(204); // ends that session
    await app.admitNow(eventId);
    await stream.until((s) => s.ended, 3 * WATCH_POLL_MS, 'the admitted frame and the end of the stream');
    const last = stream.dataFrames[stream.dataFrames.length - 1].data;
    expect(last).toEqual({ status: 'admitted', accessToken: expect.any(String), accessExpiresAt: expect.any(String) });
    // The token works on the seat routes.
    const hold = await app.request('POST', `/v1/events/${eventId}/holds`, { quantity: 1 }, { authorization: `Bearer ${last.accessToken}` });
    expect(hold.status).toBe(201);

    const frames = stream.dataFrames;
    expect(frames.map((f) => f.data.status)).toEqual([...frames.slice(0, -1).map(() => 'waiting'), 'admitted']);
    for (let i = 1; i < frames.length; i += 1) {
      expect(frames[i].data).not.toEqual(frames[i - 1].data); // only changes are sent
      // At most 1 per second; a frame delayed on its way in (busy machine) shortens the gap after it.
      expect(frames[i].at - frames[i - 1].at).toBeGreaterThan(WATCH_POLL_MS - BUSY_MACHINE_MARGIN_MS);
    }
  });

  it('ends at once with the admitted frame when the ticket is already admitted', async () => {
    const eventId = await pausedEvent();
    const ticket = await join(eventId, 'early');
    expect((await app.admin('PATCH', `/v1/events/${eventId}`, { paused: false })).status).toBe(200);
    await waitForAdmission(app, eventId, ticket);
    const stream = await open(eventId, ticket);
    await stream.until((s) => s.ended, 2000, 'the end of the stream');
    expect(stream.dataFrames.map((f) => f.data.status)).toEqual(['admitted']);
  });

  it('answers 404 TICKET_NOT_FOUND as a JSON error, before any stream, for an unknown or malformed ticket', async () => {
    const eventId = await pausedEvent();
    const real = await join(eventId, 'someone');
    const forged = real.replace(/\.(.)/, (_m, c: string) => `.${c === 'A' ? 'B' : 'A'}`); // same seq, wrong secret
    for (const ticket of ['s999999.AAAAAAAAAAAAAAAAAAAAAA', '999999.AAAAAAAAAAAAAAAAAAAAAA', forged, 'not-a-ticket']) {
      const r = await openSse(`${app.url}/v1/events/${eventId}/queue/${ticket}/events`, false);
      expect(r.headers.get('content-type')).toMatch(/^application\/json/);
      expectError({ status: r.status, body: r.body, headers: r.headers, ms: 0 }, 404, 'TICKET_NOT_FOUND');
    }
  });

  it('sends an event: failure frame and ends when the ticket leaves the queue mid-stream', async () => {
    const eventId = await pausedEvent();
    const ticket = await join(eventId, 'leaver');
    const stream = await open(eventId, ticket);
    await stream.until((s) => s.dataFrames.length >= 1, 2000, 'the first frame');
    expect((await app.request('DELETE', `/v1/events/${eventId}/queue/${ticket}`)).status).toBe(204);
    await stream.until((s) => s.ended, 3 * WATCH_POLL_MS, 'the end of the stream');
    const failure = stream.frames.find((f) => f.event === 'failure');
    expect(failure?.data).toEqual(expect.objectContaining({ statusCode: 404, code: 'TICKET_NOT_FOUND' }));
  });

  it('stops refreshing the event once its last stream closed and nobody asks about it', async () => {
    const eventId = await pausedEvent();
    const ticket = await join(eventId, 'quitter');
    const heads = jest.spyOn(app.app.get(QueueRepository), 'queueHead');
    const refreshes = () => heads.mock.calls.filter(([e]) => e === eventId).length;
    try {
      const stream = await open(eventId, ticket);
      await stream.until((s) => s.dataFrames.length >= 1, 2000, 'the first frame');
      // The open stream keeps the event's snapshot refreshed (waited for, not timed: a busy machine may be late).
      await pollUntil(async () => refreshes(), (n) => n >= 3, { timeoutMs: 10 * WATCH_POLL_MS, intervalMs: 50 });

      stream.close();
      // Then nobody asks for SNAPSHOT_IDLE_MS; a refresh already under way may still finish.
      await sleep(SNAPSHOT_IDLE_MS + WATCH_POLL_MS + BUSY_MACHINE_MARGIN_MS);
      const atIdle = refreshes();
      await sleep(3 * WATCH_POLL_MS);
      expect(refreshes()).toBe(atIdle);
    } finally {
      heads.mockRestore();
    }
  }, 30_000);
});

describe('ticket status stream (SSE): heartbeat and shutdown', () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.cleanup();
  });

  async function waitingTicket(app: TestApp): Promise<{ eventId: string; ticket: string }> {
    const eventId = uniqueId('sse-hb');
    await app.createEvent(eventId, { capacity: 10 });
    expect((await app.admin('PATCH', `/v1/events/${eventId}`, { paused: true })).status).toBe(200);
    const joined = await app.request('POST', `/v1/events/${eventId}/queue`, { userId: 'waiter' });
    return { eventId, ticket: joined.body.ticket };
  }

  it('sends a `: ping` comment every 15 s while nothing changes', async () => {
    const app = await startApp({ REDIS_URL: redis.url });
    try {
      const { eventId, ticket } = await waitingTicket(app);
      const stream = await openSse(`${app.url}/v1/events/${eventId}/queue/${ticket}/events`, false);
      try {
        await stream.until((s) => s.frames.some((f) => f.comment === 'ping'), 20_000, 'a heartbeat');
        const ping = stream.frames.find((f) => f.comment === 'ping')!;
        expect(ping.at - stream.startedAt).toBeGreaterThan(14_000);
        expect(stream.dataFrames).toHaveLength(1);
      } finally {
        stream.close();
      }
    } finally {
      await app.close();
    }
  }, 30_000);

  it('ends open streams when the app shuts down, so closing does not wait for them', async () => {
    const app = await startApp({ REDIS_URL: redis.url });
    const { eventId, ticket } = await waitingTicket(app);
    const stream = await openSse(`${app.url}/v1/events/${eventId}/queue/${ticket}/events`, false);
    await stream.until((s) => s.dataFrames.length >= 1, 2000, 'the first frame');
    const started = performance.now();
    await app.close();
    // Without ending them, closing would wait for the streams forever; 5 s leaves room for a busy machine.
    expect(performance.now() - started).toBeLessThan(5000);
    await stream.until((s) => s.ended, 2000, 'the end of the stream');
  });
});

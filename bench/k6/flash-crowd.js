// k6 load test of a deployed queuegate: a flash crowd of buyers, each one
//   join the queue -> poll until admitted -> hold seats -> confirm (buy) or abandon (release).
//
//   k6 run -e BASE_URL=https://queue.example.com -e EVENT_ID=concert-2026 bench/k6/flash-crowd.js
//
// Every knob is an environment variable (k6 -e NAME=value); see bench/README.md.
// Only point it at a service you own: it creates real tickets, holds and orders.
import http from 'k6/http';
import exec from 'k6/execution';
import { check, sleep } from 'k6';
import { Counter, Rate, Trend } from 'k6/metrics';

const env = (name, fallback) => (__ENV[name] === undefined || __ENV[name] === '' ? fallback : __ENV[name]);
const num = (name, fallback) => Number(env(name, fallback));

const BASE_URL = env('BASE_URL', 'http://127.0.0.1:3000').replace(/\/+$/, '');
const EVENT_ID = env('EVENT_ID', '');
/** arrivals of new buyers per second at the plateau */
const RATE = num('RATE', 50);
const RAMP = env('RAMP', '30s');
const PLATEAU = env('PLATEAU', '2m');
const MAX_VUS = num('MAX_VUS', 5000);
/** seats per hold ({ quantity }) */
const QUANTITY = num('QUANTITY', 1);
/** share of buyers who confirm; the others release their hold (abandon) */
const CONFIRM_RATIO = num('CONFIRM_RATIO', 0.7);
/** a buyer gives up waiting for admission after this many seconds */
const ADMISSION_TIMEOUT = num('ADMISSION_TIMEOUT', 300);
/** bounds of the pause between two polls (s); the service's etaSeconds picks a value in between */
const POLL_MIN = num('POLL_MIN', 1);
const POLL_MAX = num('POLL_MAX', 10);
/** seconds a buyer "thinks" between hold and confirm */
const THINK = num('THINK', 2);
/** with ADMIN_TOKEN set and CREATE_EVENT=1, setup() creates the event (capacity CAPACITY) */
const ADMIN_TOKEN = env('ADMIN_TOKEN', '');
const CREATE_EVENT = env('CREATE_EVENT', '0') === '1';
const CAPACITY = num('CAPACITY', 10000);

const queueWait = new Trend('queue_wait', true);
const admitted = new Counter('buyers_admitted');
const admissionTimeouts = new Counter('admission_timeouts');
const duplicates = new Counter('join_duplicates');
const holdsOk = new Rate('hold_success');
const soldOut = new Counter('sold_out');
const orders = new Counter('orders');
const abandoned = new Counter('abandoned_holds');

// Business answers (409 DUPLICATE, SEAT_UNAVAILABLE, SOLD_OUT, LIMIT_EXCEEDED) are expected, not failures.
const expectedOr409 = http.expectedStatuses({ min: 200, max: 299 }, 409);
const expected2xx = http.expectedStatuses({ min: 200, max: 299 });

export const options = {
  scenarios: {
    flash_crowd: {
      executor: 'ramping-arrival-rate',
      startRate: 0,
      timeUnit: '1s',
      preAllocatedVUs: Math.min(MAX_VUS, Math.max(10, RATE * 10)),
      maxVUs: MAX_VUS,
      stages: [
        { duration: RAMP, target: RATE },
        { duration: PLATEAU, target: RATE },
        { duration: '10s', target: 0 },
      ],
      // A buyer may still be waiting in the queue when arrivals stop.
      gracefulStop: `${ADMISSION_TIMEOUT + 60}s`,
    },
  },
  thresholds: {
    http_req_failed: ['rate<0.01'],
    'http_req_duration{name:join}': ['p(99)<500'],
    'http_req_duration{name:poll}': ['p(99)<300'],
    'http_req_duration{name:hold}': ['p(99)<500'],
    'http_req_duration{name:confirm}': ['p(99)<500'],
    checks: ['rate>0.99'],
  },
};

const json = (extra = {}) => ({ headers: { 'content-type': 'application/json', ...extra } });

export function setup() {
  if (!EVENT_ID) exec.test.abort('set EVENT_ID (k6 run -e EVENT_ID=...)');
  if (CREATE_EVENT) {
    if (!ADMIN_TOKEN) exec.test.abort('CREATE_EVENT=1 needs ADMIN_TOKEN');
    const r = http.post(
      `${BASE_URL}/v1/events`,
      JSON.stringify({ eventId: EVENT_ID, capacity: CAPACITY, maxSeatsPerUser: Math.max(QUANTITY, 1) }),
      { ...json({ authorization: `Bearer ${ADMIN_TOKEN}` }), tags: { name: 'create-event' }, responseCallback: expectedOr409 },
    );
    if (r.status !== 201 && r.status !== 409) exec.test.abort(`creating ${EVENT_ID}: ${r.status} ${r.body}`);
  }
  const view = http.get(`${BASE_URL}/v1/events/${EVENT_ID}`, { tags: { name: 'event' } });
  if (view.status !== 200) exec.test.abort(`GET /v1/events/${EVENT_ID}: ${view.status} ${view.body}`);
  // userIds of this run never collide with an earlier run's.
  return { runId: Date.now().toString(36) };
}

export default function (data) {
  const userId = `k6-${data.runId}-${exec.scenario.iterationInTest}`;
  const base = `${BASE_URL}/v1/events/${EVENT_ID}`;

  // 1. join
  const joined = http.post(`${base}/queue`, JSON.stringify({ userId }), { ...json(), tags: { name: 'join' }, responseCallback: expectedOr409 });
  if (joined.status === 409) {
    duplicates.add(1);
    return;
  }
  if (!check(joined, { 'join: 202 with a ticket': (r) => r.status === 202 && typeof r.json('ticket') === 'string' })) return;
  const ticket = joined.json('ticket');

  // 2. poll until admitted (bounded by ADMISSION_TIMEOUT), pacing by the service's etaSeconds
  const started = Date.now();
  let token = null;
  while (Date.now() - started < ADMISSION_TIMEOUT * 1000) {
    const r = http.get(`${base}/queue/${ticket}`, { tags: { name: 'poll' }, responseCallback: expected2xx });
    if (!check(r, { 'poll: 200': (x) => x.status === 200 })) return;
    if (r.json('status') === 'admitted') {
      token = r.json('accessToken');
      break;
    }
    const eta = Number(r.json('etaSeconds')) || POLL_MIN;
    sleep(Math.min(POLL_MAX, Math.max(POLL_MIN, eta / 2)) * (0.8 + Math.random() * 0.4));
  }
  if (!token) {
    admissionTimeouts.add(1);
    http.del(`${base}/queue/${ticket}`, null, { tags: { name: 'leave' }, responseCallback: expected2xx });
    return;
  }
  queueWait.add(Date.now() - started);
  admitted.add(1);
  const auth = { authorization: `Bearer ${token}` };

  // 3. hold (the Idempotency-Key makes a retried request safe)
  const hold = http.post(`${base}/holds`, JSON.stringify({ quantity: QUANTITY }), {
    ...json({ ...auth, 'idempotency-key': `${userId}-hold` }),
    tags: { name: 'hold' },
    responseCallback: expectedOr409,
  });
  holdsOk.add(hold.status === 201);
  if (hold.status === 409) {
    if (hold.json('code') === 'SOLD_OUT') soldOut.add(1);
    return;
  }
  if (!check(hold, { 'hold: 201 with a holdId': (r) => r.status === 201 && typeof r.json('holdId') === 'string' })) return;
  const holdId = hold.json('holdId');

  sleep(THINK * (0.5 + Math.random()));

  // 4. confirm, or abandon the hold
  if (Math.random() < CONFIRM_RATIO) {
    const order = http.post(`${base}/holds/${holdId}/confirm`, JSON.stringify({ paymentRef: `k6-${userId}` }), {
      ...json({ ...auth, 'idempotency-key': `${userId}-confirm` }),
      tags: { name: 'confirm' },
      responseCallback: expected2xx,
    });
    if (check(order, { 'confirm: 201 with an orderId': (r) => r.status === 201 && typeof r.json('orderId') === 'string' })) orders.add(1);
  } else {
    const released = http.del(`${base}/holds/${holdId}`, null, { headers: auth, tags: { name: 'release' }, responseCallback: expected2xx });
    if (check(released, { 'release: 204': (r) => r.status === 204 })) abandoned.add(1);
  }
}

import { TestApp } from './app-harness';

export interface Admitted {
  userId: string;
  ticket: string;
  token: string;
  auth: Record<string, string>;
}

/** Joins, runs admission ticks until this user is admitted, and returns the access token. */
export async function joinAndAdmit(app: TestApp, eventId: string, userId: string): Promise<Admitted> {
  const joined = await app.request('POST', `/v1/events/${eventId}/queue`, { userId });
  if (joined.status !== 202) throw new Error(`join ${userId}: ${joined.status} ${JSON.stringify(joined.body)}`);
  const ticket = joined.body.ticket as string;
  return { userId, ticket, ...(await waitForAdmission(app, eventId, ticket)) };
}

export async function waitForAdmission(app: TestApp, eventId: string, ticket: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const r = await app.request('GET', `/v1/events/${eventId}/queue/${ticket}`);
    if (r.status === 200 && r.body.status === 'admitted') {
      const token = r.body.accessToken as string;
      return { token, auth: { authorization: `Bearer ${token}` } };
    }
    if (r.status !== 200) throw new Error(`ticket ${ticket}: ${r.status} ${JSON.stringify(r.body)}`);
    await app.admitNow(eventId);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`ticket ${ticket} was not admitted within ${timeoutMs} ms`);
}

/** Admits many users in parallel (bounded), in join order. */
export async function admitMany(app: TestApp, eventId: string, userIds: string[], parallel = 50): Promise<Admitted[]> {
  const out: Admitted[] = new Array(userIds.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(parallel, userIds.length) }, async () => {
      while (next < userIds.length) {
        const i = next++;
        out[i] = await joinAndAdmit(app, eventId, userIds[i]);
      }
    }),
  );
  return out;
}

/** Asserts the event's audit is clean and returns it. */
export async function expectCleanAudit(app: TestApp, eventId: string) {
  const audit = await app.admin('GET', `/v1/events/${eventId}/audit`);
  expect(audit.status).toBe(200);
  expect(audit.body.mismatches).toEqual([]);
  expect(audit.body.ok).toBe(true);
  const view = await app.request('GET', `/v1/events/${eventId}`);
  expect(view.body.available + view.body.held + view.body.sold).toBe(view.body.capacity);
  expect(audit.body.recount).toEqual({ available: view.body.available, held: view.body.held, sold: view.body.sold });
  return audit.body;
}

/** A small venue of two price levels: section S1 (level A) and S2 (level B), one row each of the given sizes. */
export function twoLevelLayout(seatsA: number, seatsB: number) {
  return {
    priceLevels: [{ priceLevel: 'A', price: 90, currency: 'EUR' }, { priceLevel: 'B', price: 40, currency: 'EUR' }],
    sections: [
      { sectionId: 'S1', priceLevel: 'A', rows: [{ rowId: '1', seats: seatsA }] },
      { sectionId: 'S2', priceLevel: 'B', rows: [{ rowId: '1', seats: seatsB }] },
    ],
  };
}

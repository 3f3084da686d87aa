import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApp } from '../../src/app.factory';
import { Admitter } from '../../src/queue/admitter';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';
export const ACCESS_TOKEN_SECRET = 'test-access-secret-0123456789abcdef0123456789';

export interface HttpResult<T = any> {
  status: number;
  body: T;
  headers: Headers;
  /** as the test saw it: from sending the request to reading the whole answer */
  ms: number;
  /** as the service saw it: Fastify's elapsed time from the request's arrival to its answer being sent */
  serverMs?: number;
}

/** A running queuegate (in this process, on a free port) and a small HTTP client for it. */
export class TestApp {
  constructor(
    readonly app: NestFastifyApplication,
    readonly url: string,
    /** Fastify's elapsedTime by request id, filled by an onResponse hook (see startApp); read once by request(). */
    private readonly serverMs = new Map<string, number>(),
  ) {}

  async request<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpResult<T>> {
    const started = performance.now();
    const response = await fetch(this.url + path, {
      method,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON: keep the text */
    }
    const ms = performance.now() - started;
    const requestId = response.headers.get('x-request-id') ?? '';
    // onResponse runs once the answer is written, which can be a tick after the client read it.
    if (!this.serverMs.has(requestId)) await new Promise((r) => setImmediate(r));
    const serverMs = this.serverMs.get(requestId);
    this.serverMs.delete(requestId);
    return { status: response.status, body: parsed as T, headers: response.headers, ms, serverMs };
  }

  admin<T = any>(method: string, path: string, body?: unknown): Promise<HttpResult<T>> {
    return this.request<T>(method, path, body, { authorization: `Bearer ${ADMIN_TOKEN}` });
  }

  /** Creates an event (admin) and fails the test when that does not answer 201. */
  async createEvent(eventId: string, extra: Record<string, unknown> = { capacity: 100 }): Promise<any> {
    const r = await this.admin('POST', '/v1/events', { eventId, ...extra });
    if (r.status !== 201) throw new Error(`creating ${eventId}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }

  /** Runs one admission tick for an event now, instead of waiting for the timer. */
  admitNow(eventId: string): Promise<number> {
    return this.app.get(Admitter).admit(eventId);
  }

  close(): Promise<void> {
    return this.app.close();
  }
}

/**
 * Boots the real app with `env` on top of test defaults. process.env is only
 * changed while the app is built (config is read then) and restored after.
 */
export async function startApp(env: Record<string, string>, options: { luaDir?: string } = {}): Promise<TestApp> {
  const saved = { ...process.env };
  Object.assign(process.env, {
    NODE_ENV: 'test',
    ADMIN_TOKEN,
    ACCESS_TOKEN_SECRET,
    LOG_LEVEL: 'error',
    LOG_FORMAT: 'json',
    ...env,
  });
  try {
    const app = await createApp({ luaDir: options.luaDir });
    const serverMs = new Map<string, number>();
    app
      .getHttpAdapter()
      .getInstance()
      .addHook('onResponse', (request, reply, done) => {
        if (serverMs.size > 10_000) serverMs.clear(); // answers nobody asked about (other clients)
        serverMs.set(String(request.id), reply.elapsedTime);
        done();
      });
    try {
      await app.listen({ port: 0, host: '127.0.0.1' });
    } catch (err) {
      // A failed boot (a script that does not compile, Redis away) would
      // otherwise leave its Redis client reconnecting and Jest hanging.
      await app.close().catch(() => undefined);
      throw err;
    }
    const { port } = app.getHttpServer().address() as { port: number };
    return new TestApp(app, `http://127.0.0.1:${port}`, serverMs);
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}

/** Counts outcomes by status code: { 202: 1, 409: 99 }. */
export function countStatuses(results: { status: number }[]): Record<number, number> {
  return results.reduce<Record<number, number>>((acc, r) => ((acc[r.status] = (acc[r.status] ?? 0) + 1), acc), {});
}

let counter = 0;
/** A fresh id per test, so suites never share an event. */
export const uniqueId = (prefix: string) => `${prefix}-${process.pid}-${Date.now().toString(36)}-${(counter += 1)}`;

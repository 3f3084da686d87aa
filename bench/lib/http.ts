import { ADMIN_TOKEN } from './config';

export interface Reply<T = any> {
  status: number;
  body: T;
}

/** A small JSON client for set-up and audit requests (not for load: autocannon does that). */
export class Client {
  constructor(readonly baseUrl: string) {}

  async request<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply<T>> {
    const response = await fetch(this.baseUrl + path, {
      method,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON */
    }
    return { status: response.status, body: parsed as T };
  }

  admin<T = any>(method: string, path: string, body?: unknown): Promise<Reply<T>> {
    return this.request<T>(method, path, body, { authorization: `Bearer ${ADMIN_TOKEN}` });
  }

  /** Like admin(), but throws unless the status is `expected`. */
  async adminExpect<T = any>(expected: number, method: string, path: string, body?: unknown): Promise<T> {
    const r = await this.admin<T>(method, path, body);
    if (r.status !== expected) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }
}

/** Runs `work(i)` for i in 0..count-1 with at most `parallel` at once; results in order. */
export async function inParallel<T>(count: number, parallel: number, work: (i: number) => Promise<T>): Promise<T[]> {
  const out = new Array<T>(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(parallel, count) }, async () => {
      while (next < count) {
        const i = next++;
        out[i] = await work(i);
      }
    }),
  );
  return out;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

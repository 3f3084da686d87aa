/** HTTP to the service over a bounded keep-alive pool, recording every answer's latency and status. */
import { Agent, request } from 'node:http';

export interface Answer {
  status: number;
  body: any;
}

/** At most `permits` requests in flight; the rest wait in arrival order. */
class Semaphore {
  private waiting: (() => void)[] = [];
  private head = 0;

  constructor(private permits: number) {}

  async acquire(): Promise<void> {
    if (this.permits > 0) {
      this.permits -= 1;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    if (this.head < this.waiting.length) {
      const next = this.waiting[this.head];
      this.head += 1;
      if (this.head > 4096 && this.head * 2 > this.waiting.length) {
        this.waiting = this.waiting.slice(this.head);
        this.head = 0;
      }
      next();
    } else {
      this.permits += 1;
    }
  }

  get queued(): number {
    return this.waiting.length - this.head;
  }
}

export class Http {
  readonly latency = new Map<string, number[]>();
  readonly statuses = new Map<string, Map<string, number>>();
  requests = 0;
  private readonly agent: Agent;
  private readonly gate: Semaphore;
  private readonly host: string;
  private readonly port: number;

  constructor(base: string, connections: number) {
    const url = new URL(base);
    if (url.protocol !== 'http:') throw new Error(`only http:// URLs are supported (got ${base})`);
    this.host = url.hostname;
    this.port = Number(url.port || 80);
    this.agent = new Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections });
    this.gate = new Semaphore(connections);
  }

  get queued(): number {
    return this.gate.queued;
  }

  /** One request; `endpoint` names it in the latency table. Never throws: a network error is status 0. */
  async call(endpoint: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
    await this.gate.acquire();
    const started = performance.now();
    try {
      const answer = await this.send(method, path, body, headers);
      this.record(endpoint, answer, performance.now() - started);
      return answer;
    } finally {
      this.gate.release();
    }
  }

  close(): void {
    this.agent.destroy();
  }

  private record(endpoint: string, answer: Answer, ms: number): void {
    this.requests += 1;
    let list = this.latency.get(endpoint);
    if (!list) this.latency.set(endpoint, (list = []));
    list.push(ms);
    let counts = this.statuses.get(endpoint);
    if (!counts) this.statuses.set(endpoint, (counts = new Map()));
    const key = answer.status >= 400 || answer.status === 0 ? `${answer.status} ${answer.body?.code ?? ''}`.trim() : String(answer.status);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }

  private send(method: string, path: string, body: unknown, headers: Record<string, string>): Promise<Answer> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve) => {
      const req = request(
        {
          agent: this.agent,
          host: this.host,
          port: this.port,
          method,
          path,
          headers: payload ? { 'content-type': 'application/json', 'content-length': payload.length, ...headers } : headers,
          timeout: 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              parsed = text;
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
          res.on('error', (err) => resolve({ status: 0, body: { code: 'NETWORK', message: err.message } }));
        },
      );
      req.on('timeout', () => req.destroy(new Error('timed out after 30 s')));
      req.on('error', (err) => resolve({ status: 0, body: { code: 'NETWORK', message: err.message } }));
      req.end(payload);
    });
  }
}

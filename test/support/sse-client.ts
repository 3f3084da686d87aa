import { Agent, get } from 'node:http';

/**
 * The one Server-Sent Events reader of the tests: a real streaming HTTP client
 * (node:http) that records every frame with its arrival time, its event name,
 * its `:` comment, and whether the server ended the stream. Lean enough for
 * suites that open thousands of streams at once.
 */
export interface SseFrame {
  /** performance.now() when the frame arrived */
  at: number;
  event?: string;
  data?: any;
  comment?: string;
}

/** An open event stream: frames as they arrive, and whether the server ended it. */
export class SseStream {
  readonly frames: SseFrame[] = [];
  ended = false;
  /** the JSON body of an answer other than 200 (no stream then) */
  body?: any;
  private waiters: (() => void)[] = [];

  constructor(
    readonly status: number,
    readonly headers: Headers,
    /** closes this stream's socket, as a browser tab closing would */
    readonly close: () => void,
    /** performance.now() when the request was sent */
    readonly startedAt: number,
    /** performance.now() when the headers arrived */
    readonly openedAt: number,
  ) {}

  push(frame: SseFrame): void {
    this.frames.push(frame);
    this.wake();
  }

  end(): void {
    this.ended = true;
    this.wake();
  }

  private wake(): void {
    this.waiters.splice(0).forEach((w) => w());
  }

  /** Waits until `done` holds (checked on every frame and at the end), or fails after `timeoutMs`. */
  async until(done: (s: SseStream) => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done(this)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; frames: ${JSON.stringify(this.frames)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => (clearTimeout(timer), resolve()));
      });
    }
  }

  /** The frames that carry data, whatever their event name (comments left out). */
  get messages(): SseFrame[] {
    return this.frames.filter((f) => f.data !== undefined);
  }

  /** The ticket status frames: data and no event name. */
  get dataFrames(): SseFrame[] {
    return this.frames.filter((f) => f.data !== undefined && f.event === undefined);
  }
}

/** One agent with no socket limit: each stream holds its own connection. */
export const manySockets = new Agent({ keepAlive: false, maxSockets: Infinity });

/**
 * Opens `url` as an event stream and resolves once its headers arrived; for an
 * answer other than 200, once its JSON body has (in `body`, the stream ended).
 * `agent: false` gives the stream a connection of its own, outside any agent.
 */
export function openSse(url: string, agent: Agent | false = manySockets): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    const startedAt = performance.now();
    const request = get(url, { agent, headers: { accept: 'text/event-stream' } }, (response) => {
      const headers = new Headers();
      for (const [name, value] of Object.entries(response.headers)) if (typeof value === 'string') headers.set(name, value);
      const stream = new SseStream(response.statusCode ?? 0, headers, () => request.destroy(), startedAt, performance.now());
      response.setEncoding('utf8');
      if (stream.status !== 200) {
        let text = '';
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => {
          stream.body = JSON.parse(text);
          stream.end();
          resolve(stream);
        });
        response.on('error', reject);
        return;
      }
      let buffer = '';
      response.on('data', (chunk: string) => {
        buffer += chunk;
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const frame: SseFrame = { at: performance.now() };
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) frame.comment = line.slice(1).trim();
            else if (line.startsWith('event: ')) frame.event = line.slice(7);
            else if (line.startsWith('data: ')) frame.data = JSON.parse(line.slice(6));
          }
          stream.push(frame);
        }
      });
      response.on('close', () => stream.end());
      response.on('error', () => stream.end());
      resolve(stream);
    });
    request.on('error', reject);
  });
}

/** Decodes a JWT's payload (no verification: the service verified it when it was used). */
export const jwtPayload = (token: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as Record<string, unknown>;

import { Agent, get } from 'node:http';

/**
 * A lean Server-Sent Events reader for suites that open thousands of
 * streams at once: every `data:` frame parsed with its arrival time, the
 * `event: failure` frame, and whether the server ended the stream.
 */
export interface SseFrame {
  /** performance.now() when the frame arrived */
  at: number;
  event?: string;
  data: any;
}

export interface OpenSse {
  status: number;
  frames: SseFrame[];
  ended: boolean;
  close(): void;
}

/** One agent with no socket limit: each stream holds its own connection. */
export const manySockets = new Agent({ keepAlive: false, maxSockets: Infinity });

export function openSse(url: string, agent: Agent = manySockets): Promise<OpenSse> {
  return new Promise((resolve, reject) => {
    const request = get(url, { agent, headers: { accept: 'text/event-stream' } }, (response) => {
      const sse: OpenSse = { status: response.statusCode ?? 0, frames: [], ended: false, close: () => request.destroy() };
      response.setEncoding('utf8');
      let buffer = '';
      response.on('data', (chunk: string) => {
        buffer += chunk;
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          let event: string | undefined;
          let data: string | undefined;
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data = line.slice(6);
          }
          if (data !== undefined) sse.frames.push({ at: performance.now(), event, data: JSON.parse(data) });
        }
      });
      response.on('close', () => (sse.ended = true));
      response.on('error', () => (sse.ended = true));
      resolve(sse);
    });
    request.on('error', reject);
  });
}

/** Decodes a JWT's payload (no verification: the service verified it when it was used). */
export const jwtPayload = (token: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as Record<string, unknown>;

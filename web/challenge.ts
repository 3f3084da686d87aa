/**
 * A join challenge solved in a Web Worker (pow-worker.ts), with a progress
 * line the person can see: an event with a challenge makes each new place
 * cost a little computing, which a person's browser pays once and a bot
 * taking thousands of places pays thousands of times.
 */
import * as api from './api/client.js';
import { ApiError } from './api/client.js';
import { $ } from './util.js';

export interface Proof {
  challenge: string;
  nonce: string;
}

/** Fetches the event's challenge and solves it; the line under the form tells how far it is. */
export async function solveChallenge(eventId: string): Promise<Proof> {
  const line = $('pow-progress');
  line.hidden = false;
  line.textContent = 'Checking this is a person, not a bot…';
  const { challenge, difficultyBits } = await api.getChallenge(eventId);
  const expected = 2 ** difficultyBits;
  const worker = new Worker(new URL('./pow-worker.js', import.meta.url), { type: 'module' });
  try {
    const nonce = await new Promise<string>((resolve, reject) => {
      worker.onerror = (e) => reject(new Error(`the challenge could not be solved: ${e.message}`));
      worker.onmessage = (e: MessageEvent<{ tries: number; nonce?: string }>) => {
        if (e.data.nonce !== undefined) return resolve(e.data.nonce);
        // The work is random: show the tries against the expected number, capped under 100 %.
        const share = Math.min(99, Math.floor((100 * e.data.tries) / expected));
        line.textContent = `Checking this is a person, not a bot: ${share} % (${e.data.tries.toLocaleString()} of about ${expected.toLocaleString()} tries)…`;
      };
      worker.postMessage({ challenge, difficultyBits });
    });
    line.textContent = 'Check done, joining the line…';
    return { challenge, nonce };
  } finally {
    worker.terminate();
  }
}

export function hideChallengeProgress(): void {
  $('pow-progress').hidden = true;
}

/**
 * Runs a join; when the event asks for a challenge (403 CHALLENGE_REQUIRED)
 * solves one and joins with it. A challenge that failed (it expired while
 * solving, or the event raised its difficulty) is fetched and solved once more.
 */
export async function joinSolvingChallenge<T>(eventId: string, join: (proof?: Proof) => Promise<T>): Promise<T> {
  let proof: Proof | undefined;
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await join(proof);
    } catch (err) {
      const again = err instanceof ApiError && (err.code === 'CHALLENGE_REQUIRED' || (err.code === 'CHALLENGE_FAILED' && attempt < 2));
      if (!again) throw err;
      proof = await solveChallenge(eventId);
    }
  }
}

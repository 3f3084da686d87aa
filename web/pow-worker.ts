/**
 * Solves a join challenge off the page's main thread (a module Web Worker),
 * so the page stays responsive. Receives { challenge, difficultyBits }, posts
 * { tries } now and then, and { nonce, tries } when solved.
 */
import { search } from './pow.js';

const BATCH = 4096;

interface WorkerScope {
  postMessage(message: unknown): void;
  onmessage: ((event: MessageEvent<{ challenge: string; difficultyBits: number }>) => void) | null;
}
const scope = self as unknown as WorkerScope;

scope.onmessage = (event) => {
  const { challenge, difficultyBits } = event.data;
  let tries = 0;
  let lastReport = performance.now();
  for (;;) {
    const nonce = search(challenge, difficultyBits, tries, BATCH);
    if (nonce !== null) {
      scope.postMessage({ nonce, tries: parseInt(nonce, 36) + 1 });
      return;
    }
    tries += BATCH;
    if (performance.now() - lastReport > 100) {
      lastReport = performance.now();
      scope.postMessage({ tries });
    }
  }
};

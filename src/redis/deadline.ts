/**
 * Rejects with "Command timed out" (answered as 503 UNAVAILABLE) when `work`
 * has not settled within `ms`, counted from the call.
 *
 * Why not rely on ioredis' commandTimeout alone: its timer starts when a
 * command is written, and with auto-pipelining a command is not written
 * while the previous batch for that node is still outstanding. Against a
 * frozen Redis every request then waited for the batch ahead of it to time
 * out first, up to twice REDIS_COMMAND_TIMEOUT_MS (CONTRACT §2 allows once).
 */
export function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Command timed out: no answer from Redis within ${ms} ms`)), ms);
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

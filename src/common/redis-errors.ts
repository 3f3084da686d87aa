/**
 * Thrown by our own code when Redis cannot serve a request in time although
 * no Redis call failed by itself: no pooled connection free before the
 * request's deadline, or a WATCH/MULTI transaction that kept losing its race
 * until then. Answered like any other unavailability: 503 with Retry-After.
 */
export class RedisUnavailableError extends Error {
  override readonly name = 'RedisUnavailableError';
}

/**
 * True for errors that mean "Redis cannot answer right now, retry shortly":
 * connection closed or refused, command timeout, no offline queue, and the
 * error replies of a Redis that is busy or changing shape (CONTRACT §2):
 * BUSY (a script or module runs too long), LOADING (loading its dataset), OOM
 * (over maxmemory with noeviction), READONLY (a replica, e.g. right after a
 * failover), TRYAGAIN and CLUSTERDOWN (cluster resharding or down), MASTERDOWN,
 * NOREPLICAS (min-replicas-to-write not met), MOVED/ASK. Those become 503 UNAVAILABLE; anything else is a bug (500).
 *
 * Error replies are matched on their leading code word, which Redis also
 * keeps when the error came from inside a script ("OOM command not allowed
 * ... script: ..."), so a script's own message that merely mentions a code
 * is not mistaken for one.
 */
const UNAVAILABLE = [
  /Connection is closed/i,
  /Command timed out/i,
  /Stream isn't writeable/i,
  /enableOfflineQueue/i,
  /ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH/,
  /max retries per request/i,
  /MaxRetriesPerRequest/i,
  /^(BUSY|LOADING|OOM|READONLY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|NOREPLICAS)\b/,
  // A slot moved (failover, resharding) and the node refused the command
  // without running it. ioredis follows MOVED for a lone command; one that
  // still reaches us (redirections exhausted, or a pipelined batch, which
  // ioredis retries only when every reply is the same redirection) means
  // "retry shortly", not a bug.
  /^(MOVED|ASK) \d+ /,
  /Failed to refresh slots cache/i,
  /None of startup nodes is available/i,
  /Cluster isn't ready/i,
  /Too many Cluster redirections/i,
];

export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const name = err.name ?? '';
  if (name === 'MaxRetriesPerRequestError' || name === 'ClusterAllFailedError' || err instanceof RedisUnavailableError) return true;
  return UNAVAILABLE.some((pattern) => pattern.test(err.message));
}

/** Seconds a client is told to wait before retrying a 503 (the Retry-After header). */
export const RETRY_AFTER_SECONDS = 1;

/**
 * True for errors that mean "Redis is not answering right now": connection
 * closed or refused, command timeout, no offline queue, cluster down or
 * moving. Those become 503 UNAVAILABLE; anything else is a bug (500).
 */
const UNAVAILABLE = [
  /Connection is closed/i,
  /Command timed out/i,
  /Stream isn't writeable/i,
  /enableOfflineQueue/i,
  /ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH/,
  /max retries per request/i,
  /MaxRetriesPerRequest/i,
  /CLUSTERDOWN|TRYAGAIN|LOADING|MASTERDOWN|READONLY/,
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
  if (name === 'MaxRetriesPerRequestError' || name === 'ClusterAllFailedError') return true;
  return UNAVAILABLE.some((pattern) => pattern.test(err.message));
}

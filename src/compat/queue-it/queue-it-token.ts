import { createHmac } from 'node:crypto';

/**
 * The `queueittoken` Queue-it's KnownUser connector accepts (its
 * QueueParameterHelper and UserInQueueService.validateToken, read in
 * @queue-it/connector-javascript 5.0.1): `~`-separated `key_value` pairs, the
 * hash last. The connector drops `~h_<hash>` from the token, computes hex
 * HMAC-SHA256 over the rest with the customer's secret, and then checks that
 * `e` is the event its integration config queues on and that `ts` (epoch
 * seconds) has not passed. `ce_false`: the connector must not extend its
 * cookie beyond its own cookieValidityMinute; `rt_queue`: the visitor came
 * through the queue (not a safety net or an idle queue).
 */
export interface QueueItTokenFields {
  eventId: string;
  /** the visitor's queue id (a UUID-shaped id, see queueIdFor) */
  queueId: string;
  /** when the token stops being accepted: the admitted session's end, epoch seconds */
  expiresAtS: number;
}

const hmacHex = (secretKey: string, text: string) => createHmac('sha256', secretKey).update(text, 'utf8').digest('hex');

export function formatQueueItToken(secretKey: string, t: QueueItTokenFields): string {
  const unsigned = `e_${t.eventId}~q_${t.queueId}~ts_${t.expiresAtS}~ce_false~rt_queue`;
  return `${unsigned}~h_${hmacHex(secretKey, unsigned)}`;
}

/**
 * The queue id a token carries for one admitted session: 128 bits of HMAC
 * over the event and the session, shown as a UUID (as Queue-it's are). It is
 * the same for every token of that session, names the visitor to the site's
 * logs without revealing the ticket (which reads the session's access token),
 * and cannot be turned back into either.
 */
export function queueIdFor(secretKey: string, eventId: string, sessionId: string, sessionEndMs: number): string {
  const hex = hmacHex(secretKey, `queuegate queue id\n${eventId}\n${sessionId}\n${sessionEndMs}`).slice(0, 32);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Longest target URL taken (a connector's target is the protected page's URL). */
export const MAX_TARGET_LENGTH = 4096;

/**
 * The target as a URL when its origin is exactly one of `origins` (which
 * are stored as URL origins, so this is a plain string comparison), else
 * null. A target with a user name or password is refused: it is how a link
 * hides its real host from a reader.
 */
export function allowedTarget(target: string, origins: readonly string[]): URL | null {
  if (target.length > MAX_TARGET_LENGTH) return null;
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return null;
  }
  if (url.username !== '' || url.password !== '') return null;
  return origins.includes(url.origin) ? url : null;
}

/**
 * The target with `queueittoken=<token>` added to its query (before any
 * fragment), as Queue-it's queue sends visitors back. A queueittoken the
 * target already carried (an old one) is replaced: the connector reads the
 * first.
 */
export function withQueueItToken(target: URL, token: string): string {
  const url = new URL(target.href);
  if (url.searchParams.has('queueittoken')) url.searchParams.delete('queueittoken');
  const fragment = url.hash;
  url.hash = '';
  const base = url.href.endsWith('?') ? url.href.slice(0, -1) : url.href;
  return `${base}${url.search ? '&' : '?'}queueittoken=${token}${fragment}`;
}

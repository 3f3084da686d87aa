import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { DomainError } from '../common/domain-error';
import { joinConfig } from '../config/configuration';
import { KeyBuilder } from '../redis/keys';
import { numberAt, ReplyCode } from '../redis/script-replies';
import { ScriptRegistry } from '../redis/script-registry';

export const JOIN_RATE_WINDOW_MS = 60_000;

/**
 * The client a request comes from: the socket peer, or with `hops` proxies in
 * front (TRUST_PROXY_HOPS), the hops-th address from the right of
 * X-Forwarded-For: the one the outermost trusted proxy saw. Addresses further
 * left are the client's own say and are never used. With fewer entries than
 * hops the leftmost is taken (what the proxies in front recorded).
 */
export function clientAddress(peer: string | undefined, forwardedFor: string | string[] | undefined, hops: number): string {
  const socket = peer ?? 'unknown';
  if (hops === 0 || forwardedFor === undefined) return socket;
  const chain = [forwardedFor]
    .flat()
    .join(',')
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a !== '');
  if (chain.length === 0) return socket;
  return chain[Math.max(0, chain.length - hops)];
}

/**
 * JOIN_RATE_PER_MINUTE: joins per client address per minute, across every
 * replica (a counter in Redis). It costs a join one more round trip, before
 * the join script: the counter is not an event key (another cluster slot), so
 * it cannot join that script. With the limit off (0) nothing is called.
 */
@Injectable()
export class JoinRateLimiter {
  constructor(
    @Inject(joinConfig.KEY) private readonly config: ConfigType<typeof joinConfig>,
    private readonly keys: KeyBuilder,
    private readonly scripts: ScriptRegistry,
  ) {}

  /**
   * Counts one join from the request's client address; rejects with
   * RATE_LIMITED (with Retry-After) over the limit. Nothing (no promise, no
   * Redis) while the limit is off, so a join then waits for nothing here.
   */
  take(peer: string | undefined, forwardedFor: string | string[] | undefined): Promise<void> | undefined {
    const limit = this.config.ratePerMinute;
    if (limit === 0) return undefined;
    return this.count(clientAddress(peer, forwardedFor, this.config.trustProxyHops), limit);
  }

  private async count(address: string, limit: number): Promise<void> {
    const r = await this.scripts.run('joinRate', [this.keys.joinRate(address)], [limit, JOIN_RATE_WINDOW_MS]);
    if (r[0] === ReplyCode.RATE_LIMITED) {
      const retryAfter = Math.max(1, Math.ceil(numberAt('joinRate', r, 1) / 1000));
      throw new DomainError('RATE_LIMITED', `more than ${limit} joins a minute from this address; retry in ${retryAfter} s`, {}, retryAfter);
    }
  }
}

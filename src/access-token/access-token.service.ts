import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { DomainError } from '../common/domain-error';

/** What an access token proves: this user was admitted to this event, session `sid`, until `exp`. */
export interface AccessClaims {
  eventId: string;
  userId: string;
  /** the session's id: the ticket's sequence number */
  sessionId: string;
  /** session end, ms since the epoch (Redis clock) */
  expiresAtMs: number;
}

/** Verified tokens remembered per replica (about 400 bytes each). */
const VERIFIED_CACHE_SIZE = 20_000;

interface JwtPayload {
  sub: string;
  eid: string;
  sid: string;
  exp: number;
}

/** HS256 JWTs signed with ACCESS_TOKEN_SECRET; the session is also checked in Redis by every seat script. */
@Injectable()
export class AccessTokenService {
  constructor(private readonly jwt: JwtService) {}

  issue(claims: AccessClaims): string {
    const payload: JwtPayload = {
      sub: claims.userId,
      eid: claims.eventId,
      sid: claims.sessionId,
      exp: Math.floor(claims.expiresAtMs / 1000),
    };
    return this.jwt.sign(payload);
  }

  /** An admitted place's access token and its expiry, as a join or status answer carries them. */
  grant(claims: AccessClaims): { accessToken: string; accessExpiresAt: string } {
    return { accessToken: this.issue(claims), accessExpiresAt: new Date(claims.expiresAtMs).toISOString() };
  }

  /**
   * Verifies signature and expiry; 401 UNAUTHORIZED for anything else.
   * A token is immutable, so a verified one is remembered (bounded, oldest
   * forgotten first) and only its expiry is checked again: a buyer sends the
   * same token with every hold and confirm, and jsonwebtoken's verify was the
   * largest cost of the hold route after the Lua script.
   */
  verify(token: string): AccessClaims {
    const known = this.verified.get(token);
    if (known && known.expiresAtMs > Date.now()) return known;
    try {
      const p = this.jwt.verify<JwtPayload>(token, { algorithms: ['HS256'] });
      if (typeof p.sub !== 'string' || typeof p.eid !== 'string' || typeof p.sid !== 'string') throw new Error('claims');
      const claims = { userId: p.sub, eventId: p.eid, sessionId: p.sid, expiresAtMs: p.exp * 1000 };
      if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.delete(this.verified.keys().next().value as string);
      this.verified.set(token, claims);
      return claims;
    } catch {
      this.verified.delete(token);
      throw new DomainError('UNAUTHORIZED', 'The access token is missing, invalid or expired.');
    }
  }

  private readonly verified = new Map<string, AccessClaims>();
}

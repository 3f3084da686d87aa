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

  /** Verifies signature and expiry; 401 UNAUTHORIZED for anything else. */
  verify(token: string): AccessClaims {
    try {
      const p = this.jwt.verify<JwtPayload>(token, { algorithms: ['HS256'] });
      if (typeof p.sub !== 'string' || typeof p.eid !== 'string' || typeof p.sid !== 'string') throw new Error('claims');
      return { userId: p.sub, eventId: p.eid, sessionId: p.sid, expiresAtMs: p.exp * 1000 };
    } catch {
      throw new DomainError('UNAUTHORIZED', 'The access token is missing, invalid or expired.');
    }
  }
}

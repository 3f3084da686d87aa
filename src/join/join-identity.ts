import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { JwtService } from '@nestjs/jwt';
import { createPublicKey, createSecretKey, KeyObject } from 'node:crypto';
import { DomainError } from '../common/domain-error';
import { ID_PATTERN } from '../common/identifiers';
import { joinConfig } from '../config/configuration';

/**
 * Who is joining (docs/api.md). `anonymous`: whoever the body
 * says (v1). `jwt`: the `sub` of an identity token the ticketing platform
 * signed, checked here; the body must not name a user then.
 *
 * The accepted algorithm is fixed by the configured key (HS256 for a secret,
 * RS256 or ES256 from the public key's type), so a token cannot pick its own
 * (`none`, or HS256 "signed" with the public key as the secret).
 */
@Injectable()
export class JoinIdentity {
  private readonly jwt?: JwtService;

  constructor(@Inject(joinConfig.KEY) private readonly config: ConfigType<typeof joinConfig>) {
    const c = config.jwt;
    if (c) {
      // A KeyObject, not a string: see AccessTokenModule (jsonwebtoken parses a string key on every call).
      const key: KeyObject = c.algorithm === 'HS256' ? createSecretKey(Buffer.from(c.key)) : createPublicKey(c.key);
      this.jwt = new JwtService({
        secret: key,
        publicKey: key,
        verifyOptions: {
          algorithms: [c.algorithm],
          issuer: c.issuer,
          audience: c.audience,
          // exp is required, not merely checked when present: a token that never expires is refused.
          // (nbf, when present, is checked by jsonwebtoken.)
          clockTolerance: 5,
        },
      });
    }
  }

  get mode(): 'anonymous' | 'jwt' {
    return this.config.identity;
  }

  /** The user a join is for, from the body (anonymous) or the identity token (jwt); throws 400/401. */
  userFor(bodyUserId: string | undefined, authorization: string | undefined): string {
    if (!this.jwt) {
      if (bodyUserId === undefined) throw new DomainError('VALIDATION', 'userId is required');
      return bodyUserId;
    }
    if (bodyUserId !== undefined) {
      throw new DomainError('VALIDATION', 'userId must not be sent: the user is the identity token\'s sub (JOIN_IDENTITY=jwt)');
    }
    const token = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(authorization ?? '')?.[1];
    if (!token) throw unauthorized('an identity token is required: Authorization: Bearer <token>');
    let claims: { sub?: unknown; exp?: unknown };
    try {
      claims = this.jwt.verify(token);
    } catch (err) {
      throw unauthorized(`the identity token is not valid: ${(err as Error).message}`);
    }
    if (typeof claims.exp !== 'number') throw unauthorized('the identity token has no exp');
    if (typeof claims.sub !== 'string' || !ID_PATTERN.test(claims.sub)) {
      throw unauthorized(`the identity token's sub must be an identifier matching ${ID_PATTERN.source}`);
    }
    return claims.sub;
  }
}

const unauthorized = (message: string) => new DomainError('UNAUTHORIZED', message);

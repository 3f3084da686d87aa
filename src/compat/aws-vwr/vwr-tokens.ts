import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { calculateJwkThumbprint, exportJWK, JWK, SignJWT } from 'jose';
import { createPublicKey, KeyObject } from 'node:crypto';
import { awsVwrConfig } from '../../config/configuration';

/** What AWS's generate_token hands out: three RS256 JWTs of one session. */
export interface VwrTokenSet {
  access_token: string;
  refresh_token: string;
  id_token: string;
  token_type: 'Bearer';
  /** seconds until exp */
  expires_in: number;
}

/** The claims every token of a place carries (AWS's own, CONTRACT "AWS Virtual Waiting Room compatibility"). */
export interface VwrClaims {
  /** the event id */
  aud: string;
  /** the request id */
  sub: string;
  queue_position: number;
  iss: string;
  /** seconds */
  iat: number;
  nbf: number;
  exp: number;
}

/**
 * Signs the AWS-compatible tokens with AWS_VWR_SIGNING_KEY (RS256, header
 * kid = the public key's RFC 7638 thumbprint) and publishes its public half,
 * so AWS's token authorizers verify them unchanged. Nothing is stored: the
 * claims follow from the place and its session, so a repeat call mints the
 * same claims.
 */
@Injectable()
export class VwrTokens implements OnModuleInit {
  private key?: KeyObject;
  private jwk?: JWK & { kid: string; alg: 'RS256'; use: 'sig' };

  constructor(@Inject(awsVwrConfig.KEY) private readonly config: ConfigType<typeof awsVwrConfig>) {}

  async onModuleInit(): Promise<void> {
    if (!this.config.signingKey) return;
    this.key = this.config.signingKey;
    const { kty, n, e } = await exportJWK(createPublicKey(this.key));
    const kid = await calculateJwkThumbprint({ kty, n, e }, 'sha256');
    this.jwk = { kty, kid, alg: 'RS256', use: 'sig', n, e };
  }

  /** The public key as one bare JWK (GET /public_key). */
  publicJwk(): JWK {
    if (!this.jwk) throw new Error('AWS VWR compatibility is off: no signing key');
    return this.jwk;
  }

  async issue(claims: VwrClaims, nowSeconds: number): Promise<VwrTokenSet> {
    const sign = (use: 'access' | 'refresh' | 'id') =>
      new SignJWT({ ...claims, token_use: use })
        .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: this.publicJwk().kid as string })
        .sign(this.key as KeyObject);
    const [access, refresh, id] = await Promise.all([sign('access'), sign('refresh'), sign('id')]);
    return { access_token: access, refresh_token: refresh, id_token: id, token_type: 'Bearer', expires_in: Math.max(0, claims.exp - nowSeconds) };
  }
}

import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { DomainError } from '../common/domain-error';
import { AccessClaims, AccessTokenService } from './access-token.service';

export type AccessRequest = FastifyRequest & { access?: AccessClaims };

/**
 * Seat routes: a valid access token is required (401 otherwise), and it must
 * be for the event in the path (403 FORBIDDEN otherwise). The holder of a
 * hold is always taken from here, never from a request body.
 */
@Injectable()
export class AccessTokenGuard implements CanActivate {
  constructor(private readonly tokens: AccessTokenService) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<AccessRequest>();
    const header = request.headers.authorization;
    const token = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7) : '';
    if (!token) throw new DomainError('UNAUTHORIZED', 'An access token from admission is required.');
    const claims = this.tokens.verify(token);
    const eventId = (request.params as { eventId?: string }).eventId;
    if (claims.eventId !== eventId) {
      throw new DomainError('FORBIDDEN', 'This access token is for another event.');
    }
    request.access = claims;
    return true;
  }
}

import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { authConfig } from '../config/configuration';
import { DomainError } from './domain-error';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** True when `header` is `Bearer <adminToken>`, compared in constant time (both sides hashed to equal length). */
export function isAdminBearer(header: unknown, adminToken: string): boolean {
  const token = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7) : '';
  return token !== '' && timingSafeEqual(digest(token), digest(adminToken));
}

/** Bearer ADMIN_TOKEN, compared in constant time (both sides hashed to equal length). */
@Injectable()
export class AdminGuard implements CanActivate {
  constructor(@Inject(authConfig.KEY) private readonly config: ConfigType<typeof authConfig>) {}

  canActivate(context: ExecutionContext): boolean {
    const header = context.switchToHttp().getRequest<FastifyRequest>().headers.authorization;
    if (!isAdminBearer(header, this.config.adminToken)) {
      throw new DomainError('UNAUTHORIZED', 'An admin bearer token is required.');
    }
    return true;
  }
}

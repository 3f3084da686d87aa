import { ApiProperty } from '@nestjs/swagger';
import { Matches } from 'class-validator';
import { ID_MESSAGE, ID_PATTERN } from '../../common/identifiers';

export class JoinQueueDto {
  @ApiProperty({ pattern: ID_PATTERN.source, example: 'fan-42' })
  @Matches(ID_PATTERN, { message: `userId ${ID_MESSAGE}` })
  userId!: string;
}

export class JoinedDto {
  @ApiProperty({ description: 'opaque, unguessable; the only secret a waiting user holds' }) ticket!: string;
  @ApiProperty({ description: '1-based; 1 is next to be admitted' }) position!: number;
  @ApiProperty() etaSeconds!: number;
  @ApiProperty({ enum: ['streams', 'zset'] }) queue!: string;
}

export class TicketStatusDto {
  @ApiProperty({ enum: ['waiting', 'admitted'] }) status!: 'waiting' | 'admitted';
  @ApiProperty({ required: false }) position?: number;
  @ApiProperty({ required: false }) etaSeconds?: number;
  @ApiProperty({ required: false, description: 'Bearer token for the seat endpoints' }) accessToken?: string;
  @ApiProperty({ required: false, description: 'ISO time the session ends' }) accessExpiresAt?: string;
}

/**
 * The hot routes validate and serialise with Fastify's compiled JSON schemas
 * instead of class-validator and JSON.stringify (see bench/README.md: per-request
 * object churn is where a Nest app loses to plain Fastify). The DTO classes
 * above stay as the OpenAPI description; these schemas say the same.
 */
export type JoinQueueBody = { userId: string };

export const JOIN_SCHEMA = {
  body: {
    type: 'object',
    required: ['userId'],
    additionalProperties: false,
    properties: { userId: { type: 'string', pattern: ID_PATTERN.source } },
  },
  response: {
    202: {
      type: 'object',
      properties: { ticket: { type: 'string' }, position: { type: 'integer' }, etaSeconds: { type: 'integer' }, queue: { type: 'string' } },
    },
  },
} as const;

export const TICKET_STATUS_SCHEMA = {
  response: {
    200: {
      type: 'object',
      properties: {
        status: { type: 'string' },
        position: { type: 'integer' },
        etaSeconds: { type: 'integer' },
        accessToken: { type: 'string' },
        accessExpiresAt: { type: 'string' },
      },
    },
  },
} as const;

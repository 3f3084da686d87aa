import { ApiProperty } from '@nestjs/swagger';
import { Static, Type as Schema } from '@sinclair/typebox';
import { ID_PATTERN } from '../../common/identifiers';

export class JoinedDto {
  @ApiProperty({ description: 'opaque, unguessable; the only secret a waiting user holds' }) ticket!: string;
  @ApiProperty({
    enum: ['waiting', 'prequeue', 'admitted'],
    description:
      "prequeue: joined before salesStartAt, no position until the shuffle; admitted: queueMethod passthrough let the user in at once, or a repeated join (JOIN_IDENTITY=jwt, 200) found the person admitted",
  })
  status!: 'waiting' | 'prequeue' | 'admitted';
  @ApiProperty({ required: false, description: '1-based; 1 is next to be admitted. None in the pre-queue, with queueMethod random, or once admitted' }) position?: number;
  @ApiProperty({ required: false }) etaSeconds?: number;
  @ApiProperty({ required: false, format: 'date-time', description: 'prequeue: when the pre-queue is shuffled and admission begins' }) salesStartAt?: string;
  @ApiProperty({ required: false, description: 'admitted: Bearer token for the seat endpoints' }) accessToken?: string;
  @ApiProperty({ required: false, description: 'admitted: ISO time the session ends' }) accessExpiresAt?: string;
  @ApiProperty({ enum: ['streams', 'zset'] }) queue!: string;
}

export class TicketStatusDto {
  @ApiProperty({
    enum: ['prequeue', 'waiting', 'admitted', 'soldOut', 'closed'],
    description: 'prequeue: before salesStartAt (no position); soldOut: no seat is left and none is held, nobody more is admitted; closed: endsAt passed or queueMethod reject (a waiting user keeps the place)',
  })
  status!: 'prequeue' | 'waiting' | 'admitted' | 'soldOut' | 'closed';
  @ApiProperty({ required: false, format: 'date-time', description: 'prequeue: when the pre-queue is shuffled and admission begins' }) salesStartAt?: string;
  @ApiProperty({ required: false }) position?: number;
  @ApiProperty({ required: false }) etaSeconds?: number;
  @ApiProperty({ required: false, description: 'Bearer token for the seat endpoints' }) accessToken?: string;
  @ApiProperty({ required: false, description: 'ISO time the session ends' }) accessExpiresAt?: string;
  @ApiProperty({ required: false, description: 'a replacement ticket: use it from now on instead of the one sent' }) ticket?: string;
}

export class QueueHeadDto {
  @ApiProperty({ enum: ['scheduled', 'prequeue', 'open', 'paused', 'soldOut', 'closed'] }) status!: string;
  @ApiProperty({ description: 'users waiting now' }) waiting!: number;
  @ApiProperty({ description: 'the last arrival sequence admitted: a ticket at or below it had its turn' }) admittedThrough!: number;
  @ApiProperty({ type: Number, nullable: true, description: 'admissions per second over the last minute; null before the first admission' })
  observedRatePerSecond!: number | null;
  @ApiProperty({ enum: ['auto', 'manual'], description: 'manual: people are let in by the organiser, so no ETA can be told' })
  admissionMode!: 'auto' | 'manual';
  @ApiProperty({ description: 'when this replica last saw the head change (Redis time)' }) updatedAt!: string;
}

/**
 * The join body, defined once: Fastify validates requests with this JSON
 * schema (compiled, on the hot path; class-validator cost 50-90 µs a body
 * against under 2 µs, docs/decisions.md), JoinQueueBody is its type, the
 * OpenAPI document shows it as the component JoinQueueDto, and the bench's
 * ceiling server validates with it too. userId is required or refused by the
 * identity mode (checked in the service).
 */
export const JoinQueueBody = Schema.Object(
  {
    userId: Schema.Optional(
      Schema.String({
        pattern: ID_PATTERN.source,
        examples: ['fan-42'],
        description: "required with JOIN_IDENTITY=anonymous; refused (400) with JOIN_IDENTITY=jwt, where the user is the identity token's sub",
      }),
    ),
    challenge: Schema.Optional(
      Schema.String({ maxLength: 128, description: 'from GET /v1/events/{eventId}/challenge, when the event asks for one (with nonce)' }),
    ),
    nonce: Schema.Optional(Schema.String({ maxLength: 64, description: 'SHA-256(challenge + nonce) starts with difficultyBits zero bits (with challenge)' })),
  },
  { additionalProperties: false, dependencies: { challenge: ['nonce'], nonce: ['challenge'] } },
);
export type JoinQueueBody = Static<typeof JoinQueueBody>;

/**
 * The hot routes also serialise with Fastify's compiled JSON schemas instead
 * of JSON.stringify (see bench/README.md: per-request object churn is where a
 * Nest app loses to plain Fastify); the response DTO classes above describe
 * the same fields for the OpenAPI document.
 */
const JOINED_SCHEMA = {
  type: 'object',
  properties: {
    ticket: { type: 'string' },
    status: { type: 'string' },
    position: { type: 'integer' },
    etaSeconds: { type: 'integer' },
    salesStartAt: { type: 'string' },
    accessToken: { type: 'string' },
    accessExpiresAt: { type: 'string' },
    queue: { type: 'string' },
  },
} as const;

export const JOIN_SCHEMA = {
  body: JoinQueueBody,
  response: { 200: JOINED_SCHEMA, 202: JOINED_SCHEMA },
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
        salesStartAt: { type: 'string' },
        ticket: { type: 'string' },
      },
    },
  },
} as const;

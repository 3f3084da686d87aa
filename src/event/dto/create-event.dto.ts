import { ApiProperty, ApiPropertyOptional, ApiPropertyOptions } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsInt,
  IsISO8601,
  IsOptional,
  Matches,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import { ID_MESSAGE, ID_PATTERN } from '../../common/identifiers';
import { UniqueItems } from '../../common/unique-items';
import { IsExactOrigin } from '../../common/web-origin';
import { LayoutDto } from './layout.dto';
import { MAX_DIFFICULTY_BITS } from '../../join/challenge';
import { ADMISSION_MODES, AdmissionMode, QUEUE_METHODS, QueueMethod } from '../event-status';

/** An ISO 8601 date and time with its offset ('Z' or '+02:00'): without one it would mean the server's local time. */
export const INSTANT = /T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;
export const INSTANT_MESSAGE = 'must be an ISO 8601 date and time with an offset, e.g. 2026-06-01T20:00:00Z';

export class AdmissionDto {
  @ApiPropertyOptional({ minimum: 1, maximum: 100000, default: 50, description: 'users admitted per second, across all replicas' })
  @IsOptional() @IsInt() @Min(1) @Max(100000)
  ratePerSecond?: number;

  @ApiPropertyOptional({ minimum: 1, maximum: 1000000, default: 1000, description: 'most admitted sessions at once' })
  @IsOptional() @IsInt() @Min(1) @Max(1000000)
  maxActive?: number;

  @ApiPropertyOptional({ minimum: 1, maximum: 7200, default: 600, description: 'how long an admitted session lasts' })
  @IsOptional() @IsInt() @Min(1) @Max(7200)
  sessionTtlSeconds?: number;

  @ApiPropertyOptional({
    enum: ADMISSION_MODES,
    default: 'auto',
    description: 'auto: admitted by ratePerSecond and maxActive; manual: nobody is admitted but through POST /v1/events/{eventId}/admissions',
  })
  @IsOptional() @IsIn(ADMISSION_MODES)
  mode?: AdmissionMode;
}

export class ChallengeSettingsDto {
  @ApiProperty({
    minimum: 0,
    maximum: MAX_DIFFICULTY_BITS,
    description: 'proof-of-work difficulty of a join in bits (0: no challenge); each bit doubles the work: 20 bits is about a million SHA-256s',
  })
  @IsInt() @Min(0) @Max(MAX_DIFFICULTY_BITS)
  difficultyBits!: number;
}

/** Most origins one event may send people back to (the Queue-it flow). */
export const MAX_REDIRECT_ORIGINS = 20;

export const REDIRECT_ORIGINS_DOC: ApiPropertyOptions & { description: string } = {
  type: [String],
  maxItems: MAX_REDIRECT_ORIGINS,
  example: ['https://shop.example.com'],
  description:
    'Queue-it connector flow (docs/queue-it.md): the exact origins (https://host[:port], or http://localhost[:port]) the waiting page may send an admitted visitor back to with a queueittoken; any other target is refused. The eventId must then contain no "_" (the token\'s separator).',
};

export class CreateEventDto {
  @ApiProperty({ pattern: ID_PATTERN.source, example: 'concert-2026' })
  @Matches(ID_PATTERN, { message: `eventId ${ID_MESSAGE}` })
  eventId!: string;

  @ApiPropertyOptional({ type: [String], description: 'seat ids (1..100000, unique); or give capacity or layout' })
  @IsOptional() @IsArray() @ArrayMinSize(1) @ArrayMaxSize(100000) @UniqueItems()
  @Matches(ID_PATTERN, { each: true, message: `each seat id ${ID_MESSAGE}` })
  seats?: string[];

  @ApiPropertyOptional({ minimum: 1, maximum: 100000, description: 'number of seats, named GA-1..GA-n; or give seats or layout' })
  @IsOptional() @IsInt() @Min(1) @Max(100000)
  capacity?: number;

  @ApiPropertyOptional({ type: LayoutDto, description: 'a venue: price levels and sections of rows (up to 100000 seats); or give seats or capacity' })
  @IsOptional() @ValidateNested() @Type(() => LayoutDto)
  layout?: LayoutDto;

  @ApiPropertyOptional({ minimum: 1, maximum: 3600, default: 300 })
  @IsOptional() @IsInt() @Min(1) @Max(3600)
  holdTtlSeconds?: number;

  @ApiPropertyOptional({ minimum: 1, maximum: 20, default: 4 })
  @IsOptional() @IsInt() @Min(1) @Max(20)
  maxSeatsPerUser?: number;

  @ApiPropertyOptional({ type: AdmissionDto })
  @IsOptional() @ValidateNested() @Type(() => AdmissionDto)
  admission?: AdmissionDto;

  @ApiPropertyOptional({ type: ChallengeSettingsDto, description: 'a proof-of-work challenge for every new place in the queue; default none' })
  @IsOptional() @ValidateNested() @Type(() => ChallengeSettingsDto)
  challenge?: ChallengeSettingsDto;
  @ApiPropertyOptional({ format: 'date-time', example: '2026-06-01T20:00:00Z', description: 'from then on the event is closed: joins get 410 QUEUE_CLOSED, nobody more is admitted' })
  @IsOptional() @IsISO8601({ strict: true }, { message: `endsAt ${INSTANT_MESSAGE}` }) @Matches(INSTANT, { message: `endsAt ${INSTANT_MESSAGE}` })
  endsAt?: string;
  @ApiPropertyOptional({ format: 'date-time', example: '2026-06-01T19:00:00Z', description: 'joins before it get 403 QUEUE_NOT_OPEN (status scheduled)' })
  @IsOptional() @IsISO8601({ strict: true }, { message: `queueOpensAt ${INSTANT_MESSAGE}` }) @Matches(INSTANT, { message: `queueOpensAt ${INSTANT_MESSAGE}` })
  queueOpensAt?: string;

  @ApiPropertyOptional({
    format: 'date-time',
    example: '2026-06-01T20:00:00Z',
    description: 'joins before it wait in the pre-queue (status prequeue, no position); at salesStartAt the pre-queue is shuffled (shuffle in the event view) and admission begins',
  })
  @IsOptional() @IsISO8601({ strict: true }, { message: `salesStartAt ${INSTANT_MESSAGE}` }) @Matches(INSTANT, { message: `salesStartAt ${INSTANT_MESSAGE}` })
  salesStartAt?: string;

  @ApiPropertyOptional({ enum: QUEUE_METHODS, default: 'fifo', description: 'how waiting users are admitted; changeable at any time with PATCH' })
  @IsOptional() @IsIn(QUEUE_METHODS)
  queueMethod?: QueueMethod;

  @ApiPropertyOptional({ enum: ['streams', 'zset'], description: 'queue backend; default from the streamsQueue flag' })
  @IsOptional() @IsIn(['streams', 'zset'])
  queue?: 'streams' | 'zset';

  @ApiPropertyOptional({ ...REDIRECT_ORIGINS_DOC, description: `${REDIRECT_ORIGINS_DOC.description} Default: none.` })
  @IsOptional() @IsArray() @ArrayMaxSize(MAX_REDIRECT_ORIGINS) @UniqueItems() @IsExactOrigin()
  redirectOrigins?: string[];
}

export class DeleteEventQuery {
  @ApiPropertyOptional({ enum: ['true', 'false'], description: 'true: delete even while sessions or holds are live' })
  @IsOptional() @IsIn(['true', 'false'])
  force?: 'true' | 'false';
}

import { ApiProperty } from '@nestjs/swagger';
import { IsString, Matches, MaxLength } from 'class-validator';
import { ID_MESSAGE, ID_PATTERN } from '../../../common/identifiers';
import { MAX_TARGET_LENGTH } from '../queue-it-token';

export class QueueItTokenDto {
  @ApiProperty({ pattern: ID_PATTERN.source, example: 'concert-2026' })
  @Matches(ID_PATTERN, { message: `eventId ${ID_MESSAGE}` })
  eventId!: string;

  @ApiProperty({ maxLength: 128, description: 'the admitted ticket (from the join)' })
  @IsString() @MaxLength(128)
  ticket!: string;

  @ApiProperty({
    maxLength: MAX_TARGET_LENGTH,
    example: 'https://shop.example.com/checkout?basket=42',
    description: "the connector's target (the t of its redirect); its origin must be one of the event's redirectOrigins",
  })
  @IsString() @MaxLength(MAX_TARGET_LENGTH)
  target!: string;
}

export class QueueItRedirectDto {
  @ApiProperty({
    example: 'https://shop.example.com/checkout?basket=42&queueittoken=e_concert-2026~q_6f1c…~ts_1780000000~ce_false~rt_queue~h_9a0b…',
    description: 'the target with queueittoken appended: where the page sends the visitor',
  })
  redirectUrl!: string;

  @ApiProperty({
    example: 'e_concert-2026~q_6f1c2a9e-0b4d-7e21-9c3a-55d0e1f2a3b4~ts_1780000000~ce_false~rt_queue~h_9a0b…',
    description: 'e_<eventId>~q_<queue id>~ts_<session end, epoch s>~ce_false~rt_queue~h_<hex HMAC-SHA256 of everything before "~h_", keyed with QUEUE_IT_SECRET_KEY>',
  })
  queueittoken!: string;

  @ApiProperty({ format: 'date-time', description: 'the session end: the connector refuses the token after it' })
  expiresAt!: string;
}

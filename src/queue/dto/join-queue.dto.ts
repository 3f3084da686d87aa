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
